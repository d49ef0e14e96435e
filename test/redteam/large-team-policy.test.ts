// Red team: a team policy too large for the hold to carry (the hold carries at most 49 chunks of 200 characters). When
// the run state is lost after the hold went in, the team's rules must not silently disappear (issue 9 point 4: "the
// replaced policy must survive state loss").
import { rm } from 'node:fs/promises';
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app'] });

/** 30 "never expire" rules with long descriptions: about 14,000 characters of rules, valid for ECR. */
function largeTeamPolicy(): string {
  const rules = Array.from({ length: 30 }, (_, i) => ({
    rulePriority: i + 1,
    description: `team: never expire release line ${i} `.padEnd(300, '.'),
    selection: { tagStatus: 'tagged', tagPatternList: [`v${i}.*`], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3650 },
    action: { type: 'expire' },
  }));
  return JSON.stringify({ rules });
}

describe('a team policy too large to carry in the hold', () => {
  it('is not replaced by janitor-only rules after a hold and a lost run state', async () => {
    // Prepare: night 1 merges; night 2 a pin's tag fails, so a hold goes in; then the state dir is lost.
    await world.client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: largeTeamPolicy() }));
    const release = await pushSingleImage(world.client, 'app', { tags: ['ci-1', 'v3.0'], seed: 'v3', bytes: SMALL });
    for (let i = 2; i <= 4; i++) {
      world.emulator.advanceDays(0.01); // distinct push times: equal ones are another attack (see the report)
      await pushSingleImage(world.client, 'app', { tags: [`ci-${i}`], seed: `ci-${i}`, bytes: SMALL });
    }
    const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }] });
    const night1 = await world.run(config);
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['PutImage'] });
    const night2 = await world.run(config);
    world.emulator.clearFaults();
    await rm(world.stateDir, { recursive: true, force: true });

    // Act
    const night3 = await world.run(config);
    const installed = (await world.policyOf('app')) ?? '';
    const expired = [...world.nextNight().expired, ...world.nextNight().expired].map((e) => e.digest);

    // Assess
    expect(repositoryReport(night1, 'app').actions, JSON.stringify(repositoryReport(night1, 'app').actions.failures)).toMatchObject({ policyInstalled: true });
    expect(repositoryReport(night2, 'app').actions.policyHeld).toBe(true);
    expect(repositoryReport(night3, 'app').status).not.toBe('ok');
    expect(installed.includes('team: never expire release line 3') || /on hold/.test(installed)).toBe(true);
    expect(expired).not.toContain(release.digest);
  });
});
