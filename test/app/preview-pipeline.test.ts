// Pipelined previews against the emulator under the pessimistic profile (a preview answers IN_PROGRESS for 3 polls,
// a second Start while one runs is refused): many previews started, one loop polling them, each answered when its own
// is COMPLETE; an answer that is not COMPLETE for our text is never permission.
// API reference: StartLifecyclePolicyPreview (LifecyclePolicyPreviewInProgressException), GetLifecyclePolicyPreview
// (status IN_PROGRESS | COMPLETE | EXPIRED | FAILED).
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { createEcrRegistry, type EcrRegistry } from '../../lambda/adapters/ecr-registry.js';
import { PreviewNotCompletedError } from '../../lambda/app/ports.js';
import { PreviewPipeline, PreviewResumesNextRunError } from '../../lambda/app/preview-pipeline.js';
import { parseConfig } from '../../lambda/domain/config.js';
import { policyToText, renderPolicy } from '../../lambda/domain/policy.js';
import { caught, useEmulator } from '../support/emulator-fixture.js';

const NOW = Date.UTC(2026, 0, 1);
const fixture = useEmulator({ now: NOW });
const POLICY = policyToText(renderPolicy(parseConfig({ pins: { ecs: false, lambda: false } }, 'test')));
const OTHER_POLICY = policyToText(renderPolicy(parseConfig({ untaggedExpireDays: 9, pins: { ecs: false, lambda: false } }, 'test')));

/** A fake clock the loop's sleeps move on, and a log of what the registry was asked, in order. */
function setUp(options: { deadline?: number } = {}) {
  const clock = { now: 0 };
  const calls: string[] = [];
  const registry: EcrRegistry = createEcrRegistry(fixture.client);
  const steps = {
    startLifecyclePolicyPreview: async (repository: string, text: string) => {
      calls.push(`start ${repository}`);
      return registry.startLifecyclePolicyPreview(repository, text);
    },
    readLifecyclePolicyPreview: async (repository: string, text: string) => {
      const read = await registry.readLifecyclePolicyPreview(repository, text);
      calls.push(`read ${repository} ${read.status}`);
      return read;
    },
  };
  const pipeline = new PreviewPipeline(steps, {
    now: () => clock.now,
    sleep: async (ms) => void (clock.now += ms),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
  });
  return { pipeline, calls, clock, registry };
}

async function repositoriesWithAnImage(names: string[]): Promise<void> {
  for (const name of names) {
    if (name !== 'app') await fixture.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushSingleImage(fixture.client, name, { tags: ['v1'], seed: name, bytes: 1_000 });
  }
}

/** ECR modelled in time (the emulator counts previews in polls): each preview is COMPLETE 5 s after its start. */
function previewsTaking5s(readName: (repository: string, now: number) => string): { pipeline: PreviewPipeline; reads: string[] } {
  const clock = { now: 0 };
  const startedAt = new Map<string, number>();
  const reads: string[] = [];
  const pipeline = new PreviewPipeline(
    {
      startLifecyclePolicyPreview: async (repository) => {
        startedAt.set(repository, clock.now);
        return 'started' as const;
      },
      readLifecyclePolicyPreview: async (repository) => {
        reads.push(readName(repository, clock.now));
        return clock.now >= startedAt.get(repository)! + 5_000 ? { status: 'complete', preview: { expiring: [], transitioning: [] } } : { status: 'in-progress', ours: true };
      },
    },
    { now: () => clock.now, sleep: async (ms) => void (clock.now += ms) },
  );
  return { pipeline, reads };
}

describe('pipelined lifecycle previews', () => {
  it('starts every preview before the first completes and answers each from its own COMPLETE result', async () => {
    // Prepare
    const names = ['app', 'svc-a', 'svc-b', 'svc-c'];
    await repositoriesWithAnImage(names);
    const { pipeline, calls } = setUp();

    // Act
    const previews = await Promise.all(names.map((name) => pipeline.preview(name, POLICY)));

    // Assess
    const firstComplete = calls.findIndex((c) => c.endsWith('complete'));
    const lastStart = calls.map((c) => c.startsWith('start')).lastIndexOf(true);
    expect(lastStart).toBeLessThan(firstComplete);
    expect(calls.filter((c) => c.startsWith('start'))).toHaveLength(4);
    expect(calls.filter((c) => c.endsWith('complete'))).toHaveLength(4);
    expect(previews.map((p) => p.expiring)).toEqual([[], [], [], []]);
  });

  it('once it has learnt how long previews take, reads each later preview once, when it is done', async () => {
    // Prepare: ECR modelled in time (the emulator's previews are counted in polls): each preview takes 5 s
    const { pipeline, reads } = previewsTaking5s((repository) => repository);
    await pipeline.preview('first', POLICY);
    const readsOfFirst = reads.length;

    // Act
    await Promise.all(['a', 'b', 'c'].map((name) => pipeline.preview(name, POLICY)));

    // Assess: the first was read at 1, 2, 4 and 8 s; the later ones are read 8 s after their start, once
    expect(readsOfFirst).toBe(4);
    expect(reads.slice(readsOfFirst)).toEqual(['a', 'b', 'c']);
    expect(pipeline.polls).toBe(7);
  });

  it('before any preview has completed, one scout polls and the others are read once, when the scout says they are done', async () => {
    // Prepare: ECR modelled in time, each preview takes 5 s; three start at once
    const { pipeline, reads } = previewsTaking5s((repository, now) => `${repository}@${now}`);

    // Act
    await Promise.all(['a', 'b', 'c'].map((name) => pipeline.preview(name, POLICY)));

    // Assess
    expect(reads).toEqual(['a@1000', 'a@2000', 'a@4000', 'a@8000', 'b@8000', 'c@8000']);
  });

  it('a preview that ends EXPIRED is no answer: PreviewNotCompletedError, never a result', async () => {
    // Prepare
    await repositoriesWithAnImage(['app']);
    fixture.emulator.setFaults({ previewOutcome: 'EXPIRED' });
    const { pipeline } = setUp();

    // Act
    const error = await caught(pipeline.preview('app', POLICY));

    // Assess
    expect(error).toBeInstanceOf(PreviewNotCompletedError);
    expect((error as Error).message).toMatch(/app ended EXPIRED; policy not installed this run/);
  });

  it('still running when the invocation must end: left for the next run, which adopts it instead of starting again', async () => {
    // Prepare
    await repositoriesWithAnImage(['app']);
    const first = setUp({ deadline: 2_500 });

    // Act
    const error = await caught(first.pipeline.preview('app', POLICY));
    const next = setUp();
    const preview = await next.pipeline.preview('app', POLICY);

    // Assess
    expect(error).toBeInstanceOf(PreviewResumesNextRunError);
    expect(error).toBeInstanceOf(PreviewNotCompletedError);
    expect((error as Error).message).toMatch(/still IN_PROGRESS when the invocation had to end; policy not installed this run, the next run resumes it/);
    expect(next.calls[0]).toBe('start app');
    expect(next.calls.filter((c) => c.startsWith('start'))).toHaveLength(1); // refused (busy), then adopted: no second start
    expect(next.calls.at(-1)).toBe('read app complete');
    expect(preview.expiring).toEqual([]);
  });

  it("another policy's preview running: waits for it (polling moves it on), then starts and answers for its own text", async () => {
    // Prepare
    await repositoriesWithAnImage(['app']);
    const { registry } = setUp();
    expect(await registry.startLifecyclePolicyPreview('app', OTHER_POLICY)).toBe('started');
    const { pipeline, calls } = setUp();

    // Act
    const preview = await pipeline.preview('app', POLICY);

    // Assess
    expect(calls.filter((c) => c.startsWith('start'))).toHaveLength(2);
    expect(calls).toContain('read app another-policy');
    expect(calls.at(-1)).toBe('read app complete');
    expect(preview.expiring).toEqual([]);
  });
});
