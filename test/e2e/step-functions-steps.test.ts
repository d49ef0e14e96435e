// The Step Functions orchestration's steps (lambda/app/run-steps.ts) run in order through the Lambda handler against
// the ECR emulator, exactly as the state machine (lib/orchestration.ts) drives them: list -> the Map's batches, cut as
// its ItemBatcher cuts them -> aggregate. Its result must equal one single-invocation run over the same registry.
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../lambda/app/report-types.js';
import type { RunReportSink } from '../../lambda/app/run-janitor.js';
import { type RunStepStore, type StepResult, parseStepEvent } from '../../lambda/app/run-steps.js';
import type { JanitorConfig } from '../../lambda/domain/types.js';
import { type HandlerResult, makeHandler, writeRatesForBatches } from '../../lambda/handler.js';
import { pushBuildxBuild, pushSingleImage } from '../../emulator/workload.js';
import { type EmfDocument, janitorConfig, LAMBDA_CONTEXT, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const REPOSITORIES = ['team/api', 'team/web', 'data', 'svc-a', 'svc-b'];
const RUN_ID = 'nightly-2026-01-11';
/** The Map's ItemBatcher MaxItemsPerBatch in this test: 5 repositories make batches of 2, 2 and 1. */
const PER_BATCH = 2;
const CONFIG: JanitorConfig = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }] });

function memoryRunStore(): RunStepStore & { objects: Map<string, string> } {
  const objects = new Map<string, string>();
  return {
    bucket: 'state-bucket',
    objects,
    async put(key, text) {
      objects.set(key, text);
    },
    async get(key) {
      const text = objects.get(key);
      if (text === undefined) throw Object.assign(new Error(`NoSuchKey: ${key}`), { name: 'NoSuchKey' });
      return text;
    },
  };
}

function memoryReports(): RunReportSink & { published: RunReport[] } {
  const published: RunReport[] = [];
  return {
    published,
    async publish(report) {
      published.push(report);
      return { keys: [`reports/${published.length}.json`] };
    },
  };
}

describe('Step Functions steps against the ECR emulator', () => {
  const world = useJanitorWorld({ repositories: REPOSITORIES });

  /** A CI-shaped registry: per repository a multi-arch release, CI builds and an untagged leftover; one pinned image. */
  async function seedRegistry(): Promise<void> {
    for (const [index, repository] of REPOSITORIES.entries()) {
      await pushBuildxBuild(world.client, repository, { tags: ['v1'], seed: `${repository}-release`, layerBytes: SMALL });
      for (let n = 0; n < 4 + index; n++) {
        world.emulator.advanceDays(1);
        await pushSingleImage(world.client, repository, { tags: [`ci-${n}`], seed: `${repository}-ci-${n}`, bytes: SMALL });
      }
      await pushSingleImage(world.client, repository, { tags: [], seed: `${repository}-stray`, bytes: SMALL });
    }
    const pinned = await pushSingleImage(world.client, 'data', { tags: [], seed: 'data-pinned', bytes: SMALL });
    world.ecs.references = [{ repository: 'data', digest: pinned.digest, source: 'ecs:prod/etl' }];
    world.emulator.advanceDays(10);
  }

  function stepHandler(runStore: RunStepStore, reports: RunReportSink) {
    const wiring = world.wiring();
    return makeHandler((config, env, context) => ({ ...wiring(config, env, context), runStore, reports }), { JANITOR_CONFIG: JSON.stringify(CONFIG) });
  }

  /** What the state machine does: list, read the items (ItemReader), cut batches (ItemBatcher), run them, aggregate. */
  async function runLikeTheStateMachine(options: { failBatch?: number } = {}) {
    const runStore = memoryRunStore();
    const reports = memoryReports();
    const handler = stepHandler(runStore, reports);
    const list = (await handler({ step: 'list', runId: RUN_ID }, LAMBDA_CONTEXT)) as HandlerResult;
    const items = JSON.parse(await runStore.get(list.step!.itemsKey!)) as string[];
    const batches: string[][] = [];
    for (let i = 0; i < items.length; i += PER_BATCH) batches.push(items.slice(i, i + PER_BATCH));
    const mapOutput: unknown[] = [];
    const batchResults: HandlerResult[] = [];
    for (const [index, batch] of batches.entries()) {
      if (index === options.failBatch) {
        // A child execution that failed (e.g. the function timed out): the Map keeps going (ToleratedFailurePercentage 100).
        mapOutput.push({ Error: 'Sandbox.Timedout', Cause: 'Task timed out after 900.00 seconds' });
        continue;
      }
      const result = (await handler({ step: 'batch', runId: RUN_ID, repositories: batch }, LAMBDA_CONTEXT)) as HandlerResult;
      batchResults.push(result);
      mapOutput.push(result.step); // the batch task's OutputPath "$.step"
    }
    const aggregate = handler({ step: 'aggregate', runId: RUN_ID, batches: mapOutput }, LAMBDA_CONTEXT);
    return { list, items, batches, batchResults, aggregate, reports, runStore };
  }

  async function registrySnapshot() {
    const snapshot: Record<string, { policy: string | null; images: [string, string[]][] }> = {};
    for (const repository of REPOSITORIES) snapshot[repository] = { policy: await world.policyOf(repository), images: [...(await world.imagesOf(repository))].sort() };
    return snapshot;
  }

  it('installs a policy in every repository and publishes one report and one set of metrics whose totals are the batches\' sum', async () => {
    // Prepare
    await seedRegistry();

    // Act
    const run = await runLikeTheStateMachine();
    const result = (await run.aggregate) as HandlerResult;

    // Assess
    expect([...run.items].sort()).toEqual([...REPOSITORIES].sort());
    expect(run.batches.map((b) => b.length)).toEqual([2, 2, 1]);
    for (const repository of REPOSITORIES) expect(await world.policyOf(repository)).not.toBeNull();
    expect(run.reports.published).toHaveLength(1);
    const report = run.reports.published[0]!;
    const sum = (field: keyof StepResult) => run.batchResults.reduce((total, r) => total + (r[field as keyof HandlerResult] as number), 0);
    expect(report.totals.repositories).toBe(5);
    expect(report.totals.repositories).toBe(sum('repositories'));
    expect(report.totals.reaped.images).toBe(sum('reapedImages'));
    expect(report.repositories.every((r) => r.status === 'ok' && r.actions.policyInstalled)).toBe(true);
    expect(result).toMatchObject({ repositories: 5, failed: 0, blocked: 0, refused: 0, step: { name: 'aggregate', runId: RUN_ID } });
    // One RunCompleted for the whole run: the batches publish no run-level metrics.
    const runDocuments = world.emfDocuments().filter((d: EmfDocument) => 'RunCompleted' in d);
    expect(runDocuments).toHaveLength(1);
    expect(runDocuments[0]).toMatchObject({ RunCompleted: 1, repositories: 5, FailedRepositories: 0 });
    expect(world.logs.filter((l) => l.message.startsWith('ecr-janitor run:'))).toHaveLength(1);
    // Per-repository results without per-image detail.
    for (const key of [...run.runStore.objects.keys()].filter((k) => k.includes('/batches/'))) {
      const stored = JSON.parse(run.runStore.objects.get(key)!) as { repositories: { plan?: { images: unknown[] } }[] };
      expect(stored.repositories.every((r) => r.plan?.images.length === 0)).toBe(true);
    }
  });

  it('ends with the same registry and the same per-repository outcome as one single-invocation run', async () => {
    // Prepare
    await seedRegistry();
    const steps = await runLikeTheStateMachine();
    const stepsReport = (await steps.aggregate, steps.reports.published[0]!);
    const afterSteps = await registrySnapshot();
    await world.reset();
    await world.createRepositories(...REPOSITORIES);
    await seedRegistry();

    // Act
    const single = await world.run(CONFIG, { retainImageDecisions: false });
    const afterSingle = await registrySnapshot();

    // Assess
    expect(afterSteps).toEqual(afterSingle);
    const outcome = (report: RunReport) =>
      report.repositories
        .map((r) => ({ repository: r.repository, status: r.status, reaped: r.reaped, pendingExpiry: r.pendingExpiry, protected: r.protected, tagsAdded: r.actions.tagsAdded, policyInstalled: r.actions.policyInstalled }))
        .sort((a, b) => a.repository.localeCompare(b.repository));
    expect(outcome(stepsReport)).toEqual(outcome(single));
    const { estimatedMonthlySavingsUsd: _a, ...stepsTotals } = stepsReport.totals;
    const { estimatedMonthlySavingsUsd: _b, ...singleTotals } = single.totals;
    expect(stepsTotals).toEqual(singleTotals);
    expect(stepsReport.totals.protected.images).toBeGreaterThan(0);
  });

  it('lists the largest repositories first once the run state knows their sizes, so the longest batches start first', async () => {
    // Prepare: a first night records each repository's inventory.
    await seedRegistry();
    const first = await runLikeTheStateMachine();
    await first.aggregate;

    // Act
    const second = await runLikeTheStateMachine();
    await second.aggregate;

    // Assess: first night in name order (no sizes yet); then by image count, ties in name order (data and svc-a: 8).
    expect(first.items).toEqual(['data', 'svc-a', 'svc-b', 'team/api', 'team/web']);
    expect(second.items).toEqual(['svc-b', 'data', 'svc-a', 'team/web', 'team/api']);
  });

  it('fails the aggregate loudly when a batch failed: its repositories count as failed, the report and metrics still go out', async () => {
    // Prepare
    await seedRegistry();

    // Act
    const run = await runLikeTheStateMachine({ failBatch: 1 });
    const error = await run.aggregate.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    // Assess
    expect(error?.name).toBe('JanitorRunNotClean');
    expect(error?.message).toMatch(/2 failed, 0 blocked, 0 refused of 5 repositories \(2 without a result from 1 failed batch/);
    const report = run.reports.published[0]!;
    const lost = run.batches[1]!;
    for (const repository of lost) {
      expect(report.repositories.find((r) => r.repository === repository)).toMatchObject({ status: 'failed', error: expect.stringMatching(/no result: its batch failed or timed out \(batch 2: Sandbox\.Timedout/) });
    }
    expect(report.totals).toMatchObject({ repositories: 5, failed: 2 });
    expect(world.emfDocuments().find((d) => 'RunCompleted' in d)).toMatchObject({ FailedRepositories: 2 });
  });

  it('fails the aggregate when a repository was blocked, after publishing the report', async () => {
    // Prepare: the ECS pin source fails, so no repository can show its pins are protected.
    await seedRegistry();
    world.ecs.failure = 'ListClusters: AccessDenied';

    // Act
    const run = await runLikeTheStateMachine();
    const error = await run.aggregate.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    // Assess
    expect(error?.name).toBe('JanitorRunNotClean');
    const report = run.reports.published[0]!;
    expect(report.repositories.every((r) => r.status !== 'ok')).toBe(true);
    expect(error?.message).toContain(`of 5 repositories`);
  });

  it('hands a repository the list step could not vouch for to its batch as failed, with a hold where a janitor policy runs', async () => {
    // Prepare: a first night installs policies; the next, the listing fails and only the state names the repositories.
    await seedRegistry();
    await (await runLikeTheStateMachine()).aggregate;
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['DescribeRepositories'] });

    // Act
    const run = await runLikeTheStateMachine().finally(() => world.emulator.clearFaults());
    const error = await run.aggregate.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    // Assess
    expect(error?.name).toBe('JanitorRunNotClean');
    const report = run.reports.published[0]!;
    expect(report.repositories.map((r) => r.repository).sort()).toEqual([...REPOSITORIES].sort());
    for (const r of report.repositories) expect(r).toMatchObject({ status: 'failed', error: expect.stringMatching(/^repository listing: /), actions: { policyHeld: true } });
  });
});

describe('step events (the handler\'s parser)', () => {
  it.each([
    [{ step: 'lists', runId: 'x' }, /event\.step: unknown step "lists"; expected one of "list", "batch", "aggregate"/],
    [{ step: 'list' }, /event\.runId must be the execution name/],
    [{ step: 'list', runId: '../state' }, /event\.runId must be the execution name/],
    [{ step: 'batch', runId: 'x', repositories: [] }, /event\.repositories must be a non-empty list/],
    [{ step: 'batch', runId: 'x', repositories: ['a'], extra: 1 }, /event\.extra: unknown field for step "batch"/],
    [{ step: 'aggregate', runId: 'x', batches: 'all' }, /event\.batches must be the Map state's output/],
  ])('rejects %j, naming the field', (event, message) => {
    // Act
    const parse = () => parseStepEvent(event);

    // Assess
    expect(parse).toThrow(message);
  });

  it('leaves every other invocation to the existing readers', () => {
    // Act
    const events = [{}, null, { repositories: ['a'] }, { source: 'aws.events', 'detail-type': 'Scheduled Event' }].map(parseStepEvent);

    // Assess
    expect(events).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('writeRatesForBatches (JANITOR_PARALLEL_BATCHES)', () => {
  it('gives each of the batches running at once its share of the write rates, so together they stay under ECR\'s quota', () => {
    // Act
    const alone = writeRatesForBatches(undefined);
    const shared = writeRatesForBatches('4');

    // Assess ("Amazon ECR service quotas": PutImage 10 per second per account and Region)
    expect(alone).toEqual({ putImagePerSecond: 9, putImageBurst: 5, batchDeletePerSecond: 5 });
    expect(shared).toEqual({ putImagePerSecond: 2.25, putImageBurst: 1, batchDeletePerSecond: 1.25 });
    expect(() => writeRatesForBatches('0')).toThrow(/JANITOR_PARALLEL_BATCHES must be a whole number of at least 1, got "0"/);
  });
});
