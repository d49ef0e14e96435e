// Red team of "skip what did not change" (issue 11 point 4): each attack tries to make a night confirm a repository
// that changed, and each must end with the live image kept. ECR events are best effort ("Amazon ECR events and
// EventBridge", ECR user guide: "Events are emitted on a best effort basis"), so late, doubled and lost events are
// part of the game; the weekly full read (fullReadEveryDays) is the backstop for a lost one.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { stateFileName } from '../../lambda/adapters/state-file.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { deliver, describeCalls, ecrImageEvent, markedRun, memoryChangeMarks } from '../support/change-marks.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app'] });
// One CI image kept: every push makes the older ones expire, unless protected.
const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 1 }], untaggedExpireDays: 3 });

const readWhole = (reason: RegExp) => world.logs.some((l) => l.message.startsWith('repository app: read whole:') && reason.test(l.message));

/** Night 1: ci-1 runs in ECS (pinned by digest), read whole, protected, policy installed. */
async function pinnedCiImage() {
  const marks = memoryChangeMarks();
  const live = await pushSingleImage(world.client, 'app', { tags: ['ci-1'], seed: 'ci-1', bytes: SMALL });
  world.ecs.references = [{ repository: 'app', digest: live.digest, source: 'ecs:prod/api' }];
  const first = await markedRun(world, config, marks);
  expect(repositoryReport(first, 'app').actions).toMatchObject({ tagsAdded: 1, policyInstalled: true });
  return { marks, live };
}

/** A service runs `prod` (a pin by tag); after a clean night, `prod` moves to a new image half a day later. */
async function prodPinnedThenMoved() {
  const marks = memoryChangeMarks();
  const old = await pushSingleImage(world.client, 'app', { tags: ['prod'], seed: 'prod-1', bytes: SMALL });
  world.ecs.references = [{ repository: 'app', tag: 'prod', source: 'ecs:prod/api' }];
  await markedRun(world, config, marks);
  world.emulator.advanceDays(0.5);
  const moved = await pushSingleImage(world.client, 'app', { tags: ['prod'], seed: 'prod-2', bytes: SMALL });
  return { marks, old, moved };
}

describe('skip what did not change, attacked', () => {
  it('a push whose event arrives late, and twice: the night after it arrives reads whole, once', async () => {
    // Prepare: ci-2 is pushed half a day after night 1; its event is held back past night 2.
    const { marks, live } = await pinnedCiImage();
    world.emulator.advanceDays(0.5);
    const pushedAt = world.clock.now();
    const next = await pushSingleImage(world.client, 'app', { tags: ['ci-2'], seed: 'ci-2', bytes: SMALL });
    world.nextNight(0.5);
    const beforeEvent = await markedRun(world, config, marks);
    const late = ecrImageEvent('PUSH', 'app', next.digest, pushedAt, 'ci-2');
    await deliver(world, config, marks, late);
    await deliver(world, config, marks, late);
    world.nextNight();

    // Act
    const afterEvent = await markedRun(world, config, marks);
    world.nextNight();
    const following = await markedRun(world, config, marks);
    world.nextNight();

    // Assess
    expect(describeCalls(beforeEvent), JSON.stringify(world.logs.filter((l) => /read whole/.test(l.message)).map((l) => l.message))).toBe(0);
    expect(marks.writes).toBe(1);
    expect(describeCalls(afterEvent)).toBe(1);
    expect(readWhole(/ECR reported a push or delete/)).toBe(true);
    expect(describeCalls(following), JSON.stringify(world.logs.filter((l) => /read whole/.test(l.message)).map((l) => l.message))).toBe(0);
    expect(await world.resolvable('app', [live.digest])).toEqual(new Set([live.digest]));
  });

  it('an event lost: the tag a service runs by moves unseen, and the weekly full read catches it', async () => {
    // Prepare: the service runs `prod` (a pin by tag, resolved at each full read). `prod` moves to a new image and
    // EventBridge never delivers the push.
    const { marks, old, moved } = await prodPinnedThenMoved();
    world.nextNight(0.5);
    const skipped: number[] = [];
    for (let night = 1; night < 7; night++) {
      skipped.push(describeCalls(await markedRun(world, config, marks)));
      world.nextNight();
    }

    // Act
    const weekly = await markedRun(world, config, marks);
    world.nextNight(4);

    // Assess
    expect(skipped).toEqual([0, 0, 0, 0, 0, 0]);
    expect(describeCalls(weekly)).toBe(1);
    expect(readWhole(/the last full read .* is 7 day\(s\) old or more/)).toBe(true);
    expect(await world.tagsOf('app', moved.digest)).toEqual([protectionTagFor(moved.digest), 'prod'].sort());
    expect(await world.resolvable('app', [old.digest, moved.digest])).toEqual(new Set([old.digest, moved.digest]));
  });

  it('a tag moved to another image is a push: the image it left is protected at once, the new one the next night', async () => {
    // Prepare
    const { marks, old, moved } = await prodPinnedThenMoved();
    const event = await deliver(world, config, marks, ecrImageEvent('PUSH', 'app', moved.digest, world.clock.now(), 'prod'));
    world.nextNight(0.5);

    // Act
    const night = await markedRun(world, config, marks);
    world.nextNight(5);

    // Assess
    expect(event.changeMarked?.repository).toBe('app');
    expect(describeCalls(night)).toBe(1);
    expect(repositoryReport(night, 'app').actions.tagsAdded).toBe(1);
    expect(await world.resolvable('app', [old.digest, moved.digest])).toEqual(new Set([old.digest, moved.digest]));
  });

  it('a pin appearing by digest on an existing untagged image: read whole and protected before its expiry age', async () => {
    // Prepare: an untagged build the untagged rule expires after 3 days; on day 1 a service starts running it.
    const marks = memoryChangeMarks();
    await pushSingleImage(world.client, 'app', { tags: ['ci-1'], seed: 'ci-1', bytes: SMALL });
    const hotfix = await pushSingleImage(world.client, 'app', { tags: [], seed: 'hotfix', bytes: SMALL });
    await markedRun(world, config, marks);
    world.nextNight();
    world.ecs.references = [{ repository: 'app', digest: hotfix.digest, source: 'ecs:prod/hotfix' }];

    // Act
    const night = await markedRun(world, config, marks);
    world.nextNight(5);

    // Assess
    expect(describeCalls(night)).toBe(1);
    expect(readWhole(/pin references naming this repository changed/)).toBe(true);
    expect(repositoryReport(night, 'app').actions.tagsAdded).toBe(1);
    expect(await world.resolvable('app', [hotfix.digest])).toEqual(new Set([hotfix.digest]));
  });

  it('a person moves a protection tag onto another image: marked, read whole, the pinned image protected again', async () => {
    // Prepare
    const { marks, live } = await pinnedCiImage();
    world.emulator.advanceDays(0.5);
    const other = await pushSingleImage(world.client, 'app', { tags: [protectionTagFor(live.digest)], seed: 'other', bytes: SMALL });
    await deliver(world, config, marks, ecrImageEvent('PUSH', 'app', other.digest, world.clock.now(), protectionTagFor(live.digest)));
    world.emulator.advanceDays(0.5);

    // Act
    const night = await markedRun(world, config, marks);
    world.nextNight(2);

    // Assess
    expect(marks.marks.has('app')).toBe(true);
    expect(describeCalls(night)).toBe(1);
    expect(await world.tagsOf('app', live.digest)).toContain(protectionTagFor(live.digest));
    expect(await world.resolvable('app', [live.digest])).toEqual(new Set([live.digest]));
  });

  it('a policy changed by a person is seen the next night, not confirmed', async () => {
    // Prepare: someone replaces the policy with one keeping only the newest image, whatever its tags.
    const { marks, live } = await pinnedCiImage();
    world.emulator.advanceDays(0.5);
    await pushSingleImage(world.client, 'app', { tags: ['v2'], seed: 'v2', bytes: SMALL });
    await world.client.send(
      new PutLifecyclePolicyCommand({
        repositoryName: 'app',
        lifecyclePolicyText: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }] }),
      }),
    );
    world.emulator.advanceDays(0.5);

    // Act
    const night = await markedRun(world, config, marks);
    world.nextNight(2);

    // Assess
    expect(describeCalls(night)).toBe(1);
    expect(readWhole(/policy in force is not the one the last run left/)).toBe(true);
    expect(await world.resolvable('app', [live.digest])).toEqual(new Set([live.digest]));
  });

  it('a run state edited to claim a later read is distrusted: read whole', async () => {
    // Prepare: a push is marked, then the state is edited so its last read looks later than the mark.
    const { marks, live } = await pinnedCiImage();
    world.emulator.advanceDays(0.5);
    const next = await pushSingleImage(world.client, 'app', { tags: ['ci-2'], seed: 'ci-2', bytes: SMALL });
    await deliver(world, config, marks, ecrImageEvent('PUSH', 'app', next.digest, world.clock.now(), 'ci-2'));
    const path = join(world.stateDir, stateFileName('app'));
    const stored = JSON.parse(await readFile(path, 'utf8')) as { unchanged: { readStartedAt: number } };
    stored.unchanged.readStartedAt = world.clock.now() + 3_600_000;
    await writeFile(path, JSON.stringify(stored));
    world.emulator.advanceDays(0.5);

    // Act
    const night = await markedRun(world, config, marks);
    world.nextNight(2);

    // Assess
    expect(describeCalls(night)).toBe(1);
    expect(readWhole(/run state not trusted/)).toBe(true);
    expect(await world.resolvable('app', [live.digest])).toEqual(new Set([live.digest]));
  });

  it('change marks that cannot be read: read whole', async () => {
    // Prepare
    const { marks, live } = await pinnedCiImage();
    world.emulator.advanceDays(0.5);
    const next = await pushSingleImage(world.client, 'app', { tags: ['ci-2'], seed: 'ci-2', bytes: SMALL });
    await deliver(world, config, marks, ecrImageEvent('PUSH', 'app', next.digest, world.clock.now(), 'ci-2'));
    marks.unreadable = 'Access Denied';
    world.emulator.advanceDays(0.5);

    // Act
    const night = await markedRun(world, config, marks);
    world.nextNight(2);

    // Assess
    expect(describeCalls(night)).toBe(1);
    expect(readWhole(/change marks unreadable \(AccessDenied: Access Denied\)/)).toBe(true);
    expect(await world.resolvable('app', [live.digest])).toEqual(new Set([live.digest]));
  });
});
