import { ECSClient } from '@aws-sdk/client-ecs';
import { describe, expect, test } from 'vitest';
import { createEcsPinSource } from '../../lambda/adapters/pins-ecs.js';
import type { PinReference } from '../../lambda/domain/types.js';
import { byOperation, digestOf, fakeTransport, ok, type Responder, TEST_CREDENTIALS } from './fake-aws.js';

const REGISTRY = { accountId: '111122223333', region: 'eu-west-1' };
const HOST = '111122223333.dkr.ecr.eu-west-1.amazonaws.com';
const FOREIGN = '999988887777.dkr.ecr.eu-west-1.amazonaws.com';
const CLUSTER_ARN = (name: string) => `arn:aws:ecs:eu-west-1:111122223333:cluster/${name}`;
const TASK_DEFINITION_ARN = (family: string, revision: number) => `arn:aws:ecs:eu-west-1:111122223333:task-definition/${family}:${revision}`;

function ecsSourceWith(respond: Responder) {
  const transport = fakeTransport(respond);
  const client = new ECSClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
  return { source: createEcsPinSource(client, REGISTRY), transport };
}

function sorted(references: PinReference[]): PinReference[] {
  const key = (r: PinReference) => `${r.source} ${r.repository} ${r.tag ?? ''} ${r.digest ?? ''}`;
  return [...references].sort((a, b) => key(a).localeCompare(key(b)));
}

describe('ECS pin source', () => {
  test('collects services (every live deployment of a rollout) and running and pending tasks of every cluster', async () => {
    // Prepare
    const webOld = digestOf('web-1');
    const webRunning = digestOf('web-2-running');
    const api = digestOf('api-1.4');
    const taskDefinitions: Record<string, string[]> = {
      [TASK_DEFINITION_ARN('web', 2)]: [`${HOST}/team/web:2.0`, 'public.ecr.aws/nginx/nginx:1.25'],
      [TASK_DEFINITION_ARN('web', 1)]: [`${HOST}/team/web@${webOld}`],
      [TASK_DEFINITION_ARN('api', 5)]: [`${HOST}/api:1.4@${api}`, `${FOREIGN}/api:1.4`, '111122223333.dkr.ecr.us-east-1.amazonaws.com/api:9'],
      [TASK_DEFINITION_ARN('batch', 3)]: [`${HOST}/batch`],
    };
    const { source, transport } = ecsSourceWith(
      byOperation({
        ListClusters: (request) =>
          ok(request.json.nextToken ? { clusterArns: [CLUSTER_ARN('staging')] } : { clusterArns: [CLUSTER_ARN('prod')], nextToken: 'c2' }),
        ListServices: (request) =>
          ok({ serviceArns: request.json.cluster === CLUSTER_ARN('prod') ? ['arn:aws:ecs:eu-west-1:111122223333:service/prod/web', 'arn:aws:ecs:eu-west-1:111122223333:service/prod/api'] : [] }),
        DescribeServices: () =>
          ok({
            services: [
              {
                serviceName: 'web',
                taskDefinition: TASK_DEFINITION_ARN('web', 2),
                deployments: [
                  { status: 'PRIMARY', taskDefinition: TASK_DEFINITION_ARN('web', 2) },
                  { status: 'ACTIVE', taskDefinition: TASK_DEFINITION_ARN('web', 1) },
                  { status: 'INACTIVE', taskDefinition: TASK_DEFINITION_ARN('web', 0) },
                ],
              },
              { serviceName: 'api', taskDefinition: TASK_DEFINITION_ARN('api', 5), deployments: [{ status: 'PRIMARY', taskDefinition: TASK_DEFINITION_ARN('api', 5) }] },
            ],
            failures: [],
          }),
        ListTasks: (request) => {
          if (request.json.cluster !== CLUSTER_ARN('prod')) return ok({ taskArns: [] });
          return ok({ taskArns: request.json.desiredStatus === 'RUNNING' ? ['arn:task/prod/t-web'] : ['arn:task/prod/t-batch'] });
        },
        DescribeTasks: (request) =>
          ok({
            tasks: (request.json.tasks as string[]).map((arn) =>
              arn.endsWith('t-web')
                ? {
                    taskArn: arn,
                    group: 'service:web',
                    taskDefinitionArn: TASK_DEFINITION_ARN('web', 2),
                    containers: [
                      { image: `${HOST}/team/web:2.0`, imageDigest: webRunning },
                      { image: 'public.ecr.aws/nginx/nginx:1.25', imageDigest: digestOf('nginx') },
                    ],
                  }
                : { taskArn: arn, group: 'family:batch', taskDefinitionArn: TASK_DEFINITION_ARN('batch', 3), containers: [{ image: `${HOST}/batch` }] },
            ),
            failures: [],
          }),
        DescribeTaskDefinition: (request) => {
          const images = taskDefinitions[request.json.taskDefinition as string];
          return ok({ taskDefinition: { containerDefinitions: (images ?? []).map((image, i) => ({ name: `c${i}`, image })) } });
        },
      }),
    );

    // Act
    const references = await source.discover();

    // Assess
    expect(sorted(references)).toEqual(
      sorted([
        { repository: 'team/web', tag: '2.0', source: 'ecs:prod/web' },
        { repository: 'team/web', digest: webOld, source: 'ecs:prod/web' },
        { repository: 'api', tag: '1.4', digest: api, source: 'ecs:prod/api' },
        { repository: 'team/web', tag: '2.0', source: 'ecs:prod/service:web' },
        { repository: 'team/web', tag: '2.0', digest: webRunning, source: 'ecs:prod/service:web' },
        { repository: 'batch', tag: 'latest', source: 'ecs:prod/family:batch' },
      ]),
    );
    expect(transport.requests.filter((r) => r.operation === 'ListTasks').map((r) => [r.json.cluster, r.json.desiredStatus])).toEqual([
      [CLUSTER_ARN('prod'), 'RUNNING'],
      [CLUSTER_ARN('prod'), 'PENDING'],
      [CLUSTER_ARN('staging'), 'RUNNING'],
      [CLUSTER_ARN('staging'), 'PENDING'],
    ]);
    // Each task definition once, however many services and tasks use it; the INACTIVE deployment's never.
    expect(transport.requests.filter((r) => r.operation === 'DescribeTaskDefinition').map((r) => r.json.taskDefinition)).toEqual([
      TASK_DEFINITION_ARN('web', 2),
      TASK_DEFINITION_ARN('web', 1),
      TASK_DEFINITION_ARN('api', 5),
      TASK_DEFINITION_ARN('batch', 3),
    ]);
  });

  test('describes services 10 at a time and tasks 100 at a time', async () => {
    // Prepare
    const serviceArns = Array.from({ length: 25 }, (_, i) => `arn:aws:ecs:eu-west-1:111122223333:service/big/s${i}`);
    const taskArns = Array.from({ length: 150 }, (_, i) => `arn:aws:ecs:eu-west-1:111122223333:task/big/t${i}`);
    const { source, transport } = ecsSourceWith(
      byOperation({
        ListClusters: () => ok({ clusterArns: [CLUSTER_ARN('big')] }),
        ListServices: () => ok({ serviceArns }),
        DescribeServices: () => ok({ services: [], failures: [] }),
        ListTasks: (request) => ok({ taskArns: request.json.desiredStatus === 'RUNNING' ? taskArns : [] }),
        DescribeTasks: () => ok({ tasks: [], failures: [] }),
      }),
    );

    // Act
    await source.discover();

    // Assess
    expect(transport.requests.filter((r) => r.operation === 'DescribeServices').map((r) => (r.json.services as string[]).length)).toEqual([10, 10, 5]);
    expect(transport.requests.filter((r) => r.operation === 'DescribeTasks').map((r) => (r.json.tasks as string[]).length)).toEqual([100, 50]);
  });

  test('a service that vanished since the listing is skipped; any other failure fails discovery', async () => {
    // Prepare
    const respond = (reason: string) =>
      byOperation({
        ListClusters: () => ok({ clusterArns: [CLUSTER_ARN('prod')] }),
        ListServices: () => ok({ serviceArns: ['arn:svc/gone'] }),
        DescribeServices: () => ok({ services: [], failures: [{ arn: 'arn:svc/gone', reason }] }),
        ListTasks: () => ok({ taskArns: [] }),
      });
    const missing = ecsSourceWith(respond('MISSING')).source;
    const denied = ecsSourceWith(respond('ACCESS_DENIED')).source;

    // Act
    const afterMissing = await missing.discover();
    const afterDenied = denied.discover();

    // Assess
    expect(afterMissing).toEqual([]);
    await expect(afterDenied).rejects.toThrow(/DescribeServices in cluster prod failed for arn:svc\/gone \(ACCESS_DENIED\)/);
  });
});
