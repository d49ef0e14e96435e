// Red team: a run state that exists but does not know about a protection tag (a save that failed, a run that
// overlapped another) must not end a pin's protection. Issue 9 point 3: "the janitor never deletes an image by removing
// its last tag unless its state proves the grace has passed".
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import type { StateStore } from '../../lambda/app/ports.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld();

describe('a run state that does not know a protection tag', () => {
  it('keeps a pinned image protected for the grace although the state save of the night it was pinned failed', async () => {
    // Prepare: night 1 installs the policy; an untagged image pushed then is pinned on night 5 (its protection tag is
    // its only tag), but that night's state save fails, so the state on disk is night 4's. On night 6 the pin is gone.
    const config = janitorConfig({ pinGraceDays: 7 });
    await world.client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    const rollback = await pushSingleImage(world.client, 'app', { tags: [], seed: 'rollback', bytes: SMALL });
    await pushSingleImage(world.client, 'app', { tags: ['v2'], seed: 'v2', bytes: SMALL });
    world.ecs.references = [];
    await world.run(config);
    world.emulator.advanceDays(3.5);
    world.ecs.references = [{ repository: 'app', digest: rollback.digest, source: 'ecs:prod/rollback' }];
    const store = world.stateStore;
    world.stateStore = { load: (repository) => store.load(repository), save: async () => { throw new Error('SlowDown: S3 is busy'); } } satisfies StateStore;
    const pinnedNight = await world.run(config);
    world.stateStore = store;
    world.nextNight();
    world.ecs.references = [];

    // Act
    const afterPin = await world.run(config);
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(pinnedNight, 'app')).toMatchObject({ status: 'failed', actions: { tagsAdded: 1 } });
    expect(repositoryReport(afterPin, 'app').actions.tagsRemoved).toBe(0);
    expect(lifecycle.expired).toEqual([]);
    expect(await world.resolvable('app', [rollback.digest])).toEqual(new Set([rollback.digest]));
    expect(await world.tagsOf('app', rollback.digest)).toEqual([protectionTagFor(rollback.digest)]);
  });

  it('does not delete an image a run overlapping it has just pinned (two runs at once, the state read before the other saved)', async () => {
    // Prepare: run A discovers no pin, reads the state, and while it reads the policy run B (which sees the new pin)
    // runs to the end: B tags the pinned untagged image and saves its state. A's inventory then shows the tag.
    const config = janitorConfig({ pinGraceDays: 7 });
    await world.client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'hotfix', bytes: SMALL });
    await pushSingleImage(world.client, 'app', { tags: ['v2'], seed: 'v2', bytes: SMALL });
    await world.run(config);
    world.emulator.advanceDays(3.5);
    const registryA = world.newRegistry();
    const getPolicy = registryA.getLifecyclePolicy.bind(registryA);
    let runB: Awaited<ReturnType<typeof world.run>> | undefined;
    registryA.getLifecyclePolicy = async (repository) => {
      world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/hotfix' }];
      runB = await world.run(config);
      return getPolicy(repository);
    };

    // Act
    const runA = await runJanitor(
      { registry: registryA, pinSources: [world.ecs, world.lambda], stateStore: world.stateStore, clock: world.clock, log: world.log },
      { config, mode: 'run' },
    );
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(runB!, 'app'), JSON.stringify(repositoryReport(runB!, 'app'))).toMatchObject({ actions: { tagsAdded: 1 } });
    expect(repositoryReport(runA, 'app').actions.tagsRemoved).toBe(0);
    expect(lifecycle.expired).toEqual([]);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });

  it("does not overwrite the hold an overlapping run put in while this run was previewing its policy", async () => {
    // Prepare: run A (no pin known, a new policy to install) previews; meanwhile run B sees a new pin on an old
    // untagged image, cannot tag it (PutImage fails) and puts a hold in. A then installs its policy over the hold.
    await world.client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await world.run(janitorConfig());
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    world.emulator.advanceDays(3.5);
    const changed = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 20 }] });
    const registryA = world.newRegistry();
    const preview = registryA.previewLifecyclePolicy.bind(registryA);
    let runB: Awaited<ReturnType<typeof world.run>> | undefined;
    registryA.previewLifecyclePolicy = async (repository, text) => {
      const result = await preview(repository, text);
      world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/hotfix' }];
      world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['PutImage'] });
      runB = await world.run(changed);
      world.emulator.clearFaults();
      return result;
    };

    // Act
    const runA = await runJanitor(
      { registry: registryA, pinSources: [world.ecs, world.lambda], stateStore: world.stateStore, clock: world.clock, log: world.log },
      { config: changed, mode: 'run' },
    );
    const policy = await world.policyOf('app');
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(runB!, 'app').actions.policyHeld).toBe(true);
    expect(repositoryReport(runA, 'app').actions.policyInstalled).toBe(false);
    expect(policy).toMatch(/ecr-janitor: on hold/);
    expect(lifecycle.expired).toEqual([]);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });
});
