// The nightly Lambda: config from the environment, AWS adapters wired to the app, a failed repository fails the run
// (after the others finished) so the Errors alarm fires.
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createEcrRegistry, makeEcrClient } from './adapters/ecr-registry.js';
import { createLogger } from './adapters/logger.js';
import { createEmfMetricsSink } from './adapters/metrics-emf.js';
import { createS3ReportSink } from './adapters/report-s3.js';
import { createConfigPinSource } from './adapters/pins-config.js';
import { createEcsPinSource } from './adapters/pins-ecs.js';
import { createLambdaPinSource } from './adapters/pins-lambda.js';
import { createSsmPinSource } from './adapters/pins-ssm.js';
import { createEcrImageLookup } from './adapters/ecr-image-lookup.js';
import { appendOrgPins, createOrgPinWiring, createS3OrgPinStore } from './adapters/pins-org.js';
import type { OrgReference } from './domain/org-pins.js';
import { type EventResult, type ImageLookupPort, protectOnEvent } from './app/protect-on-event.js';
import { parseChangeMark, parseUseEvent } from './domain/events.js';
import { createS3StateStore } from './adapters/state-s3.js';
import { createS3ChangeMarks } from './adapters/change-marks-s3.js';
import { createS3RunStore } from './adapters/run-store-s3.js';
import { parseStepEvent, type RunStepStore, runStep, type StepOutput } from './app/run-steps.js';
import { wireThroughput } from './adapters/throughput-aws.js';
import { DEFAULT_WRITE_RATES, type WriteRates } from './adapters/write-limiter.js';
import { type JanitorDeps, type RunCounters, runCounters, runJanitor } from './app/run-janitor.js';
import type { Invocation, MetricsSink, PinSource } from './app/ports.js';
import { parseConfigText } from './domain/config.js';
import type { JanitorConfig } from './domain/types.js';

export interface HandlerEnvironment {
  JANITOR_CONFIG?: string;
  STATE_BUCKET?: string;
  AWS_REGION?: string;
  /** Stack name for the metrics' Stack dimension (set by the construct). */
  JANITOR_STACK?: string;
  /** SNS topic for the run report digest (the construct's `reportTopic`). */
  REPORT_TOPIC_ARN?: string;
  /** Orchestration "stepfunctions": the Map's batches at once (the construct sets it), which share ECR's write quota. */
  JANITOR_PARALLEL_BATCHES?: string;
  /**
   * Prefix of the change marks in the state bucket ("changes/"), set by the construct when ECR push/delete events are
   * routed here: events record marks, and the nightly run confirms unchanged repositories (README "Scaling").
   */
  CHANGE_MARKS_PREFIX?: string;
}

export interface InvocationContext {
  invokedFunctionArn: string;
  /** Lambda's request id: every log line and the run's metrics carry it. */
  awsRequestId?: string;
  /** Lambda's context: the run stops waiting on previews in time to finish (a preview still running resumes next run). */
  getRemainingTimeInMillis?: () => number;
}

export interface HandlerResult extends RunCounters {
  /** Set for a use event (README "How the janitor knows an image is in use"): what it protected. */
  event?: EventResult;
  /** Set for a Step Functions step (`{"step": ...}`, lambda/app/run-steps.ts): what the state machine reads next. */
  step?: StepOutput;
}

/** Builds the ports for one invocation; tests pass their own (emulator, fake pin sources, in-memory state). */
export type Wiring = (config: JanitorConfig, env: HandlerEnvironment, context: InvocationContext) => Omit<JanitorDeps, 'log'> & { log?: JanitorDeps['log']; imageLookup?: ImageLookupPort; runStore?: RunStepStore };

export function makeHandler(wire: Wiring, env: HandlerEnvironment = process.env) {
  // A handler is made once per execution environment: its first invocation is the cold start.
  let coldStart = true;
  return async (event: unknown, context: InvocationContext): Promise<HandlerResult> => {
    const invocation: Invocation = { ...(context.awsRequestId ? { requestId: context.awsRequestId } : {}), coldStart };
    coldStart = false;
    if (!env.JANITOR_CONFIG) throw new Error('JANITOR_CONFIG is not set: deploy with the EcrJanitor construct, which sets it from the validated config');
    const config = parseConfigText(env.JANITOR_CONFIG, 'JANITOR_CONFIG');
    // A use event (ECS task, Lambda code, ECR push) protects what it names; anything else must be a run event.
    const useEvent = parseUseEvent(event);
    if (useEvent) {
      const wiredForEvent = wire(config, env, context);
      const log = withInvocation(wiredForEvent.log ?? createLogger(), invocation);
      const registryAddress = registryOf(context);
      const orgBucket = config.pins.orgBucket;
      const publishForeign = orgBucket
        ? async (references: OrgReference[]) => {
            await appendOrgPins(createS3OrgPinStore(new S3Client({ region: registryAddress.region }), orgBucket), registryAddress, references, Date.now());
          }
        : undefined;
      const orgStore = orgBucket ? createS3OrgPinStore(new S3Client({ region: registryAddress.region }), orgBucket) : undefined;
      const readOrgObject = orgStore ? (key: string) => orgStore.read(key) : undefined;
      const changeMark = parseChangeMark(event);
      const result = await protectOnEvent({ ...wiredForEvent, log, registryAddress, ...(publishForeign ? { publishForeign } : {}), ...(readOrgObject ? { readOrgObject } : {}) }, { config, ...(changeMark ? { changeMark } : {}) }, useEvent);
      // A failed write throws, so EventBridge's asynchronous invocation retries the event.
      if (result.failed > 0) throw new Error(`event: protection or publishing failed in ${result.repositories.filter((r) => r.failures.length > 0).map((r) => `${r.repository} (${r.failures[0]!.code}: ${r.failures[0]!.message})`).join('; ')}`);
      return { repositories: result.repositories.length, failed: 0, blocked: 0, refused: 0, reapedImages: 0, reapedBytes: 0, estimatedMonthlySavingsUsd: 0, event: result };
    }
    // A Step Functions step (orchestration "stepfunctions"): list, one batch of repositories, or aggregate.
    const stepEvent = parseStepEvent(event);
    if (stepEvent) {
      const { runStore, ...wiredForStep } = wire(config, env, context);
      if (!runStore) throw new Error(`event.step "${stepEvent.step}": no run store is wired (STATE_BUCKET); nothing was done`);
      return runStep({ ...wiredForStep, log: wiredForStep.log ?? createLogger(), runStore }, config, stepEvent);
    }
    const shard = repositoriesOf(event);
    const wired = wire(config, env, context);
    const { metrics } = wired;
    const deps: JanitorDeps = {
      ...wired,
      log: withInvocation(wired.log ?? createLogger(), invocation),
      ...(metrics ? { metrics: { publish: (report) => metrics.publish(report, invocation) } satisfies MetricsSink } : {}),
    };
    const report = await runJanitor(deps, {
      config,
      mode: 'run',
      dryRun: config.dryRun,
      retainImageDecisions: false,
      logGoneImages: true,
      ...(shard ? { repositories: shard } : {}),
    });
    if (report.totals.failed > 0) {
      const failed = report.repositories.filter((r) => r.status === 'failed').map((r) => `${r.repository}: ${r.error}`);
      throw new Error(`${report.totals.failed} of ${report.totals.repositories} repositories failed (the others finished): ${failed.join('; ')}`);
    }
    return runCounters(report);
  };
}

/** Every line of the invocation carries its request id and whether it was a cold start (Logs Insights filters on them). */
function withInvocation(log: JanitorDeps['log'], invocation: Invocation): JanitorDeps['log'] {
  return {
    info: (fields, message) => log.info({ ...invocation, ...fields }, message),
    warn: (fields, message) => log.warn({ ...invocation, ...fields }, message),
    error: (fields, message) => log.error({ ...invocation, ...fields }, message),
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

/**
 * ECR's PutImage quota is per account and Region: batches running at once each get their share of the write rates, so
 * together they stay under it as one invocation does. Unset (orchestration "lambda"): the whole rate.
 */
export function writeRatesForBatches(value: string | undefined, putImagePerSecond = DEFAULT_WRITE_RATES.putImagePerSecond): WriteRates {
  if (value === undefined || value === '') return { ...DEFAULT_WRITE_RATES, putImagePerSecond };
  const batches = Number(value);
  if (!Number.isInteger(batches) || batches < 1) throw new Error(`JANITOR_PARALLEL_BATCHES must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  return {
    putImagePerSecond: putImagePerSecond / batches,
    putImageBurst: Math.max(1, Math.floor(DEFAULT_WRITE_RATES.putImageBurst / batches)),
    batchDeletePerSecond: DEFAULT_WRITE_RATES.batchDeletePerSecond / batches,
  };
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
    if (config.pins.ecs || config.pins.lambda || config.pins.ssmParameter || config.pins.orgBucket) sources.push(unknownAccountSource());
    return sources;
  }
  const address = { accountId, region: registry.region };
  // Organization-wide pins: publish this account's uses of other registries, read what others say about this one.
  const org = config.pins.orgBucket ? orgPinWiring(config.pins.orgBucket, address) : undefined;
  const foreign = org ? { onForeignReference: org.onForeignReference } : {};
  const watched = (source: PinSource) => (org ? org.watch(source) : source);
  if (config.pins.ecs) sources.push(watched(createEcsPinSource(new ECSClient(clientConfig), address, { rollbackDepth: config.rollbackDepth, ...foreign })));
  if (config.pins.lambda) sources.push(watched(createLambdaPinSource(new LambdaClient(clientConfig), address, foreign)));
  if (config.pins.ssmParameter) sources.push(createSsmPinSource(new SSMClient(clientConfig), config.pins.ssmParameter, address));
  if (org) sources.push(org.source);
  return sources;
}

function orgPinWiring(bucket: string, address: { accountId: string; region: string }) {
  const log = createLogger();
  return createOrgPinWiring(createS3OrgPinStore(new S3Client({ region: address.region }), bucket), address, {
    now: () => Date.now(),
    onPublishError: (error) => log.error({ err: error.message }, 'organization pins: publishing this account\'s uses failed; the last published document stays in force'),
  });
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
  const ecr = makeEcrClient({ region: registry.region });
  // Writes on a client of their own: throttled PutImage never slows the reads (README "Scaling").
  const { registry: ecrRegistry, throughput } = wireThroughput({
    reads: createEcrRegistry(ecr),
    writes: createEcrRegistry(makeEcrClient({ region: registry.region })),
    config,
    memoryMb: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE),
    writeRates: writeRatesForBatches(env.JANITOR_PARALLEL_BATCHES, config.putImagePerSecond),
    ...(context.getRemainingTimeInMillis ? { endsAt: Date.now() + context.getRemainingTimeInMillis() } : {}),
  });
  return {
    registry: ecrRegistry,
    throughput,
    imageLookup: createEcrImageLookup(ecr),
    pinSources: pinSourcesFor(config, registry),
    stateStore: createS3StateStore(new S3Client({ region: registry.region }), env.STATE_BUCKET),
    ...(env.CHANGE_MARKS_PREFIX ? { changeMarks: createS3ChangeMarks(new S3Client({ region: registry.region }), env.STATE_BUCKET, env.CHANGE_MARKS_PREFIX) } : {}),
    runStore: createS3RunStore(new S3Client({ region: registry.region }), env.STATE_BUCKET),
    clock: { now: () => Date.now() },
    metrics: createEmfMetricsSink((line) => process.stdout.write(`${line}\n`), env.JANITOR_STACK ? { stack: env.JANITOR_STACK } : {}),
    reports: createS3ReportSink(new S3Client({ region: registry.region }), {
      bucket: env.STATE_BUCKET,
      pricePerGbMonth: config.pricePerGbMonth,
      ...(env.JANITOR_STACK ? { stack: env.JANITOR_STACK } : {}),
      ...(env.REPORT_TOPIC_ARN ? { topic: { client: new SNSClient({ region: registry.region }), arn: env.REPORT_TOPIC_ARN } } : {}),
    }),
  };
};

export const handler = makeHandler(wireAws);
