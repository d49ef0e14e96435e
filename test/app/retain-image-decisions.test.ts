// The Lambda drops per-image decisions after each repository; totals, state and the next run must not change.
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld();

describe('runJanitor retainImageDecisions', () => {
  it('keeps totals and the saved state while dropping the per-image detail from the report', async () => {
    // Prepare
    await world.createRepositories('app');
    for (let n = 0; n < 4; n++) await pushSingleImage(world.client, 'app', { tags: [], seed: `stray-${n}`, bytes: SMALL });
    world.emulator.advanceDays(5);
    const config = janitorConfig();

    // Act
    const lean = await world.run(config, { retainImageDecisions: false });
    world.nextNight();
    const next = await world.run(config);

    // Assess
    const plan = repositoryReport(lean, 'app').plan!;
    expect(plan.images).toEqual([]);
    expect(plan.nextState.lastInventory).toBeUndefined();
    expect(plan.totals.expire.images).toBe(4);
    expect(repositoryReport(next, 'app').reaped).toEqual({ images: 4, bytes: expect.any(Number) });
    expect(repositoryReport(next, 'app').reaped.bytes).toBeGreaterThan(0);
  });
});
