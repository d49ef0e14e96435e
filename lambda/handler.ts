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
  /** Repositories whose policy was not installed (reason at error level in the log; NotCleanedRepositories alarm). */
  refused: number;
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
      refused: report.totals.refused,
      reapedImages: report.totals.reaped.images,
      reapedBytes: report.totals.reaped.bytes,
      estimatedMonthlySavingsUsd: report.totals.estimatedMonthlySavingsUsd,
    };
  };
}

/**
 * The invocation events the function accepts (README "Sharding"), and nothing else: a malformed event must not run every
 * repository.
 * - the schedule's EventBridge event (`"source": "aws.events"`, `"detail-type": "Scheduled Event"`), an empty object
 *   `{}` or no payload (null): every managed repository;
 * - `{"repositories": ["team/app", ...]}` (e.g. one shard of a Step Functions Map): those, still within the config's
 *   include/exclude, each name once.
 * Anything else throws before anything is read or written, naming the field.
 */
export function repositoriesOf(event: unknown): string[] | undefined {
  const shapes = 'expected the schedule\'s EventBridge event, {} or {"repositories": ["team/app"]}; nothing was done';
  if (event === null || event === undefined) return undefined;
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new Error(`event: ${Array.isArray(event) ? 'a list' : `a ${typeof event}`} is not an invocation event; ${shapes}`);
  }
  const record = event as Record<string, unknown>;
  if (record.source === 'aws.events' && record['detail-type'] === 'Scheduled Event') return undefined;
  const unknown = Object.keys(record).filter((key) => key !== 'repositories');
  if (unknown.length > 0) {
    const near = unknown.find((key) => /^repositor/i.test(key));
    throw new Error(`event.${unknown[0]}: unknown field${near ? ' (did you mean "repositories"?)' : ''}; ${shapes}`);
  }
  if (!('repositories' in record)) return undefined;
  const { repositories } = record;
  if (!Array.isArray(repositories) || repositories.length === 0 || repositories.some((r) => typeof r !== 'string' || r === '')) {
    throw new Error('event.repositories must be a non-empty list of repository names, e.g. {"repositories": ["team/app"]}; nothing was done');
  }
  return [...new Set(repositories as string[])];
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
