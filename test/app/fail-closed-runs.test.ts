// Fail closed end to end, against the emulator (issue 9, points 2, 3 and 4): a read that fails on night 2 still gets a
// hold (or the protection tag) in before ECR's lifecycle runs; a lost or corrupt run state costs nothing; the team's
// own rules survive a hold and the loss of the state.
import { writeFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { stateFileName } from '../../lambda/adapters/state-file.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld();

const TEAM_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'team: never expire releases',
      selection: { tagStatus: 'tagged', tagPatternList: ['v*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3650 },
      action: { type: 'expire' },
    },
  ],
});

/**
 * Night 1 merges the janitor's rules with the team's and installs them; then CI pushes an untagged image that a
 * deployment pins 3.5 days later, when the installed policy (untagged after 3 days) would expire it that very night.
 */
async function pinAppearsOnNight2() {
  await world.createRepositories('app');
  await world.client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: TEAM_POLICY }));
  await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
  const config = janitorConfig();
  const night1 = await world.run(config);
  const installed = await world.policyOf('app');
  world.emulator.advanceDays(1);
  const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned-late', bytes: SMALL });
  world.emulator.advanceDays(3.5);
  world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
  return { config, night1, installed, pinned };
}

describe('a read that fails on night 2 (point 2)', () => {
  it.each([
    ['BatchGetImage (the manifest to re-tag)', ['BatchGetImage']],
    ['DescribeImages (the inventory)', ['DescribeImages']],
    ['DescribeImages and GetLifecyclePolicy', ['DescribeImages', 'GetLifecyclePolicy']],
  ])('%s failing persistently: a hold goes in, the pinned image survives ECR\'s lifecycle, the report says failed', async (_name, operations) => {
    // Prepare
    const { config, night1, installed, pinned } = await pinAppearsOnNight2();
    world.emulator.setFaults({ serverErrorEveryN: 1, operations });

    // Act
    const failing = await world.run(config);
    world.emulator.clearFaults();
    const held = await world.policyOf('app');
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(night1, 'app').actions.policyInstalled).toBe(true);
    expect(installed).toContain('team: never expire releases');
    expect(repositoryReport(failing, 'app')).toMatchObject({ status: 'failed', actions: { policyHeld: true } });
    expect(held).toMatch(/ecr-janitor: on hold/);
    expect(lifecycle.expired).toEqual([]);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
    expect(world.logs.some((l) => l.level === 'error' && /app/.test(l.message))).toBe(true);
  });

  it('GetLifecyclePolicy failing persistently: the protection tag still goes in, so the pinned image survives', async () => {
    // Prepare
    const { config, pinned } = await pinAppearsOnNight2();
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['GetLifecyclePolicy'] });

    // Act
    const failing = await world.run(config);
    world.emulator.clearFaults();
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(failing, 'app')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^lifecycle policy read: /), actions: { tagsAdded: 1 } });
    expect(lifecycle.expired).toEqual([]);
    expect(await world.tagsOf('app', pinned.digest)).toEqual([protectionTagFor(pinned.digest)]);
  });

  it("resumes after a hold whose replaced policy was unreadable with the team's rule, from the run state's copy", async () => {
    // Prepare
    const { config, installed } = await pinAppearsOnNight2();
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['DescribeImages', 'GetLifecyclePolicy'] });
    await world.run(config);
    world.emulator.clearFaults();
    const held = await world.policyOf('app');
    world.nextNight();

    // Act
    const next = await world.run(config);

    // Assess
    expect(held).toMatch(/the replaced policy is unknown/);
    expect(repositoryReport(next, 'app')).toMatchObject({ status: 'ok', actions: { policyInstalled: true } });
    expect(await world.policyOf('app')).toBe(installed);
  });

  it("resumes the night after with the team's rule back, although the run state was deleted after the hold", async () => {
    // Prepare
    const { config, installed } = await pinAppearsOnNight2();
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['DescribeImages'] });
    await world.run(config);
    world.emulator.clearFaults();
    world.nextNight();
    await rm(world.stateDir, { recursive: true, force: true });

    // Act
    const next = await world.run(config);

    // Assess
    expect(repositoryReport(next, 'app')).toMatchObject({ status: 'ok', actions: { policyInstalled: true } });
    expect(await world.policyOf('app')).toBe(installed);
  });
});

describe('lost or corrupt run state (points 3 and 4)', () => {
  it('keeps a rollback target unpinned yesterday when the state is lost (fresh --state-dir): grace restarts', async () => {
    // Prepare: an untagged image pinned on night 1 (so it carries only its protection tag), unpinned on night 2.
    await world.createRepositories('app');
    const target = await pushSingleImage(world.client, 'app', { tags: [], seed: 'rollback', bytes: SMALL });
    await pushSingleImage(world.client, 'app', { tags: ['v2'], seed: 'v2', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: target.digest, source: 'ecs:prod/api' }];
    const config = janitorConfig({ pinGraceDays: 7 });
    await world.run(config);
    world.nextNight(5);
    world.ecs.references = [];
    await rm(world.stateDir, { recursive: true, force: true });

    // Act
    const lost = await world.run(config);
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(lost, 'app').actions.tagsRemoved).toBe(0);
    expect(lifecycle.expired).toEqual([]);
    expect(await world.tagsOf('app', target.digest)).toEqual([protectionTagFor(target.digest)]);
  });

  it("writes nothing but a hold under a corrupt state file, leaves the file alone, and the team's rules come back after it is removed", async () => {
    // Prepare
    const { config, installed, pinned } = await pinAppearsOnNight2();
    const statePath = join(world.stateDir, stateFileName('app'));
    await writeFile(statePath, '{"repository": "app", "pinsLast', 'utf8');

    // Act
    const corrupt = await world.run(config);
    const held = await world.policyOf('app');
    const lifecycle = world.nextNight();
    const fileAfter = await readFile(statePath, 'utf8');
    await rm(statePath);
    const next = await world.run(config);

    // Assess
    expect(repositoryReport(corrupt, 'app')).toMatchObject({ status: 'blocked', actions: { tagsAdded: 0, tagsRemoved: 0, policyHeld: true } });
    expect(held).toMatch(/ecr-janitor: on hold/);
    expect(lifecycle.expired).toEqual([]);
    expect(fileAfter).toBe('{"repository": "app", "pinsLast');
    expect(repositoryReport(next, 'app')).toMatchObject({ status: 'ok', actions: { tagsAdded: 1, policyInstalled: true } });
    expect(await world.policyOf('app')).toBe(installed);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });
});
