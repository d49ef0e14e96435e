// The preview pipeline's one loop at scale (lambda/app/preview-pipeline.ts): a COMPLETE answer of a big repository is
// read page after page (GetLifecyclePolicyPreview returns at most 100 results a call, API reference), which can take a
// minute. That read must not hold back the polls of the other previews, nor count as the preview's duration (the loop
// waits about one duration before it reads a preview: a minute there would leave every later policy a minute late).
import { describe, expect, it } from 'vitest';
import type { PolicyPreview } from '../../lambda/app/ports.js';
import { PreviewPipeline, type PreviewRead } from '../../lambda/app/preview-pipeline.js';

const POLICY = '{"rules":[]}';
const CALL_MS = 100;
const PREVIEW_MS = 2_000;
const BIG_RESULT_PAGES_MS = 30_000;

/** A clock that moves to the next sleeper's deadline only once every continuation has run (nothing is early). */
function virtualTime() {
  let now = 0;
  const timers: { at: number; seq: number; wake: () => void }[] = [];
  let seq = 0;
  const sleep = (ms: number) => new Promise<void>((wake) => timers.push({ at: now + Math.max(0, ms), seq: seq++, wake }));
  const settle = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
  async function runUntil<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const watched = work.finally(() => (done = true));
    for (;;) {
      await settle();
      if (done) return watched;
      timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = timers.shift();
      if (!next) throw new Error('nothing left to wake, and the work is not done');
      now = Math.max(now, next.at);
      next.wake();
    }
  }
  return { now: () => now, sleep, runUntil };
}

/** ECR modelled in time: each preview takes 2 s; every call 100 ms; `big`'s COMPLETE answer takes 30 s of pages. */
function modelledEcr(time: ReturnType<typeof virtualTime>) {
  const startedAt = new Map<string, number>();
  const reads: string[] = [];
  const answered = new Map<string, number>();
  const steps = {
    startLifecyclePolicyPreview: async (repository: string) => {
      await time.sleep(CALL_MS);
      startedAt.set(repository, time.now());
      return 'started' as const;
    },
    readLifecyclePolicyPreview: async (repository: string): Promise<PreviewRead> => {
      reads.push(`${repository}@${time.now()}`);
      await time.sleep(CALL_MS);
      if (time.now() < startedAt.get(repository)! + PREVIEW_MS) return { status: 'in-progress', ours: true };
      if (repository.startsWith('big')) await time.sleep(BIG_RESULT_PAGES_MS);
      return { status: 'complete', preview: { expiring: [], transitioning: [] } };
    },
  };
  const pipeline = new PreviewPipeline(steps, { now: time.now, sleep: time.sleep });
  const preview = (repository: string): Promise<PolicyPreview> =>
    pipeline.preview(repository, POLICY).then((result) => (answered.set(repository, time.now()), result));
  return { pipeline, preview, reads, answered, startedAt };
}

describe('the preview loop with a big repository', () => {
  it("answers a preview that completes while a big repository's result pages are being read, without waiting for them", async () => {
    // Prepare: a first preview teaches the loop how long previews take; then `big` starts, and `small` a second later
    const time = virtualTime();
    const ecr = modelledEcr(time);
    await time.runUntil(ecr.preview('first'));
    const smallAfter = async () => {
      await time.sleep(1_000);
      return ecr.preview('small');
    };

    // Act
    await time.runUntil(Promise.all([ecr.preview('big'), smallAfter()]));

    // Assess: `small` is answered about one preview after its start, long before `big`'s 30 s of pages are read
    const small = ecr.answered.get('small')! - ecr.startedAt.get('small')!;
    expect(small).toBeGreaterThanOrEqual(PREVIEW_MS);
    expect(small).toBeLessThan(PREVIEW_MS + 2_000);
    expect(ecr.answered.get('big')! - ecr.startedAt.get('big')!).toBeGreaterThanOrEqual(BIG_RESULT_PAGES_MS);
    expect(ecr.answered.get('small')!).toBeLessThan(ecr.answered.get('big')!);
  });

  it("learns the preview's duration from when the answer was asked for, not from when its last page came back", async () => {
    // Prepare: the first preview to complete is `big`'s, whose result takes 30 s to read
    const time = virtualTime();
    const ecr = modelledEcr(time);
    await time.runUntil(ecr.preview('big'));
    const readsBefore = ecr.reads.length;

    // Act: a later preview
    await time.runUntil(ecr.preview('later'));

    // Assess: read once, about one preview after its start (not 30 s later)
    expect(ecr.reads.slice(readsBefore)).toHaveLength(1);
    const waited = ecr.answered.get('later')! - ecr.startedAt.get('later')!;
    expect(waited).toBeGreaterThanOrEqual(PREVIEW_MS);
    expect(waited).toBeLessThan(PREVIEW_MS + 2_000);
  });

  it('reads at most pollConcurrency previews at once, and each preview once at a time', async () => {
    // Prepare: 20 previews of big repositories, every answer 30 s of pages
    const time = virtualTime();
    let reading = 0;
    let mostAtOnce = 0;
    const perRepository = new Map<string, number>();
    let repeatedWhileReading = false;
    const startedAt = new Map<string, number>();
    const pipeline = new PreviewPipeline(
      {
        startLifecyclePolicyPreview: async (repository) => {
          await time.sleep(CALL_MS);
          startedAt.set(repository, time.now());
          return 'started';
        },
        readLifecyclePolicyPreview: async (repository) => {
          reading += 1;
          mostAtOnce = Math.max(mostAtOnce, reading);
          if ((perRepository.get(repository) ?? 0) > 0) repeatedWhileReading = true;
          perRepository.set(repository, (perRepository.get(repository) ?? 0) + 1);
          try {
            await time.sleep(CALL_MS);
            if (time.now() < startedAt.get(repository)! + PREVIEW_MS) return { status: 'in-progress', ours: true };
            await time.sleep(BIG_RESULT_PAGES_MS);
            return { status: 'complete', preview: { expiring: [], transitioning: [] } };
          } finally {
            reading -= 1;
            perRepository.set(repository, perRepository.get(repository)! - 1);
          }
        },
      },
      { now: time.now, sleep: time.sleep, pollConcurrency: 4 },
    );

    // Act
    const answers = await time.runUntil(Promise.all(Array.from({ length: 20 }, (_, i) => pipeline.preview(`big-${i}`, POLICY))));

    // Assess
    expect(answers).toHaveLength(20);
    expect(mostAtOnce).toBe(4);
    expect(repeatedWhileReading).toBe(false);
  });

  it('a preview given up at the deadline while its read is in flight starts nothing once the read comes back', async () => {
    // Prepare: `x` finds another preview running and its read takes 10 s; `y` is still IN_PROGRESS when the loop
    // gives up (deadline 5 s); x's read then says the other preview is over, which would normally start ours
    const time = virtualTime();
    const starts: string[] = [];
    const pipeline = new PreviewPipeline(
      {
        startLifecyclePolicyPreview: async (repository) => {
          starts.push(`${repository}@${time.now()}`);
          await time.sleep(CALL_MS);
          return repository === 'x' ? 'busy' : 'started';
        },
        readLifecyclePolicyPreview: async (repository) => {
          if (repository === 'x') {
            await time.sleep(10_000);
            return { status: 'another-policy', detail: 'the other preview ended' };
          }
          await time.sleep(CALL_MS);
          return { status: 'in-progress', ours: true };
        },
      },
      { now: time.now, sleep: time.sleep, deadline: 5_000 },
    );

    // Act
    const outcomes = await time.runUntil(Promise.allSettled([pipeline.preview('x', POLICY), pipeline.preview('y', POLICY)]));
    await time.runUntil(time.sleep(20_000));

    // Assess
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).name : 'answered'))).toEqual(['PreviewResumesNextRun', 'PreviewResumesNextRun']);
    expect(starts).toEqual(['x@0', 'y@0']);
  });
});
