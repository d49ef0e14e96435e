// Issue 10 "Done when": a deployment between two nightly runs, announced by an ECS Task State Change event, uses a CI
// image that CI then ranks out of the newest 25, and ECR's lifecycle runs before the next nightly run. With the event
// path the image survives; without it ECR expires it. Runs through the Lambda handler against the emulator
// (pessimistic profile, test/support/emulator-janitor.ts).
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
import { ecsTaskEvent, HOST } from './support.js';

const CONFIG = { maxExpireShare: 1, pins: { ecs: false, lambda: false }, ciTags: [{ pattern: 'ci-*', keep: 25 }] };
const HOUR = 3_600_000;

describe('event-driven protection end to end (ECS Task State Change)', () => {
  const world = useJanitorWorld({ repositories: ['app', 'other'] });

  /** The handler as deployed: the emulator behind the ECR adapter and the cheap DescribeImages-by-id lookup. */
  function handler(config: Record<string, unknown> = CONFIG) {
    const base = world.wiring();
    const wiring: Wiring = (...args) => ({ ...base(...args), imageLookup: createEcrImageLookup(makeEmulatorClient(world.emulator.endpoint)) });
    return makeHandler(wiring, { JANITOR_CONFIG: JSON.stringify(config) });
  }

  async function pushBuilds(from: number, count: number): Promise<Map<number, string>> {
    const digests = new Map<number, string>();
    for (let n = from; n < from + count; n++) {
      world.emulator.setClock(world.emulator.now() + 10 * 60_000);
      digests.set(n, (await pushSingleImage(world.client, 'app', { tags: [`ci-${n}`], seed: `build-${n}`, bytes: SMALL })).digest);
    }
    return digests;
  }

  /** Night 0 run, a deployment of ci-30 at 14:00 the next day, 30 more CI builds, then ECR's lifecycle. */
  async function deploymentBetweenRuns(eventPath: boolean) {
    const first = await pushBuilds(1, 30);
    const deployed = first.get(30)!;
    const night0 = await handler()({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, LAMBDA_CONTEXT);
    world.emulator.setClock(T0 + DAY + 14 * HOUR);
    const event = ecsTaskEvent([{ image: `${HOST}/app:ci-30`, imageDigest: deployed }]);
    const result = eventPath ? await handler()(event, LAMBDA_CONTEXT) : undefined;
    await pushBuilds(31, 30);
    world.emulator.setClock(T0 + DAY + 22 * HOUR);
    const lifecycle = world.emulator.runLifecycle();
    return { deployed, night0, result, lifecycle };
  }

  it('keeps the deployed CI image through ECR lifecycle when the event path is on', async () => {
    // Act
    const { deployed, night0, result, lifecycle } = await deploymentBetweenRuns(true);

    // Assess
    expect(night0.failed).toBe(0);
    expect(result?.event).toMatchObject({ kind: 'ecs-task', failed: 0, repositories: [{ repository: 'app', tagged: [deployed], recorded: [deployed] }] });
    expect(lifecycle.expired.map((e) => e.digest)).not.toContain(deployed);
    expect(await world.tagsOf('app', deployed)).toEqual(['ci-30', protectionTagFor(deployed)].sort());
    const state = JSON.parse(await readFile(join(world.stateDir, stateFileName('app')), 'utf8'));
    expect(state.pinsLastSeen[deployed]).toBe(T0 + DAY + 14 * HOUR);
  });

  it('loses the deployed CI image when the event path is off (the gap the event path closes)', async () => {
    // Act
    const { deployed, lifecycle } = await deploymentBetweenRuns(false);

    // Assess
    expect(lifecycle.expired.map((e) => e.digest)).toContain(deployed);
    expect(await world.tagsOf('app', deployed)).toBeUndefined();
  });

  it('the next nightly run keeps the event pin in grace after the task is gone, and a repeated event writes nothing', async () => {
    // Prepare
    const { deployed } = await deploymentBetweenRuns(true);
    const before = world.emulator.stats();
    const stateBefore = await readFile(join(world.stateDir, stateFileName('app')), 'utf8');

    // Act
    const again = await handler()(ecsTaskEvent([{ image: `${HOST}/app:ci-30`, imageDigest: deployed }, { image: `${HOST}/app@${deployed}` }]), LAMBDA_CONTEXT);
    const calls = callsBetween(before, world.emulator.stats());
    const stateAfter = await readFile(join(world.stateDir, stateFileName('app')), 'utf8');
    world.emulator.setClock(T0 + 2 * DAY);
    const night1 = await world.run(janitorConfig(CONFIG));

    // Assess
    expect(again.event).toMatchObject({ repositories: [{ repository: 'app', tagged: [], alreadyTagged: [deployed], recorded: [] }] });
    expect(calls).toEqual({ DescribeImages: 1 });
    expect(stateAfter).toBe(stateBefore);
    expect(decisionOf(night1, 'app', deployed)).toMatchObject({ decision: 'protect', reason: expect.stringMatching(/pin last seen 0 day\(s\) ago/) });
  });

  it('ignores images of another registry and of unmanaged repositories, writing nothing', async () => {
    // Prepare
    const image = await pushSingleImage(world.client, 'other', { tags: ['v1'], seed: 'other', bytes: SMALL });
    const before = world.emulator.stats();
    const event = ecsTaskEvent([
      { image: `111122223333.dkr.ecr.us-east-1.amazonaws.com/app:v1`, imageDigest: image.digest },
      { image: `${HOST}/other:v1`, imageDigest: image.digest },
      { image: 'public.ecr.aws/nginx/nginx:1.27' },
    ]);

    // Act
    const result = await handler({ ...CONFIG, repositories: { include: ['app'] } })(event, LAMBDA_CONTEXT);

    // Assess
    expect(result.event?.repositories).toEqual([]);
    expect(result.event?.ignored.map((i) => i.reason)).toEqual([
      'not an ECR image',
      expect.stringMatching(/^registry 111122223333\/us-east-1 is not this janitor's/),
      'repository not managed (repositories.include/exclude)',
    ]);
    expect(callsBetween(before, world.emulator.stats())).toEqual({});
    expect(await world.tagsOf('other', image.digest)).toEqual(['v1']);
    expect(world.logs.some((l) => l.level === 'info' && /not handled by this janitor/.test(l.message))).toBe(true);
  });

  it('protects by tag when the task has no digest yet, and leaves the state alone before the first nightly run', async () => {
    // Prepare
    const image = await pushSingleImage(world.client, 'app', { tags: ['1.4'], seed: 'release', bytes: SMALL });

    // Act
    const result = await handler()(ecsTaskEvent([{ image: `${HOST}/app:1.4` }]), LAMBDA_CONTEXT);

    // Assess
    expect(result.event?.repositories[0]).toMatchObject({ tagged: [image.digest], recorded: [], stateNotWritten: expect.stringMatching(/^no run state yet/) });
    expect(await world.tagsOf('app', image.digest)).toEqual(['1.4', protectionTagFor(image.digest)].sort());
    await expect(readFile(join(world.stateDir, stateFileName('app')), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
