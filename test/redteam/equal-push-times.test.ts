// Red team: equal push times (parallel CI jobs pushing in the same instant) with a pin among them, under the
// pessimistic profile, which ranks equal push times the other way round (emulator/profiles.ts; AWS documents no tie
// order). The pinned image is claimed by the protect rule but still counts in the ci-* ranking ("Lifecycle policy
// evaluation rules": an image matched by a higher-priority rule still counts for lower rules).
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app'] });

describe('equal push times with a pin among them', () => {
  it('keeps the pin and still installs the policy although ECR orders the tie otherwise', async () => {
    // Prepare: four ci images pushed in the same instant, the first pinned; keep 2.
    const pushed = [];
    for (let i = 1; i <= 4; i++) pushed.push(await pushSingleImage(world.client, 'app', { tags: [`ci-${i}`], seed: `tie-${i}`, bytes: SMALL }));
    world.ecs.references = [{ repository: 'app', digest: pushed[0]!.digest, source: 'ecs:prod/api' }];
    const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }] });

    // Act
    const report = await world.run(config);
    const lifecycle = world.nextNight();

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app.actions.policyInstalled, JSON.stringify(app.actions.failures)).toBe(true);
    expect(lifecycle.expired.map((e) => e.digest)).not.toContain(pushed[0]!.digest);
    expect(await world.resolvable('app', [pushed[0]!.digest])).toEqual(new Set([pushed[0]!.digest]));
  });
});
