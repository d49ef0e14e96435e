// The nightly Lambda: config from the environment, AWS adapters wired to the app, a failed repository fails the run
// (after the others finished) so the Errors alarm fires.
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createEcrRegistry, makeEcrClient } from './adapters/ecr-registry.js';
import { createLogger } from './adapters/logger.js';
import { createEmfMetricsSink } from './adapters/metrics-emf.js';
import { createConfigPinSource } from './adapters/pins-config.js';
import { createEcsPinSource } from './adapters/pins-ecs.js';
import { createLambdaPinSource } from './adapters/pins-lambda.js';
import { createSsmPinSource } from './adapters/pins-ssm.js';
import { createS3StateStore } from './adapters/state-s3.js';
import type { JanitorDeps } from './app/run-janitor.js';
import { runJanitor } from './app/run-janitor.js';
import type { PinSource } from './app/ports.js';
import { parseConfigText } from './domain/config.js';
import type { JanitorConfig } from './domain/types.js';

export interface HandlerEnvironment {
  JANITOR_CONFIG?: string;
  STATE_BUCKET?: string;
  AWS_REGION?: string;
}

export interface InvocationContext {
  invokedFunctionArn: string;
}

export interface HandlerResult {
  repositories: number;
  failed: number;
  blocked: number;
  reapedImages: number;
  reapedBytes: number;
  estimatedMonthlySavingsUsd: number;
}

/** Builds the ports for one invocation; tests pass their own (emulator, fake pin sources, in-memory state). */
export type Wiring = (config: JanitorConfig, env: HandlerEnvironment, context: InvocationContext) => Omit<JanitorDeps, 'log'> & { log?: JanitorDeps['log'] };

export function makeHandler(wire: Wiring, env: HandlerEnvironment = process.env) {
  return async (event: unknown, context: InvocationContext): Promise<HandlerResult> => {
    if (!env.JANITOR_CONFIG) throw new Error('JANITOR_CONFIG is not set: deploy with the EcrJanitor construct, which sets it from the validated config');
    const config = parseConfigText(env.JANITOR_CONFIG, 'JANITOR_CONFIG');
    const shard = repositoriesOf(event);
    const wired = wire(config, env, context);
    const deps: JanitorDeps = { ...wired, log: wired.log ?? createLogger() };
    const report = await runJanitor(deps, {
      config,
      mode: 'run',
      dryRun: config.dryRun,
      retainImageDecisions: false,
      ...(shard ? { repositories: shard } : {}),
    });
    if (report.totals.failed > 0) {
      const failed = report.repositories.filter((r) => r.status === 'failed').map((r) => `${r.repository}: ${r.error}`);
      throw new Error(`${report.totals.failed} of ${report.totals.repositories} repositories failed (the others finished): ${failed.join('; ')}`);
    }
    return {
      repositories: report.totals.repositories,
      failed: report.totals.failed,
      blocked: report.totals.blocked,
      reapedImages: report.totals.reaped.images,
      reapedBytes: report.totals.reaped.bytes,
      estimatedMonthlySavingsUsd: report.totals.estimatedMonthlySavingsUsd,
    };
  };
}

/**
 * The schedule's event carries no `repositories`: every managed repository is handled. An invocation that names some
 * (e.g. one shard of a Step Functions Map over a large account) handles those, still within the config's include/exclude.
 */
export function repositoriesOf(event: unknown): string[] | undefined {
  if (typeof event !== 'object' || event === null || !('repositories' in event)) return undefined;
  const { repositories } = event as { repositories: unknown };
  if (!Array.isArray(repositories) || repositories.length === 0 || repositories.some((r) => typeof r !== 'string' || r === '')) {
    throw new Error('event.repositories must be a non-empty list of repository names, e.g. {"repositories": ["team/app"]}; nothing was done');
  }
  return repositories as string[];
}

/** Account and region come from the function's own ARN: pins only count for this registry. */
export function registryOf(context: InvocationContext): { accountId: string; region: string } {
  const [, , , region, accountId] = context.invokedFunctionArn.split(':');
  if (!region || !accountId) throw new Error(`cannot read account and region from function ARN ${context.invokedFunctionArn}`);
  return { accountId, region };
}

/**
 * The pin sources the config enables. Without the account id, ECS and Lambda image URIs cannot be matched to this
 * registry, so those sources fail and every repository fails closed rather than losing what they pin.
 */
export function pinSourcesFor(config: JanitorConfig, registry: { accountId: string | undefined; region: string }): PinSource[] {
  const sources: PinSource[] = [createConfigPinSource(config)];
  // A throttled discovery blocks every repository for the night: retry like the ECR client does.
  const clientConfig = { region: registry.region, retryMode: 'adaptive', maxAttempts: 8 };
  const { accountId } = registry;
  if (accountId === undefined) {
    if (config.pins.ecs || config.pins.lambda || config.pins.ssmParameter) sources.push(unknownAccountSource());
    return sources;
  }
  const address = { accountId, region: registry.region };
  if (config.pins.ecs) sources.push(createEcsPinSource(new ECSClient(clientConfig), address));
  if (config.pins.lambda) sources.push(createLambdaPinSource(new LambdaClient(clientConfig), address));
  if (config.pins.ssmParameter) sources.push(createSsmPinSource(new SSMClient(clientConfig), config.pins.ssmParameter, address));
  return sources;
}

function unknownAccountSource(): PinSource {
  return {
    name: 'account',
    discover: async () => {
      throw new Error("this registry's account id is unknown (DescribeRepositories/DescribeRegistry gave none), so deployment image URIs cannot be matched to it");
    },
  };
}

const wireAws: Wiring = (config, env, context) => {
  if (!env.STATE_BUCKET) throw new Error('STATE_BUCKET is not set: the stack owns a state bucket and passes its name');
  const registry = registryOf(context);
  return {
    registry: createEcrRegistry(makeEcrClient({ region: registry.region })),
    pinSources: pinSourcesFor(config, registry),
    stateStore: createS3StateStore(new S3Client({ region: registry.region }), env.STATE_BUCKET),
    clock: { now: () => Date.now() },
    metrics: createEmfMetricsSink((line) => process.stdout.write(`${line}\n`)),
  };
};

export const handler = makeHandler(wireAws);
