// Skip what did not change (issue 11 point 4), against the emulator: the second unchanged night confirms the
// repository without DescribeImages; a push between nights, marked by its ECR event, makes the next night read it whole.
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { deliver, describeCalls, ecrImageEvent, markedRun, memoryChangeMarks } from '../support/change-marks.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app', 'web'] });

describe('a night with change marks', () => {
  it('confirms an unchanged repository without reading its images, with the last full read’s totals', async () => {
    // Prepare: night 1 reads both repositories whole and installs the policy.
    const config = janitorConfig();
    const marks = memoryChangeMarks();
    const v1 = await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await pushSingleImage(world.client, 'web', { tags: ['v1'], seed: 'web-v1', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: v1.digest, source: 'ecs:prod/app' }];
    const first = await markedRun(world, config, marks);
    // ECR announces the janitor's own protection tag as a push: it only adds protection, so it marks nothing.
    await deliver(world, config, marks, ecrImageEvent('PUSH', 'app', v1.digest, world.clock.now(), protectionTagFor(v1.digest)));
    world.nextNight();

    // Act
    const second = await markedRun(world, config, marks);

    // Assess
    expect(describeCalls(first)).toBe(2);
    expect(repositoryReport(first, 'app').actions).toMatchObject({ policyInstalled: true, tagsAdded: 1 });
    expect(marks.marks.size).toBe(0);
    expect(describeCalls(second)).toBe(0);
    expect(second.apiCalls.GetLifecyclePolicy).toBe(2);
    expect(repositoryReport(second, 'app')).toMatchObject({
      status: 'ok',
      unchanged: expect.stringMatching(/^unchanged since 2026-01-01T00:00:00\.000Z, confirmed by no ECR push or delete marked since/),
      reaped: { images: 0, bytes: 0 },
      protected: repositoryReport(first, 'app').protected,
      pendingExpiry: repositoryReport(first, 'app').pendingExpiry,
    });
    expect(world.logs.some((l) => l.level === 'info' && /repository app: ok, unchanged since/.test(l.message))).toBe(true);
  });

  it('reads a repository whole the night after a push whose event marked it, and only that repository', async () => {
    // Prepare
    const config = janitorConfig();
    const marks = memoryChangeMarks();
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await pushSingleImage(world.client, 'web', { tags: ['v1'], seed: 'web-v1', bytes: SMALL });
    await markedRun(world, config, marks);
    world.nextNight();
    world.emulator.advanceDays(0.5);
    const v2 = await pushSingleImage(world.client, 'app', { tags: ['v2'], seed: 'v2', bytes: SMALL });
    const event = await deliver(world, config, marks, ecrImageEvent('PUSH', 'app', v2.digest, world.clock.now(), 'v2'));
    world.nextNight(0.5);

    // Act
    const night = await markedRun(world, config, marks);
    const after = await markedRun(world, config, marks);

    // Assess
    expect(event.changeMarked).toEqual({ repository: 'app', time: marks.marks.get('app') });
    expect(describeCalls(night)).toBe(1);
    expect(repositoryReport(night, 'app').unchanged).toBeUndefined();
    expect(repositoryReport(night, 'web').unchanged).toMatch(/^unchanged since/);
    expect(world.logs.some((l) => /repository app: read whole: ECR reported a push or delete at/.test(l.message))).toBe(true);
    expect(describeCalls(after)).toBe(0);
  });

  it('catches up on what expired while it was skipped at the next full read', async () => {
    // Prepare: an untagged image is due 3 days after its push; the night it falls due is read whole and the image
    // ECR expired since is counted as reaped then.
    const config = janitorConfig({ untaggedExpireDays: 3 });
    const marks = memoryChangeMarks();
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await pushSingleImage(world.client, 'app', { tags: [], seed: 'old-build', bytes: SMALL });
    await markedRun(world, config, marks);
    world.nextNight();
    const skipped = await markedRun(world, config, marks);
    world.nextNight();
    const skippedAgain = await markedRun(world, config, marks);
    const expiry = world.nextNight(1.5);

    // Act
    const due = await markedRun(world, config, marks);

    // Assess
    expect(describeCalls(skipped)).toBe(0);
    expect(describeCalls(skippedAgain)).toBe(0);
    expect(expiry.expired).toHaveLength(1);
    expect(world.logs.some((l) => /repository app: read whole: a decision of the last plan falls due by time/.test(l.message))).toBe(true);
    expect(describeCalls(due)).toBe(1);
    expect(repositoryReport(due, 'app').reaped.images).toBe(1);
  });

  it('never skips without change marks (the CLI) or in a dry run', async () => {
    // Prepare
    const config = janitorConfig();
    const marks = memoryChangeMarks();
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await markedRun(world, config, marks);
    world.nextNight();

    // Act
    const cli = await world.run(config);
    const dryRun = await markedRun(world, { ...config, dryRun: true }, marks);

    // Assess
    expect(describeCalls(cli)).toBe(2);
    expect(describeCalls(dryRun)).toBe(2);
  });
});
