// ECS pins: every image a service deploys (all live deployments, so a rollout's old and new revision both count) and
// every image a running or starting task actually runs (the digest ECS resolved, which outlives a moved tag).
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  paginateListClusters,
  paginateListServices,
  paginateListTasks,
  type ECSClient,
  type Failure,
  type Service,
} from '@aws-sdk/client-ecs';
import type { PinSource } from '../app/ports.js';
import type { RegistryAddress } from '../domain/image-uri.js';
import type { OrgReference } from '../domain/org-pins.js';
import { chunks } from './chunks.js';
import { isMissingTaskDefinition, previousRevisions } from './ecs-rollback.js';
import { PinCollector } from './pin-collector.js';

const DESCRIBE_SERVICES_BATCH = 10;
const DESCRIBE_TASKS_BATCH = 100;
const LIST_PAGE_SIZE = 100;
// INACTIVE deployments have no tasks left; everything else may still be running or about to run.
const LIVE_DEPLOYMENT = new Set(['PRIMARY', 'ACTIVE']);

export function createEcsPinSource(client: ECSClient, registry: RegistryAddress, options: { rollbackDepth?: number; onForeignReference?: (reference: OrgReference) => void } = {}): PinSource {
  const rollbackDepth = options.rollbackDepth ?? 1;
  return {
    name: 'ecs',
    async discover() {
      const pins = new PinCollector(registry, options.onForeignReference);
      const taskDefinitionImages = cachedTaskDefinitionImages(client);

      for await (const page of paginateListClusters({ client, pageSize: LIST_PAGE_SIZE }, {})) {
        for (const clusterArn of page.clusterArns ?? []) {
          const cluster = nameFromArn(clusterArn);

          const serviceArns: string[] = [];
          for await (const services of paginateListServices({ client, pageSize: LIST_PAGE_SIZE }, { cluster: clusterArn })) {
            serviceArns.push(...(services.serviceArns ?? []));
          }
          for (const chunk of chunks(serviceArns, DESCRIBE_SERVICES_BATCH)) {
            const described = await client.send(new DescribeServicesCommand({ cluster: clusterArn, services: chunk }));
            throwOnFailures('DescribeServices', cluster, described.failures);
            for (const service of described.services ?? []) {
              const source = `ecs:${cluster}/${service.serviceName ?? nameFromArn(service.serviceArn ?? 'unknown')}`;
              for (const taskDefinition of liveTaskDefinitions(service)) {
                for (const image of await taskDefinitionImages(taskDefinition)) pins.add(image, source);
              }
              // Rollback depth: the revisions a rollback of this service would start again.
              for (const { arn, back } of service.taskDefinition ? previousRevisions(service.taskDefinition, rollbackDepth) : []) {
                let images: string[];
                try {
                  images = await taskDefinitionImages(arn);
                } catch (error) {
                  if (isMissingTaskDefinition(error)) continue;
                  throw error;
                }
                for (const image of images) pins.add(image, `${source} (rollback target, ${back} revision${back === 1 ? '' : 's'} back)`);
              }
            }
          }

          for (const desiredStatus of ['RUNNING', 'PENDING'] as const) {
            const taskArns: string[] = [];
            for await (const tasks of paginateListTasks({ client, pageSize: LIST_PAGE_SIZE }, { cluster: clusterArn, desiredStatus })) {
              taskArns.push(...(tasks.taskArns ?? []));
            }
            for (const chunk of chunks(taskArns, DESCRIBE_TASKS_BATCH)) {
              const described = await client.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: chunk }));
              throwOnFailures('DescribeTasks', cluster, described.failures);
              for (const task of described.tasks ?? []) {
                const source = `ecs:${cluster}/${task.group ?? nameFromArn(task.taskArn ?? 'task')}`;
                if (task.taskDefinitionArn) {
                  for (const image of await taskDefinitionImages(task.taskDefinitionArn)) pins.add(image, source);
                }
                for (const container of task.containers ?? []) {
                  if (container.image) pins.add(container.image, source, container.imageDigest);
                }
              }
            }
          }
        }
      }
      return pins.references();
    },
  };
}

function liveTaskDefinitions(service: Service): Set<string> {
  const arns = new Set<string>();
  if (service.taskDefinition) arns.add(service.taskDefinition);
  for (const deployment of service.deployments ?? []) {
    if (deployment.taskDefinition && LIVE_DEPLOYMENT.has(deployment.status ?? '')) arns.add(deployment.taskDefinition);
  }
  // CODE_DEPLOY / EXTERNAL controllers keep their revisions in task sets.
  for (const taskSet of service.taskSets ?? []) if (taskSet.taskDefinition) arns.add(taskSet.taskDefinition);
  return arns;
}

/** Task definitions are immutable: one DescribeTaskDefinition per ARN per discovery. */
function cachedTaskDefinitionImages(client: ECSClient): (arn: string) => Promise<string[]> {
  const cache = new Map<string, Promise<string[]>>();
  return (arn) => {
    let images = cache.get(arn);
    if (!images) {
      images = client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })).then((response) => {
        const definitions = response.taskDefinition?.containerDefinitions;
        if (!definitions) throw new Error(`DescribeTaskDefinition ${arn} returned no containerDefinitions`);
        return definitions.flatMap((definition) => (definition.image ? [definition.image] : []));
      });
      cache.set(arn, images);
    }
    return images;
  };
}

// A service or task that vanished between List and Describe runs nothing; any other failure leaves us not knowing.
function throwOnFailures(operation: string, cluster: string, failures: Failure[] | undefined) {
  const real = (failures ?? []).filter((failure) => failure.reason !== 'MISSING');
  if (real.length > 0) {
    throw new Error(`${operation} in cluster ${cluster} failed for ${real.map((f) => `${f.arn ?? '?'} (${f.reason ?? 'no reason'})`).join(', ')}`);
  }
}

function nameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}
