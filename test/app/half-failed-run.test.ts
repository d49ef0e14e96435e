// A repository that fails after writing says what it did and what it did not; one that fails before writing says so.
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld();

describe('a run that half-fails', () => {
  it('reports the writes done before the state could not be saved', async () => {
    // Prepare: a pinned image to tag, and a state store that accepts reads but not writes.
    await world.createRepositories('app');
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
    const store = world.stateStore;
    world.stateStore = { load: (repository) => store.load(repository), save: async () => Promise.reject(new Error('AccessDenied')) };

    // Act
    const report = await world.run(janitorConfig());

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app).toMatchObject({ status: 'failed', error: 'state save: AccessDenied', actions: { tagsAdded: 1, policyInstalled: true } });
    expect(app.actions.notDone).toEqual(['state save stopped part way: the writes counted under actions were done, the rest waits for the next run']);
  });

  it('says nothing changed when it fails before writing', async () => {
    // Prepare
    await world.createRepositories('app');
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['DescribeImages'] });

    // Act
    const report = await world.run(janitorConfig());

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app.status).toBe('failed');
    expect(app.error).toMatch(/^inventory: /);
    expect(app.actions.notDone).toEqual(['everything after inventory: the repository was left as it was']);
  });
});
