// Issue 10 point 5 end to end: an ECS scan that suddenly returns nothing (throttled, mis-permissioned) must not look
// like "nothing is in use". With the breaker the pinned CI images outlive the grace period; with it off
// (maxPinDrop 1) they are unprotected after the grace period and ECR expires them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { stateFileName } from '../../lambda/adapters/state-file.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

describe('pin circuit breaker across nights', () => {
  const world = useJanitorWorld({ repositories: ['app'] });

  async function blindScanForElevenNights(maxPinDrop: number) {
    const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 25 }], pinGraceDays: 7, maxPinDrop });
    const digests: string[] = [];
    for (let n = 1; n <= 40; n++) {
      world.emulator.setClock(world.emulator.now() + 60_000);
      digests.push((await pushSingleImage(world.client, 'app', { tags: [`ci-${n}`], seed: `b${n}`, bytes: SMALL })).digest);
    }
    const pinned = digests.slice(0, 6);
    world.ecs.references = pinned.map((digest, i) => ({ repository: 'app', digest, source: `ecs:prod/svc-${i}` }));
    await world.run(config);
    world.nextNight();
    world.ecs.references = [];
    const nights = [];
    for (let night = 0; night < 11; night++) {
      nights.push(await world.run(config));
      world.nextNight();
    }
    return { pinned, nights, left: await world.imagesOf('app') };
  }

  it('holds the repository and keeps every pinned image when the scan goes blind', async () => {
    // Act
    const { pinned, nights, left } = await blindScanForElevenNights(0.5);

    // Assess
    for (const report of nights) {
      expect(repositoryReport(report, 'app')).toMatchObject({ status: 'blocked', blocked: expect.stringMatching(/pin circuit breaker: pinned digests fell from 6 to 0/) });
    }
    for (const digest of pinned) expect(left.has(digest)).toBe(true);
    const state = JSON.parse(await readFile(join(world.stateDir, stateFileName('app')), 'utf8'));
    expect(state.pinBaseline).toMatchObject({ digests: [...pinned].sort(), sources: { ecs: 6 } });
  });

  it('loses the pinned images after the grace period with the breaker off', async () => {
    // Act
    const { pinned, nights, left } = await blindScanForElevenNights(1);

    // Assess
    expect(repositoryReport(nights[0]!, "app").status).toBe("ok");
    for (const digest of pinned) expect(left.has(digest)).toBe(false);
  });
});
