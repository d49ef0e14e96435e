// keepPulledWithinDays (issue 10 point 4) against the emulator: a consumer's pull keeps an image the CI rule would
// expire; the janitor's own BatchGetImage reads (index manifests, PutImage of protection tags) do not.
import { BatchGetImageCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { pushBuildxBuild, pushSingleImage } from '../../emulator/workload.js';
import { ACCEPTED_MANIFEST_MEDIA_TYPES } from '../../lambda/adapters/ecr-registry.js';
import { recentPulls } from '../../lambda/domain/recent-pulls.js';
import { DAY, decisionOf, janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

describe('recent pulls as a safety net', () => {
  const world = useJanitorWorld({ repositories: ['app'] });

  it("keeps an image a consumer nobody told us about pulled, and says how many in the plan", async () => {
    // Prepare
    const builds = [];
    for (let n = 1; n <= 5; n++) {
      world.emulator.setClock(world.emulator.now() + 60_000);
      builds.push(await pushSingleImage(world.client, 'app', { tags: [`ci-${n}`], seed: `b${n}`, bytes: SMALL }));
    }
    world.emulator.advanceDays(1);
    // An EKS node pulls ci-1 (BatchGetImage is what a pull does).
    await world.client.send(new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: builds[0]!.digest }], acceptedMediaTypes: ACCEPTED_MANIFEST_MEDIA_TYPES }));
    world.emulator.advanceDays(1);

    // Act
    const report = await world.run(janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }], keepPulledWithinDays: 3 }), { retainImageDecisions: true });

    // Assess
    expect(decisionOf(report, 'app', builds[0]!.digest)).toMatchObject({ decision: 'protect', reason: expect.stringMatching(/pull 1 day\(s\) ago \(keepPulledWithinDays 3\)/) });
    expect(decisionOf(report, 'app', builds[1]!.digest).decision).toBe('expire');
    expect(repositoryReport(report, 'app').plan?.recentPulls).toEqual({ protected: 1, discountedJanitorReads: 0 });
  });

  it("does not count the janitor's own manifest reads as pulls", async () => {
    // Prepare
    const builds = [];
    for (let n = 1; n <= 4; n++) {
      world.emulator.setClock(world.emulator.now() + 60_000);
      builds.push(await pushBuildxBuild(world.client, 'app', { tags: [`ci-${n}`], seed: `b${n}`, layerBytes: SMALL }));
    }
    const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }], keepPulledWithinDays: 3 });
    // The first run reads every index manifest (BatchGetImage): for ECR, a pull of each index, which it notes.
    const first = await world.run(config, { retainImageDecisions: true });
    const pulledByJanitor = world.emulator.stats().calls.BatchGetImage ?? 0;
    world.emulator.advanceDays(1);

    // Act
    const second = await world.run(config, { retainImageDecisions: true });

    // Assess
    expect(pulledByJanitor).toBeGreaterThan(0);
    expect(repositoryReport(first, 'app').plan?.recentPulls).toEqual({ protected: 0, discountedJanitorReads: 0 });
    expect(repositoryReport(second, 'app').plan?.recentPulls?.protected).toBe(0);
    expect(repositoryReport(second, 'app').plan?.recentPulls?.discountedJanitorReads).toBeGreaterThanOrEqual(4);
    for (const build of builds.slice(0, 2)) expect(decisionOf(second, 'app', build.indexDigest).decision).toBe('expire');
  });
});

describe('recentPulls', () => {
  const d = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
  const now = Date.UTC(2026, 0, 10);

  it('is off without keepPulledWithinDays, counts pulls within the window, and discounts pulls at a janitor read', () => {
    // Prepare
    const images = [
      { digest: d(1), tags: [], pushedAt: 0, sizeBytes: 1, lastPulledAt: now - 2 * DAY },
      { digest: d(2), tags: [], pushedAt: 0, sizeBytes: 1, lastPulledAt: now - 5 * DAY },
      { digest: d(3), tags: [], pushedAt: 0, sizeBytes: 1, lastPulledAt: now - DAY },
      { digest: d(4), tags: [], pushedAt: 0, sizeBytes: 1 },
    ];
    const reads = { [d(3)]: now - DAY - 60_000, [d(1)]: now - 4 * DAY };

    // Act
    const off = recentPulls(images, undefined, reads, now);
    const on = recentPulls(images, 3, reads, now);

    // Assess
    expect(off).toEqual({ pinned: new Map(), discounted: 0 });
    expect([...on.pinned.keys()]).toEqual([d(1)]);
    expect(on.discounted).toBe(1);
  });
});
