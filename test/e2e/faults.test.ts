// The janitor under ECR's bad days, end to end through the real SDK: throttling and 5xx (retried: same outcome, every
// attempt counted), a write ECR refuses and throttling past every retry (that repository fails with the code, the
// others finish, nothing live is lost, and the next run converges).
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../lambda/app/report-types.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import type { FaultConfig } from '../../emulator/server.js';
import { pushBuildxBuild, pushCacheManifest, pushSingleImage } from '../../emulator/workload.js';
import {
  callsBetween,
  janitorConfig,
  MAX_ATTEMPTS,
  repositoryReport,
  SMALL,
  useJanitorWorld,
} from '../support/emulator-janitor.js';

const world = useJanitorWorld();

const CONFIG = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }] });

/** Three repositories with a bit of everything: a moved tag, a pin, superseded caches, CI images past keep-N. */
async function seedMixedRegistry() {
  await world.createRepositories('app', 'cache', 'web');
  const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
  await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: 'old', layerBytes: SMALL });
  for (let n = 0; n < 4; n++) await pushCacheManifest(world.client, 'cache', { tag: 'buildcache', seed: `cache-${n}`, bytes: SMALL });
  for (let n = 0; n < 5; n++) {
    world.emulator.advanceDays(1);
    await pushSingleImage(world.client, 'web', { tags: [`ci-${n}`], seed: `web-${n}`, bytes: SMALL });
  }
  await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: 'new', layerBytes: SMALL });
  world.emulator.advanceDays(5);
  world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
  return { pinned };
}

interface NightOutcome {
  report: RunReport;
  /** The janitor's calls as the emulator received them, per operation. */
  received: Record<string, number>;
  throttled: number;
  serverErrors: number;
}

/** Two nights: janitor (under `faults`), then ECR's lifecycle; returns the runs and what is left in the registry. */
async function twoNights(faults: FaultConfig) {
  const nights: NightOutcome[] = [];
  for (let night = 0; night < 2; night++) {
    const before = world.emulator.stats();
    world.emulator.setFaults(faults);
    const report = await world.run(CONFIG);
    world.emulator.clearFaults();
    const after = world.emulator.stats();
    nights.push({ report, received: callsBetween(before, after), throttled: after.throttled - before.throttled, serverErrors: after.serverErrors - before.serverErrors });
    world.nextNight();
  }
  const left: Record<string, [string, string[]][]> = {};
  for (const repository of ['app', 'cache', 'web']) left[repository] = [...(await world.imagesOf(repository))].sort();
  return { nights, left };
}

function decisions(report: RunReport) {
  return report.repositories.map((r) => ({ repository: r.repository, status: r.status, images: r.plan!.images.map((i) => [i.digest, i.decision]) }));
}

function total(calls: Record<string, number>): number {
  return Object.values(calls).reduce((sum, n) => sum + n, 0);
}

describe('transient faults: retried by the SDK, same outcome', () => {
  it.each([
    ['throttling on every third call', { throttleEveryN: 3 }, 'throttled'],
    ['a 500 on every fourth call', { serverErrorEveryN: 4 }, 'serverErrors'],
  ] as const)('%s: the run finishes with the outcome of a quiet night and counts every attempt', async (_name, faults, counter) => {
    // Prepare
    await seedMixedRegistry();
    const quiet = await twoNights({});
    await world.reset();
    const { pinned } = await seedMixedRegistry();

    // Act
    const faulted = await twoNights(faults);

    // Assess
    expect(Object.values(quiet.left).map((images) => images.length)).toEqual([6, 1, 2]); // app: pinned + the new build
    expect(faulted.left).toEqual(quiet.left);
    expect(faulted.left.app!.find(([digest]) => digest === pinned.digest)?.[1]).toEqual([protectionTagFor(pinned.digest)]);
    for (const [i, night] of faulted.nights.entries()) {
      const quietNight = quiet.nights[i]!;
      expect(night.report.totals).toMatchObject({ repositories: 3, failed: 0, blocked: 0, errors: 0 });
      expect(decisions(night.report)).toEqual(decisions(quietNight.report));
      expect(night[counter]).toBeGreaterThan(0);
      // Every attempt is in the report, retries included: exactly what the emulator received.
      expect(night.report.apiCalls).toEqual(night.received);
      expect(total(night.report.apiCalls)).toBe(total(quietNight.report.apiCalls) + night[counter]);
    }
    expect(quiet.nights.every((n) => n.throttled === 0 && n.serverErrors === 0)).toBe(true);
  });
});

describe('partial failure: one repository fails, the others finish, the next run converges', () => {
  it('reports a protection tag ECR refuses to remove as a failure of that repository, and removes it the next run', async () => {
    // Prepare: app's v1 was pinned at night 1; by night 2 the pin is gone past its 1-day grace.
    await world.createRepositories('app', 'web');
    const v1 = await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    const w = await pushSingleImage(world.client, 'web', { tags: ['w1'], seed: 'w1', bytes: SMALL });
    const config = janitorConfig({ pinGraceDays: 1 });
    world.ecs.references = [{ repository: 'app', digest: v1.digest, source: 'ecs:prod/api' }];
    await world.run(config);
    world.nextNight(3);
    world.ecs.references = [];
    world.lambda.references = [{ repository: 'web', digest: w.digest, source: 'lambda:worker' }];
    const keepTag = protectionTagFor(v1.digest);
    world.emulator.setFaults({ failDeletesOf: [v1.digest] });

    // Act
    const failing = await world.run(config);
    world.emulator.clearFaults();
    const lifecycle = world.nextNight();
    const afterFailure = await world.tagsOf('app', v1.digest);
    const next = await world.run(config);

    // Assess
    const app = repositoryReport(failing, 'app');
    expect(app.status).toBe('failed');
    expect(app.error).toMatch(/ImageInaccessible/);
    expect(app.actions.failures).toEqual([{ digest: v1.digest, tag: keepTag, code: 'ImageInaccessible', message: expect.any(String) }]);
    expect(repositoryReport(failing, 'web')).toMatchObject({ status: 'ok', actions: { tagsAdded: 1, failures: [] } });
    expect(failing.totals).toMatchObject({ failed: 1, errors: 1 });
    expect(lifecycle.expired).toEqual([]);
    expect(afterFailure).toEqual([keepTag, 'v1'].sort());
    expect(repositoryReport(next, 'app')).toMatchObject({ status: 'ok', actions: { tagsRemoved: 1, failures: [] } });
    expect(await world.tagsOf('app', v1.digest)).toEqual(['v1']);
    expect(await world.tagsOf('web', w.digest)).toEqual([protectionTagFor(w.digest), 'w1'].sort());
    expect(await world.unresolvable('app')).toEqual([]);
  });

  it('fails the repository whose write is throttled past every retry, withholds its policy, and converges the next run', async () => {
    // Prepare: only app needs PutImage (its pinned image gets a protection tag); web only needs a policy.
    await world.createRepositories('app', 'web');
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    const appStray = await pushSingleImage(world.client, 'app', { tags: [], seed: 'app-stray', bytes: SMALL });
    const webStray = await pushSingleImage(world.client, 'web', { tags: [], seed: 'web-stray', bytes: SMALL });
    const web = await pushSingleImage(world.client, 'web', { tags: ['w1'], seed: 'w1', bytes: SMALL });
    world.emulator.advanceDays(10);
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
    const config = janitorConfig();
    world.emulator.setFaults({ throttleEveryN: 1, operations: ['PutImage'] });

    // Act
    const failing = await world.run(config);
    world.emulator.clearFaults();
    const lifecycle1 = world.nextNight();
    const next = await world.run(config);
    const lifecycle2 = world.nextNight();

    // Assess
    const app = repositoryReport(failing, 'app');
    expect(app.status).toBe('failed');
    expect(app.error).toMatch(/ThrottlingException/);
    expect(app.actions).toMatchObject({
      tagsAdded: 0,
      policyInstalled: false,
      failures: [{ digest: pinned.digest, tag: protectionTagFor(pinned.digest), code: 'ThrottlingException' }],
      notDone: ['install lifecycle policy: waits until every protection tag is in place'],
    });
    expect(failing.apiCalls.PutImage).toBe(MAX_ATTEMPTS);
    expect(repositoryReport(failing, 'web')).toMatchObject({ status: 'ok', actions: { policyInstalled: true } });
    expect(lifecycle1.expired.map((e) => [e.repository, e.digest])).toEqual([['web', webStray.digest]]);
    expect(repositoryReport(next, 'app')).toMatchObject({ status: 'ok', actions: { tagsAdded: 1, policyInstalled: true, failures: [] } });
    expect(lifecycle2.expired.map((e) => [e.repository, e.digest])).toEqual([['app', appStray.digest]]);
    expect(await world.tagsOf('app', pinned.digest)).toEqual([protectionTagFor(pinned.digest)]);
    expect(await world.resolvable('web', [web.digest])).toEqual(new Set([web.digest]));
    expect(await world.unresolvable('app')).toEqual([]);
  });

  it('puts an installed policy on hold when a new pin cannot be tagged, so the pinned image survives, and resumes after', async () => {
    // Prepare: night 1 installs the policy; then CI pushes an untagged image that a deployment pins 2.5 days later,
    // the night PutImage is throttled past every retry.
    await world.createRepositories('app');
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    const config = janitorConfig();
    const night1 = await world.run(config);
    const installed = await world.policyOf('app');
    world.emulator.advanceDays(1);
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned-late', bytes: SMALL });
    world.emulator.advanceDays(2.5);
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
    world.emulator.setFaults({ throttleEveryN: 1, operations: ['PutImage'] });

    // Act
    const failing = await world.run(config);
    const held = await world.policyOf('app');
    world.emulator.clearFaults();
    const lifecycle = world.nextNight();
    const next = await world.run(config);

    // Assess
    expect(repositoryReport(night1, 'app').actions.policyInstalled).toBe(true);
    expect(repositoryReport(failing, 'app')).toMatchObject({ status: 'failed', actions: { policyHeld: true, tagsAdded: 0 } });
    expect(held).toMatch(/ecr-janitor: on hold/);
    expect(lifecycle.expired).toEqual([]);
    expect(repositoryReport(next, 'app')).toMatchObject({ status: 'ok', actions: { tagsAdded: 1, policyInstalled: true, failures: [] } });
    expect(await world.policyOf('app')).toBe(installed);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });
});
