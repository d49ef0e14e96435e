// Red team: a fault on each ECR operation on night 2, the night a pin appears on an untagged image the installed policy
// expires within the day. Whatever fails, the pinned image must survive ECR's next lifecycle run, and the run must not
// look green (issue 9 point 2: "whenever a run cannot show that every current pin of a repository is protected while a
// janitor-written policy is installed, it puts the hold in").
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../lambda/app/report-types.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld();

const OPT_IN = { key: 'ecr-janitor', value: 'managed' };

async function pinAppearsOnNight2(configOverrides: Record<string, unknown> = {}) {
  await world.client.send(new CreateRepositoryCommand({ repositoryName: 'app', tags: [{ Key: OPT_IN.key, Value: OPT_IN.value }] }));
  await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
  const config = janitorConfig(configOverrides);
  const night1 = await world.run(config);
  world.emulator.advanceDays(1);
  const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned-late', bytes: SMALL });
  world.emulator.advanceDays(3.5);
  world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
  return { config, night1, pinned };
}

/** The run's outcome whether it reported or threw: neither may look like a clean night. */
async function runOutcome(config: Parameters<typeof world.run>[0]): Promise<{ report?: RunReport; thrown?: Error }> {
  try {
    return { report: await world.run(config) };
  } catch (error) {
    return { thrown: error as Error };
  }
}

const OPERATIONS = [
  'DescribeImages',
  'BatchGetImage',
  'GetLifecyclePolicy',
  'PutLifecyclePolicy',
  'PutImage',
  'BatchDeleteImage',
  'StartLifecyclePolicyPreview',
  'GetLifecyclePolicyPreview',
  'ListTagsForResource',
];

describe.each([
  ['persistent', 1],
  ['intermittent (every 2nd call, past the SDK retries only by chance)', 2],
])('a %s fault on night 2, with repositories.tag opt-in', (_kind, everyN) => {
  it.each(OPERATIONS)('%s: the pinned image survives and the run does not look green', async (operation) => {
    // Prepare
    const { config, night1, pinned } = await pinAppearsOnNight2({ repositories: { include: ['*'], tag: OPT_IN } });
    world.emulator.setFaults({ serverErrorEveryN: everyN, operations: [operation] });

    // Act
    const night2 = await runOutcome(config);
    world.emulator.clearFaults();
    const lifecycle = world.nextNight();

    // Assess
    expect(night1.repositories.map((r) => [r.repository, r.actions.policyInstalled])).toEqual([['app', true]]);
    expect(lifecycle.expired).toEqual([]);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
    // A failure the SDK retried away is a clean night; one that got through must show.
    const app = night2.report?.repositories.find((r) => r.repository === 'app');
    if (app === undefined) expect(night2.thrown ?? night2.report?.noRepositories).toBeDefined();
  });
});

describe('ListTagsForResource failing persistently on night 2', () => {
  it('fails that repository with its janitor-written policy on hold; a repository whose tag reads runs as usual', async () => {
    // Prepare
    const { config, pinned } = await pinAppearsOnNight2({ repositories: { include: ['*'], tag: OPT_IN } });
    await world.client.send(new CreateRepositoryCommand({ repositoryName: 'web', tags: [{ Key: OPT_IN.key, Value: OPT_IN.value }] }));
    const registry = world.newRegistry();
    const readTags = registry.repositoryTags.bind(registry);
    registry.repositoryTags = async (name) => {
      if (name === 'app') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return readTags(name);
    };
    const { runJanitor } = await import('../../lambda/app/run-janitor.js');

    // Act
    const report = await runJanitor({ registry, pinSources: [world.ecs, world.lambda], stateStore: world.stateStore, clock: world.clock, log: world.log }, { config, mode: 'run' });
    const held = await world.policyOf('app');
    world.nextNight();

    // Assess
    expect(report.repositories.find((r) => r.repository === 'app')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^repository tag read: .*ThrottlingException/), actions: { policyHeld: true } });
    expect(report.repositories.find((r) => r.repository === 'web')).toMatchObject({ status: 'ok', actions: { policyInstalled: true } });
    expect(held).toMatch(/ecr-janitor: on hold/);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });
});

describe('DescribeRepositories failing persistently on night 2', () => {
  // The scheduled run learns the repository names from DescribeRepositories. When that fails past the SDK's retries,
  // the repositories the run state names still get their hold: the pin that appears that night is not expired.
  it('the pinned image survives, and the repository is reported failed with a hold', async () => {
    // Prepare
    const { config, pinned } = await pinAppearsOnNight2();
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['DescribeRepositories'] });

    // Act
    const outcome = await runOutcome(config);
    world.emulator.clearFaults();
    world.nextNight();

    // Assess
    expect(outcome.report?.repositories.find((r) => r.repository === 'app')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^repository listing: the registry's repositories could not be listed/),
      actions: { policyHeld: true },
    });
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });
});

describe('night 2 changes the config, so a new policy must pass the preview, while a pin appears', () => {
  const night2Config = () => janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 20 }] });

  it.each([
    ['StartLifecyclePolicyPreview fails persistently', { serverErrorEveryN: 1, operations: ['StartLifecyclePolicyPreview'] }],
    ['GetLifecyclePolicyPreview fails persistently', { serverErrorEveryN: 1, operations: ['GetLifecyclePolicyPreview'] }],
    ['PutLifecyclePolicy fails persistently', { serverErrorEveryN: 1, operations: ['PutLifecyclePolicy'] }],
    ['the preview ends EXPIRED', { previewOutcome: 'EXPIRED' as const }],
    ['the preview ends FAILED', { previewOutcome: 'FAILED' as const }],
  ])('%s: the pin survives, the old policy stays, the run is not ok', async (_name, faults) => {
    // Prepare
    const { pinned, night1 } = await pinAppearsOnNight2();
    const before = await world.policyOf('app');
    world.emulator.setFaults(faults);

    // Act
    const night2 = await runOutcome(night2Config());
    world.emulator.clearFaults();
    const after = await world.policyOf('app');
    const lifecycle = world.nextNight();

    // Assess
    expect(night1.repositories[0]!.actions.policyInstalled).toBe(true);
    expect(night2.report?.repositories[0]?.status).not.toBe('ok');
    expect(night2.report?.repositories[0]?.actions.policyInstalled).toBe(false);
    expect(after).toBe(before);
    expect(lifecycle.expired).toEqual([]);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });
});
