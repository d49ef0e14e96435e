// Issue 10 "ECR push events where a tag moved": CI moves `main` to a new image between two nightly runs; the image
// `main` left may still run (a service deployed by tag resolved to it), and, now untagged, ECR's next lifecycle run
// expires it once it is older than untaggedExpireDays. The ECR push event ("Amazon ECR events and EventBridge", ECR
// user guide: detail-type "ECR Image Action", action-type PUSH, image-tag, image-digest) names only the new image, so
// the event path finds the one the tag left from the last run's tag map in the run state. Runs through the Lambda
// handler against the emulator (pessimistic profile).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEmulatorClient } from '../../emulator/server.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { createEcrImageLookup } from '../../lambda/adapters/ecr-image-lookup.js';
import { stateFileName } from '../../lambda/adapters/state-file.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { makeHandler, type Wiring } from '../../lambda/handler.js';
import { callsBetween, DAY, decisionOf, janitorConfig, LAMBDA_CONTEXT, SMALL, T0, useJanitorWorld } from '../support/emulator-janitor.js';
import { ecrPushEvent } from './support.js';

const CONFIG = { maxExpireShare: 1, pins: { ecs: false, lambda: false }, untaggedExpireDays: 1 };
const HOUR = 3_600_000;
const SCHEDULED = { source: 'aws.events', 'detail-type': 'Scheduled Event' };

describe('event-driven protection end to end (ECR push that moved a tag)', () => {
  const world = useJanitorWorld({ repositories: ['app'] });

  function handler() {
    const base = world.wiring();
    const wiring: Wiring = (...args) => ({ ...base(...args), imageLookup: createEcrImageLookup(makeEmulatorClient(world.emulator.endpoint)) });
    return makeHandler(wiring, { JANITOR_CONFIG: JSON.stringify(CONFIG) });
  }

  async function pushMain(seed: string): Promise<string> {
    return (await pushSingleImage(world.client, 'app', { tags: ['main'], seed, bytes: SMALL })).digest;
  }

  async function readState() {
    return JSON.parse(await readFile(join(world.stateDir, stateFileName('app')), 'utf8'));
  }

  /** `main` -> old at T0, night 1, CI moves `main` at 14:00 the next day, then ECR's lifecycle at 22:00 (old is 46 h old). */
  async function tagMovedBetweenRuns(eventPath: boolean) {
    const old = await pushMain('main-1');
    world.emulator.setClock(T0 + DAY);
    const night1 = await handler()(SCHEDULED, LAMBDA_CONTEXT);
    world.emulator.setClock(T0 + DAY + 14 * HOUR);
    const current = await pushMain('main-2');
    const result = eventPath ? await handler()(ecrPushEvent('app', current, 'main'), LAMBDA_CONTEXT) : undefined;
    world.emulator.setClock(T0 + DAY + 22 * HOUR);
    const lifecycle = world.emulator.runLifecycle();
    return { old, current, night1, result, lifecycle };
  }

  it('keeps the image the tag left through ECR lifecycle when the push event is handled', async () => {
    // Act
    const { old, current, night1, result, lifecycle } = await tagMovedBetweenRuns(true);

    // Assess
    expect(night1.failed).toBe(0);
    expect(result?.event).toMatchObject({ kind: 'ecr-push', failed: 0, repositories: [{ repository: 'app', tagLeft: old, tagged: [old], recorded: [old] }] });
    expect(lifecycle.expired.map((e) => e.digest)).not.toContain(old);
    expect(await world.tagsOf('app', old)).toEqual([protectionTagFor(old)]);
    const state = await readState();
    expect(state.pinsLastSeen[old]).toBe(T0 + DAY + 14 * HOUR);
    // The tag map follows the push, so a second move before the nightly run finds the image this push tagged.
    expect(state.lastInventory.tags).toEqual({ main: current });
  });

  it('loses the image the tag left when the push event is not handled (the gap the event closes)', async () => {
    // Act
    const { old, lifecycle } = await tagMovedBetweenRuns(false);

    // Assess
    expect(lifecycle.expired.map((e) => e.digest)).toContain(old);
    expect(await world.tagsOf('app', old)).toBeUndefined();
  });

  it('a repeated push event costs no call and no write, and the next nightly run keeps the image in grace', async () => {
    // Prepare
    const { old, current } = await tagMovedBetweenRuns(true);
    const before = world.emulator.stats();
    const stateBefore = await readFile(join(world.stateDir, stateFileName('app')), 'utf8');

    // Act
    const again = await handler()(ecrPushEvent('app', current, 'main'), LAMBDA_CONTEXT);
    const calls = callsBetween(before, world.emulator.stats());
    const stateAfter = await readFile(join(world.stateDir, stateFileName('app')), 'utf8');
    world.emulator.setClock(T0 + 2 * DAY);
    const night2 = await world.run(janitorConfig(CONFIG));

    // Assess
    expect(again.event?.repositories).toEqual([expect.objectContaining({ repository: 'app', tagged: [], alreadyTagged: [], recorded: [] })]);
    expect(calls).toEqual({});
    expect(stateAfter).toBe(stateBefore);
    expect(decisionOf(night2, 'app', old)).toMatchObject({ decision: 'protect', reason: expect.stringMatching(/pin last seen 0 day\(s\) ago/) });
  });

  it('a second move before the nightly run protects the image the first push tagged', async () => {
    // Prepare
    const { current: second } = await tagMovedBetweenRuns(true);
    const third = await pushMain('main-3');

    // Act
    const result = await handler()(ecrPushEvent('app', third, 'main'), LAMBDA_CONTEXT);

    // Assess
    expect(result.event?.repositories[0]).toMatchObject({ tagLeft: second, tagged: [second], recorded: [second] });
    expect(await world.tagsOf('app', second)).toEqual([protectionTagFor(second)]);
    expect((await readState()).lastInventory.tags).toEqual({ main: third });
  });

  it('protects nothing for a push of a new tag, of the same digest, or before the first nightly run', async () => {
    // Prepare
    const first = await pushMain('main-1');
    const beforeRun = await handler()(ecrPushEvent('app', first, 'main'), LAMBDA_CONTEXT);
    world.emulator.setClock(T0 + DAY);
    await handler()(SCHEDULED, LAMBDA_CONTEXT);
    const release = (await pushSingleImage(world.client, 'app', { tags: ['1.0'], seed: 'release', bytes: SMALL })).digest;
    await pushSingleImage(world.client, 'app', { tags: ['main'], seed: 'main-1', bytes: SMALL });

    // Act
    const newTag = await handler()(ecrPushEvent('app', release, '1.0'), LAMBDA_CONTEXT);
    const samePush = await handler()(ecrPushEvent('app', first, 'main'), LAMBDA_CONTEXT);

    // Assess
    expect(beforeRun.event?.repositories[0]).toMatchObject({ tagged: [], stateNotWritten: expect.stringMatching(/^no run state yet/) });
    for (const result of [newTag, samePush]) expect(result.event?.repositories[0]).toMatchObject({ tagged: [], alreadyTagged: [], recorded: [], unresolved: [] });
    expect(await world.tagsOf('app', first)).toEqual(['main']);
    expect((await readState()).lastInventory.tags).toEqual({ main: first, '1.0': release });
  });
});
