// The nightly Lambda end to end: makeHandler with the config as the construct passes it (JANITOR_CONFIG), wired to the
// ECR emulator through the real SDK, fake ECS/Lambda pin sources, state that survives between invocations and the EMF
// sink. Nights are the emulator's clock; ECR's lifecycle runs between invocations.
import { describe, expect, it } from 'vitest';
import { configToText } from '../../lambda/domain/config.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { type HandlerEnvironment, makeHandler } from '../../lambda/handler.js';
import { pushCacheManifest, pushSingleImage } from '../../emulator/workload.js';
import {
  callsBetween,
  DAY,
  type EmfDocument,
  janitorConfig,
  LAMBDA_CONTEXT,
  SMALL,
  T0,
  useJanitorWorld,
} from '../support/emulator-janitor.js';

const world = useJanitorWorld();

function envFor(overrides: Record<string, unknown> = {}): HandlerEnvironment {
  return { JANITOR_CONFIG: configToText(janitorConfig(overrides)) };
}

/** One scheduled invocation with this environment. */
function invoke(env: HandlerEnvironment = envFor()) {
  return makeHandler(world.wiring(), env)({}, LAMBDA_CONTEXT);
}

describe('handler: pins, protection and grace', () => {
  it('protects a pinned image while pinned and through the grace period, then lets it go', async () => {
    // Prepare: an untagged image a service runs by digest, and ci-1 a function runs by tag, pushed out by ci-2 (keep 1).
    await world.createRepositories('app');
    const untagged = await pushSingleImage(world.client, 'app', { tags: [], seed: 'untagged', bytes: SMALL });
    const ci1 = await pushSingleImage(world.client, 'app', { tags: ['ci-1'], seed: 'ci-1', bytes: SMALL });
    world.emulator.advanceDays(1);
    const ci2 = await pushSingleImage(world.client, 'app', { tags: ['ci-2'], seed: 'ci-2', bytes: SMALL });
    world.emulator.advanceDays(4);
    const env = envFor({ ciTags: [{ pattern: 'ci-*', keep: 1 }] });
    world.ecs.references = [{ repository: 'app', digest: untagged.digest, source: 'ecs:prod/api' }];
    world.lambda.references = [{ repository: 'app', tag: 'ci-1', source: 'lambda:worker' }];
    const untaggedKeep = protectionTagFor(untagged.digest);
    const ci1Keep = protectionTagFor(ci1.digest);

    // Act + Assess: night 1, pinned.
    const night1 = await invoke(env);
    expect(night1).toMatchObject({ repositories: 1, failed: 0, blocked: 0 });
    expect(await world.tagsOf('app', untagged.digest)).toEqual([untaggedKeep]);
    expect(await world.tagsOf('app', ci1.digest)).toEqual([ci1Keep, 'ci-1'].sort());
    expect(world.emulator.runLifecycle().expired).toEqual([]);

    // The pins disappear; for the 7 days of grace the tags stay and the images survive every lifecycle run.
    world.ecs.references = [];
    world.lambda.references = [];
    for (let day = 1; day <= 7; day++) {
      world.emulator.advanceDays(1);
      await invoke(env);
      expect(world.emulator.runLifecycle().expired).toEqual([]);
      expect(await world.tagsOf('app', untagged.digest)).toEqual([untaggedKeep]);
      expect(await world.tagsOf('app', ci1.digest)).toEqual([ci1Keep, 'ci-1'].sort());
    }

    // Day 8: grace is over. The untagged image goes with its last tag (BatchDeleteImage by tag deletes it); ci-1 loses
    // its protection tag and the next lifecycle run expires it (keep 1 of ci-*).
    world.emulator.advanceDays(1);
    await invoke(env);
    expect(await world.tagsOf('app', untagged.digest)).toBeUndefined();
    expect(await world.tagsOf('app', ci1.digest)).toEqual(['ci-1']);
    const lifecycle = world.emulator.runLifecycle();
    expect(lifecycle.expired.map((e) => e.digest)).toEqual([ci1.digest]);
    world.emulator.advanceDays(1);
    const after = await invoke(env);
    expect(after).toMatchObject({ reapedImages: 2, reapedBytes: 2 * SMALL });
    expect([...(await world.imagesOf('app')).keys()]).toEqual([ci2.digest]);
    expect(await world.unresolvable('app')).toEqual([]);
  });

  it('fails closed when pin discovery fails: every repository blocked, no policy change, no protection removed', async () => {
    // Prepare: night 1 protects app's v1 and installs policies. By night 2 v1's 1-day grace is long over, the config
    // changed, a new repository without a policy appeared, and ECS pin discovery is denied (Lambda's still works).
    await world.createRepositories('app', 'web');
    const v1 = await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    const w1 = await pushSingleImage(world.client, 'web', { tags: ['w1'], seed: 'w1', bytes: SMALL });
    world.emulator.advanceDays(1);
    world.ecs.references = [{ repository: 'app', digest: v1.digest, source: 'ecs:prod/api' }];
    await invoke(envFor({ pinGraceDays: 1 }));
    const policies = [await world.policyOf('app'), await world.policyOf('web')];
    const night1 = world.clock.now();
    await world.createRepositories('fresh');
    const stray = await pushSingleImage(world.client, 'fresh', { tags: [], seed: 'stray', bytes: SMALL });
    world.emulator.advanceDays(10);
    world.ecs.references = [];
    world.ecs.failure = 'AccessDeniedException: not authorized to perform ecs:ListClusters';
    world.lambda.references = [{ repository: 'web', digest: w1.digest, source: 'lambda:api' }];
    const stats = world.emulator.stats();
    const emfFrom = world.emf.length;

    // Act
    const result = await invoke(envFor({ pinGraceDays: 1, untaggedExpireDays: 5 }));
    const lifecycle = world.emulator.runLifecycle();

    // Assess: the handler returns (blocked is not failed) and says how many were blocked.
    expect(result).toMatchObject({ repositories: 3, failed: 0, blocked: 3 });
    expect(Object.keys(callsBetween(stats, world.emulator.stats())).filter((op) => ['PutImage', 'PutLifecyclePolicy', 'BatchDeleteImage'].includes(op))).toEqual([]);
    expect([await world.policyOf('app'), await world.policyOf('web'), await world.policyOf('fresh')]).toEqual([...policies, null]);
    expect(await world.tagsOf('app', v1.digest)).toEqual([protectionTagFor(v1.digest), 'v1']);
    expect(await world.tagsOf('fresh', stray.digest)).toEqual([]);
    expect(lifecycle.expired).toEqual([]);
    expect((await world.stateStore.load('app'))!.pinsLastSeen).toEqual({ [v1.digest]: night1 });
    expect(world.logs).toContainEqual({ level: 'error', fields: { coldStart: true, source: 'ecs', err: expect.stringMatching(/AccessDenied/) }, message: 'pin discovery failed; repositories fail closed' });
    for (const repository of ['app', 'fresh', 'web']) {
      // A blocked repository is not cleaned: an error with the reason, never a quiet info line (issue 9, point 8).
      expect(world.logs).toContainEqual(
        expect.objectContaining({ level: 'error', message: expect.stringMatching(new RegExp(`^repository ${repository}: blocked: pin discovery failed`)) }),
      );
    }
    const [totals, ...perRepository] = world.emfDocuments(emfFrom);
    expect(totals).toMatchObject({ BlockedRepositories: 3, NotCleanedRepositories: 3, FailedRepositories: 0, Errors: 0 });
    expect(perRepository.map((d) => [d.Repository, d.status]).sort()).toEqual([['app', 'blocked'], ['fresh', 'blocked'], ['web', 'blocked']]);
  });
});

describe('handler: a failed repository', () => {
  it('throws after the other repositories finished, naming the failed one, with the metrics already published', async () => {
    // Prepare: only app's pinned image needs PutImage, and ECR throttles PutImage past every retry.
    await world.createRepositories('app', 'web');
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    await pushSingleImage(world.client, 'web', { tags: ['w1'], seed: 'w1', bytes: SMALL });
    world.emulator.advanceDays(5);
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
    world.emulator.setFaults({ throttleEveryN: 1, operations: ['PutImage'] });
    let error: Error | undefined;

    // Act
    try {
      await invoke();
    } catch (thrown) {
      error = thrown as Error;
    }

    // Assess
    expect(error?.message).toMatch(/^1 of 2 repositories failed \(the others finished\): app: 1 write\(s\) failed: ThrottlingException keep-sha256-/);
    expect(await world.policyOf('web')).toContain('ecr-janitor:');
    expect(await world.policyOf('app')).toBeNull();
    world.emulator.clearFaults();
    expect(world.emulator.runLifecycle().expired).toEqual([]);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
    const [totals, ...perRepository] = world.emfDocuments(0);
    expect(totals).toMatchObject({ RunCompleted: 1, FailedRepositories: 1, Errors: 1 });
    expect(perRepository.map((d) => [d.Repository, d.status, d.Errors])).toEqual([['app', 'failed', 1], ['web', 'ok', 0]]);
  });
});

describe('handler: EMF metrics', () => {
  it('publishes what the lifecycle reaped between two runs, its monthly value, and a line per repository', async () => {
    // Prepare: 4 cache exports in app (3 superseded), one image in web.
    await world.createRepositories('app', 'web');
    const CACHE_BYTES = 1_500_000_000;
    for (let n = 0; n < 4; n++) {
      await pushCacheManifest(world.client, 'app', { tag: 'buildcache', seed: `cache-${n}`, bytes: CACHE_BYTES + n });
      world.emulator.advanceDays(1);
    }
    await pushSingleImage(world.client, 'web', { tags: ['w1'], seed: 'w1', bytes: SMALL });
    world.emulator.setClock(T0 + 10 * DAY);

    // Act
    const night1 = await invoke();
    const last = (await world.stateStore.load('app'))!.lastInventory!;
    const inventory = Object.fromEntries(last.digests.map((digest, i) => [digest, last.bytes[i]!]));
    const lifecycle = world.nextNight();
    const emfFrom = world.emf.length;
    const night2 = await invoke();

    // Assess
    const reapedBytes = lifecycle.expired.reduce((sum, e) => sum + inventory[e.digest]!, 0);
    const savings = Math.round((reapedBytes / 2 ** 30) * 0.1 * 100) / 100;
    expect(lifecycle.expired).toHaveLength(3);
    expect(reapedBytes).toBe(lifecycle.expired.reduce((sum, e) => sum + e.bytes, 0));
    expect(night1).toMatchObject({ reapedImages: 0, reapedBytes: 0 });
    expect(night2).toEqual({ repositories: 2, failed: 0, blocked: 0, refused: 0, reapedImages: 3, reapedBytes, estimatedMonthlySavingsUsd: savings });
    expect(savings).toBe(0.42);

    const documents = world.emfDocuments(emfFrom);
    expect(documents).toHaveLength(3); // the totals, then one per repository
    for (const document of documents) {
      const [directive] = document._aws.CloudWatchMetrics;
      expect(directive!.Namespace).toBe('EcrJanitor');
      for (const metric of directive!.Metrics) expect(typeof document[metric.Name], metric.Name).toBe('number');
    }
    const dimensionsOf = (d: EmfDocument) => d._aws.CloudWatchMetrics[0]!.Dimensions;
    const totals = documents.filter((d) => JSON.stringify(dimensionsOf(d)) === '[[]]');
    expect(totals).toHaveLength(1);
    expect(totals[0]).toMatchObject({ RunCompleted: 1, ReapedImages: 3, ReapedBytes: reapedBytes, EstimatedMonthlySavingsUsd: savings, Errors: 0, FailedRepositories: 0 });
    const byRepository = documents.filter((d) => JSON.stringify(dimensionsOf(d)) === '[["Repository"]]');
    expect(byRepository.map((d) => d.Repository).sort()).toEqual(['app', 'web']);
    expect(byRepository.find((d) => d.Repository === 'app')).toMatchObject({ ReapedImages: 3, ReapedBytes: reapedBytes, Errors: 0 });
    expect(byRepository.find((d) => d.Repository === 'web')).toMatchObject({ ReapedImages: 0, ReapedBytes: 0 });
  });

  it('ties the log lines and the metrics to the request id, and counts the cold start once per execution environment', async () => {
    // Prepare: one handler, as Lambda keeps it between invocations of one execution environment.
    await world.createRepositories('app');
    const handler = makeHandler(world.wiring(), envFor());

    // Act
    const emfFrom = world.emf.length;
    await handler({}, { ...LAMBDA_CONTEXT, awsRequestId: 'req-1' });
    const logsOfFirst = world.logs.length;
    await handler({}, { ...LAMBDA_CONTEXT, awsRequestId: 'req-2' });

    // Assess
    const totals = world.emfDocuments(emfFrom).filter((d) => JSON.stringify(d._aws.CloudWatchMetrics[0]!.Dimensions) === '[[]]');
    expect(totals.map((d) => [d.requestId, d.ColdStart])).toEqual([
      ['req-1', 1],
      ['req-2', 0],
    ]);
    expect(world.logs.slice(0, logsOfFirst).every((line) => line.fields.requestId === 'req-1' && line.fields.coldStart === true)).toBe(true);
    expect(world.logs.slice(logsOfFirst).every((line) => line.fields.requestId === 'req-2' && line.fields.coldStart === false)).toBe(true);
  });
});

describe('handler: one shard of the repositories', () => {
  it('handles only the repositories the event names', async () => {
    // Prepare
    await world.createRepositories('app', 'web');
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'app', bytes: SMALL });
    await pushSingleImage(world.client, 'web', { tags: ['v1'], seed: 'web', bytes: SMALL });

    // Act
    const result = await makeHandler(world.wiring(), envFor())({ repositories: ['web'] }, LAMBDA_CONTEXT);

    // Assess
    expect(result.repositories).toBe(1);
    expect(await world.policyOf('web')).not.toBeNull();
    expect(await world.policyOf('app')).toBeNull();
  });
});

describe('handler: every image gone since the last run is logged, one line each', () => {
  it('logs the digest, bytes and former tags of each image ECR expired, and nothing for those still there', async () => {
    // Prepare: two untagged images older than untaggedDays and one tagged image; night 1 installs the policy.
    await world.createRepositories('app');
    const old1 = await pushSingleImage(world.client, 'app', { tags: [], seed: 'old-1', bytes: SMALL });
    const old2 = await pushSingleImage(world.client, 'app', { tags: [], seed: 'old-2', bytes: 2 * SMALL });
    const kept = await pushSingleImage(world.client, 'app', { tags: ['release-1'], seed: 'kept', bytes: SMALL });
    world.emulator.advanceDays(5);
    expect(await invoke()).toMatchObject({ failed: 0 });
    const expired = world.nextNight().expired.map((e) => e.digest).sort();
    expect(expired).toEqual([old1.digest, old2.digest].sort());
    world.logs.length = 0;

    // Act: night 2 sees them gone.
    await invoke();

    // Assess: the field the stack's "expired-images" Logs Insights query reads (gone.digest), once per image.
    const gone = world.logs.filter((line) => line.fields.gone !== undefined).map((line) => line.fields.gone as { digest: string; bytes: number; tags: string[] });
    expect(gone.map((g) => g.digest).sort()).toEqual(expired);
    expect(gone.every((g) => g.bytes > 0 && g.tags.length === 0)).toBe(true);
    expect(gone.some((g) => g.digest === kept.digest)).toBe(false);
  });
});
