// Index manifests are read once and kept in the run state: a later night reads only new indexes, and a cached text
// that no longer matches its digest is read again.
import { describe, expect, it } from 'vitest';
import { pushBuildxBuild } from '../../emulator/workload.js';
import { janitorConfig, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld();

describe('index manifests in the run state', () => {
  it('reads an index manifest once, then only new ones', async () => {
    // Prepare
    await world.createRepositories('app');
    const first = await pushBuildxBuild(world.client, 'app', { tags: ['v1'], seed: 'v1', layerBytes: SMALL });
    await pushBuildxBuild(world.client, 'app', { tags: ['v2'], seed: 'v2', layerBytes: SMALL });
    const config = janitorConfig();

    // Act
    const night1 = await world.run(config);
    world.nextNight();
    const pulledAfterNight1 = world.emulator.model.repository('app').image(first.indexDigest)!.lastPulledAt;
    const night2 = await world.run(config);
    await pushBuildxBuild(world.client, 'app', { tags: ['v3'], seed: 'v3', layerBytes: SMALL });
    world.nextNight();
    const night3 = await world.run(config);

    // Assess
    expect(night1.apiCalls.BatchGetImage).toBe(1);
    expect(night2.apiCalls.BatchGetImage ?? 0).toBe(0);
    expect(world.emulator.model.repository('app').image(first.indexDigest)!.lastPulledAt).toBe(pulledAfterNight1);
    expect(night3.apiCalls.BatchGetImage).toBe(1);
    const decisions = night3.repositories[0]!.plan!.images.filter((i) => i.kind === 'index').map((i) => i.decision);
    expect(decisions).toEqual(['keep', 'keep', 'keep']);
  });

  it('reads an index again when the cached text does not match its digest', async () => {
    // Prepare
    await world.createRepositories('app');
    const build = await pushBuildxBuild(world.client, 'app', { tags: ['v1'], seed: 'v1', layerBytes: SMALL });
    const config = janitorConfig();
    await world.run(config);
    const state = (await world.stateStore.load('app'))!;
    await world.stateStore.save({ ...state, indexManifests: { [build.indexDigest]: '{"schemaVersion":2,"manifests":[]}' } });

    // Act
    const next = await world.run(config);

    // Assess
    expect(next.apiCalls.BatchGetImage).toBe(1);
    const children = next.repositories[0]!.plan!.images.filter((i) => build.childDigests.includes(i.digest));
    expect(children.map((c) => c.decision)).toEqual(['keep', 'keep']);
    expect((await world.stateStore.load('app'))!.indexManifests![build.indexDigest]).not.toBe('{"schemaVersion":2,"manifests":[]}');
  });
});
