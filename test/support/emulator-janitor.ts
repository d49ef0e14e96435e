// End-to-end wiring shared by test/e2e and test/handler: the local ECR emulator behind the real @aws-sdk/client-ecr and
// the real ECR adapter, fake pin sources behind the PinSource port, file state in a temp dir that survives between runs,
// a clock that follows the emulator's, and the log and EMF lines collected for assertions. The emulator plays the
// pessimistic profile unless told (emulator/profiles.ts): the janitor must be safe under the worst reading.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  GetLifecyclePolicyCommand,
  paginateDescribeImages,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { ACCEPTED_MANIFEST_MEDIA_TYPES, createEcrRegistry, type EcrRegistry, makeEcrClient } from '../../lambda/adapters/ecr-registry.js';
import { createEmfMetricsSink } from '../../lambda/adapters/metrics-emf.js';
import { createFileStateStore } from '../../lambda/adapters/state-file.js';
import type { PinSource, StateStore } from '../../lambda/app/ports.js';
import type { RepositoryRunReport, RunReport } from '../../lambda/app/report-types.js';
import { type LogPort, type RunOptions, runJanitor } from '../../lambda/app/run-janitor.js';
import { parseConfig } from '../../lambda/domain/config.js';
import type { Digest, ImageDecision, JanitorConfig, PinReference } from '../../lambda/domain/types.js';
import type { Wiring } from '../../lambda/handler.js';
import type { ProfileName } from '../../emulator/profiles.js';
import { type EmulatorHandle, type EmulatorStats, startEmulator } from '../../emulator/server.js';
import type { LifecycleRunResult } from '../../emulator/lifecycle.js';
import { zeroDelayEmulatorClient, zeroDelayRetries } from './retries.js';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2026, 0, 1);
/** Layer bytes of pushed images: sizes are only numbers in manifests, small keeps the JSON small. */
export const SMALL = 10_000;
/** SDK attempts per call, as makeEcrClient configures them for the Lambda (retried without waiting: support/retries.ts). */
export const MAX_ATTEMPTS = 8;
export const LAMBDA_CONTEXT = { invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ecr-janitor' };

/** The e2e config: pin sources come from the test, the first clean-up may expire most of a repository. */
export function janitorConfig(overrides: Record<string, unknown> = {}): JanitorConfig {
  return parseConfig({ maxExpireShare: 1, pins: { ecs: false, lambda: false }, ...overrides }, 'test');
}

/** One CloudWatch Embedded Metric Format document as the EMF sink writes it. */
export type EmfDocument = Record<string, unknown> & {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
};

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** A pin source behind the port, e.g. ECS services: edit `references` between runs, set `failure` to make it throw. */
export interface FakePinSource extends PinSource {
  references: PinReference[];
  failure: string | undefined;
}

export function fakePinSource(name: string, references: PinReference[] = []): FakePinSource {
  const source: FakePinSource = {
    name,
    references,
    failure: undefined,
    async discover() {
      if (source.failure !== undefined) throw new Error(source.failure);
      return source.references.map((ref) => ({ ...ref }));
    },
  };
  return source;
}

/** Per-operation difference between two emulator stats snapshots (what one janitor run sent). */
export function callsBetween(before: EmulatorStats, after: EmulatorStats): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const [operation, count] of Object.entries(after.calls)) {
    const delta = count - (before.calls[operation] ?? 0);
    if (delta > 0) calls[operation] = delta;
  }
  return calls;
}

export function repositoryReport(report: RunReport, repository: string): RepositoryRunReport {
  const found = report.repositories.find((r) => r.repository === repository);
  if (!found) throw new Error(`no report for repository ${repository}`);
  return found;
}

export function decisionOf(report: RunReport, repository: string, digest: Digest): ImageDecision {
  const image = repositoryReport(report, repository).plan?.images.find((i) => i.digest === digest);
  if (!image) throw new Error(`no decision for ${repository}@${digest}`);
  return image;
}

/**
 * One emulator per test file, reset before each test: an empty registry at T0 (with `repositories` created), fresh
 * state, no pins, no faults, nothing collected.
 */
export function useJanitorWorld(options: { repositories?: string[]; profile?: ProfileName } = {}): JanitorWorld {
  const world = new JanitorWorld(options.profile ?? 'pessimistic');
  beforeAll(() => world.start());
  afterAll(() => world.close());
  beforeEach(async () => {
    await world.reset();
    await world.createRepositories(...(options.repositories ?? []));
  });
  return world;
}

export class JanitorWorld {
  /** The ECS and Lambda pin sources, faked: set `references` (source e.g. `ecs:cluster/service`) or `failure`. */
  readonly ecs = fakePinSource('ecs');
  readonly lambda = fakePinSource('lambda');
  readonly logs: LogLine[] = [];
  readonly emf: string[] = [];
  stateDir = '';
  stateStore: StateStore = createFileStateStore('/nonexistent');
  private started: { emulator: EmulatorHandle; client: ECRClient } | undefined;
  private readonly runClients: ECRClient[] = [];

  constructor(readonly profile: ProfileName = 'pessimistic') {}

  async start(): Promise<void> {
    const emulator = await startEmulator({ now: T0, profile: this.profile });
    this.started = { emulator, client: zeroDelayEmulatorClient(emulator.endpoint) };
  }

  get emulator(): EmulatorHandle {
    if (!this.started) throw new Error('the world is not started: call start() (useJanitorWorld does it in beforeAll)');
    return this.started.emulator;
  }

  /** For pushes and for looking at the registry afterwards; the janitor gets its own client per run. */
  get client(): ECRClient {
    if (!this.started) throw new Error('the world is not started: call start() (useJanitorWorld does it in beforeAll)');
    return this.started.client;
  }

  /** An empty registry at T0, fresh state, no pins, no faults, no collected lines. */
  async reset(): Promise<void> {
    this.emulator.reset();
    this.emulator.setProfile(this.profile);
    this.emulator.setClock(T0);
    this.destroyRunClients();
    if (this.stateDir) await rm(this.stateDir, { recursive: true, force: true });
    this.stateDir = await mkdtemp(join(tmpdir(), 'ecr-janitor-e2e-'));
    this.stateStore = createFileStateStore(this.stateDir);
    for (const source of this.pinSources()) {
      source.references = [];
      source.failure = undefined;
    }
    this.logs.length = 0;
    this.emf.length = 0;
  }

  async close(): Promise<void> {
    this.destroyRunClients();
    if (this.started) {
      this.started.client.destroy();
      await this.started.emulator.close();
      this.started = undefined;
    }
    if (this.stateDir) await rm(this.stateDir, { recursive: true, force: true });
  }

  readonly clock = { now: () => this.emulator.now() };

  readonly log: LogPort = {
    info: (fields, message) => this.logs.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields, message) => this.logs.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
    error: (fields, message) => this.logs.push({ level: 'error', fields: fields as Record<string, unknown>, message }),
  };

  async createRepositories(...names: string[]): Promise<void> {
    for (const repositoryName of names) await this.client.send(new CreateRepositoryCommand({ repositoryName }));
  }

  /**
   * A registry over a client of its own, so its call counts are one run's. Neither SDK retries nor preview polls wait:
   * the emulator's asynchronous preview moves on by polls, not by time (the adapter's poll count and deadline apply).
   */
  newRegistry(): EcrRegistry {
    const client = makeEcrClient({
      endpoint: this.emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      retryStrategy: zeroDelayRetries(MAX_ATTEMPTS),
    });
    this.runClients.push(client);
    return createEcrRegistry(client, { sleep: async () => {} });
  }

  /** One janitor run against the emulator, as the Lambda runs it (mode run unless told otherwise). */
  async run(config: JanitorConfig, options: Partial<RunOptions> = {}): Promise<RunReport> {
    return runJanitor(
      { registry: this.newRegistry(), pinSources: this.pinSources(), stateStore: this.stateStore, clock: this.clock, log: this.log },
      { config, mode: 'run', ...options },
    );
  }

  /** What the Lambda handler is wired with in AWS, with the emulator, the fake pins, file state and collected EMF. */
  wiring(): Wiring {
    return () => ({
      registry: this.newRegistry(),
      pinSources: this.pinSources(),
      stateStore: this.stateStore,
      clock: this.clock,
      log: this.log,
      metrics: createEmfMetricsSink((line) => this.emf.push(line)),
    });
  }

  /** The next night: the clock moves a day, then ECR's lifecycle runs. */
  nextNight(days = 1): LifecycleRunResult {
    this.emulator.advanceDays(days);
    return this.emulator.runLifecycle();
  }

  /** DescribeImages through the SDK: digest -> tags (sorted). */
  async imagesOf(repository: string): Promise<Map<Digest, string[]>> {
    const images = new Map<Digest, string[]>();
    for await (const page of paginateDescribeImages({ client: this.client }, { repositoryName: repository })) {
      for (const detail of page.imageDetails ?? []) images.set(detail.imageDigest!, [...(detail.imageTags ?? [])].sort());
    }
    return images;
  }

  async tagsOf(repository: string, digest: Digest): Promise<string[] | undefined> {
    return (await this.imagesOf(repository)).get(digest);
  }

  /** The digests BatchGetImage returns a manifest for: what a `docker pull` by digest would find. */
  async resolvable(repository: string, digests: Iterable<Digest>): Promise<Set<Digest>> {
    const wanted = [...new Set(digests)];
    const found = new Set<Digest>();
    for (let i = 0; i < wanted.length; i += 100) {
      const response = await this.client.send(
        new BatchGetImageCommand({
          repositoryName: repository,
          imageIds: wanted.slice(i, i + 100).map((imageDigest) => ({ imageDigest })),
          acceptedMediaTypes: ACCEPTED_MANIFEST_MEDIA_TYPES,
        }),
      );
      for (const image of response.images ?? []) if (image.imageManifest) found.add(image.imageId!.imageDigest!);
    }
    return found;
  }

  /** Images DescribeImages lists but BatchGetImage cannot return: should always be empty. */
  async unresolvable(repository: string): Promise<Digest[]> {
    const listed = [...(await this.imagesOf(repository)).keys()];
    const found = await this.resolvable(repository, listed);
    return listed.filter((digest) => !found.has(digest));
  }

  async policyOf(repository: string): Promise<string | null> {
    try {
      return (await this.client.send(new GetLifecyclePolicyCommand({ repositoryName: repository }))).lifecyclePolicyText ?? null;
    } catch (error) {
      if ((error as Error).name === 'LifecyclePolicyNotFoundException') return null;
      throw error;
    }
  }

  /** The EMF lines collected from the `from`th on, parsed. */
  emfDocuments(from = 0): EmfDocument[] {
    return this.emf.slice(from).map((line) => JSON.parse(line) as EmfDocument);
  }

  private pinSources(): FakePinSource[] {
    return [this.ecs, this.lambda];
  }

  private destroyRunClients(): void {
    for (const client of this.runClients.splice(0)) client.destroy();
  }
}
