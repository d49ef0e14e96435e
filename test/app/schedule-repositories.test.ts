// Which repositories run when: largest first, at most `concurrency` calling at once, a bound on images in flight, and
// a repository waiting on something that is not its own call frees its slot but keeps its images counted.
import { describe, expect, it } from 'vitest';
import type { RegistryPort, StateStore } from '../../lambda/app/ports.js';
import { scheduledRegistry } from '../../lambda/app/throughput.js';
import type { RepositoryState } from '../../lambda/domain/types.js';
import { scheduleLimits } from '../../lambda/adapters/throughput-aws.js';
import { largestFirst, limitsForMemory, RepositoryScheduler, sizesFromState } from '../../lambda/app/schedule-repositories.js';
import { parseConfig } from '../../lambda/domain/config.js';

/** A task the test finishes by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('largestFirst', () => {
  it('orders by the last known size, biggest first, unknown sizes last in the order given', () => {
    // Prepare
    const sizes = new Map([
      ['small', 10],
      ['big', 50_000],
      ['mid', 900],
    ]);

    // Act
    const ordered = largestFirst(['a-new', 'small', 'big', 'b-new', 'mid'], sizes);

    // Assess
    expect(ordered).toEqual(['big', 'mid', 'small', 'a-new', 'b-new']);
  });
});

describe('sizesFromState', () => {
  it("reads each repository's image count from its last inventory; a missing or unreadable state is unknown", async () => {
    // Prepare
    const states: Record<string, RepositoryState> = {
      big: { repository: 'big', pinsLastSeen: {}, lastInventory: { at: 0, digests: ['sha256:1', 'sha256:2'], bytes: [1, 2] } },
    };
    const store: StateStore = {
      load: async (repository) => {
        if (repository === 'broken') throw new Error('AccessDenied');
        return states[repository] ?? null;
      },
      save: async () => {},
    };

    // Act
    const sizes = await sizesFromState(store, ['big', 'new', 'broken'], 2);

    // Assess
    expect([...sizes]).toEqual([['big', 2]]);
  });
});

describe('RepositoryScheduler', () => {
  it('runs at most `concurrency` repositories at once and returns results in the order given', async () => {
    // Prepare
    const scheduler = new RepositoryScheduler({ concurrency: 2, maxImagesInFlight: 1_000_000 });
    const gates = new Map(['a', 'b', 'c'].map((name) => [name, gate()]));
    const started: string[] = [];

    // Act
    const done = scheduler.run(['a', 'b', 'c'], new Map(['a', 'b', 'c'].map((name) => [name, 10])), async (repository) => {
      started.push(repository);
      await gates.get(repository)!.opened;
      return repository.toUpperCase();
    });
    await turn();
    const whileTwoRun = [...started];
    gates.get('b')!.open();
    await turn();
    const afterOneEnds = [...started];
    gates.get('a')!.open();
    gates.get('c')!.open();

    // Assess
    expect(whileTwoRun).toEqual(['a', 'b']);
    expect(afterOneEnds).toEqual(['a', 'b', 'c']);
    expect(await done).toEqual(['A', 'B', 'C']);
  });

  it('holds a repository back while the images in flight would pass the bound; one bigger than the bound runs with half the bound beside it', async () => {
    // Prepare
    const scheduler = new RepositoryScheduler({ concurrency: 4, maxImagesInFlight: 1_000 });
    const sizes = new Map([
      ['huge', 5_000],
      ['m1', 600],
      ['m2', 600],
    ]);
    const gates = new Map(['huge', 'm1', 'm2'].map((name) => [name, gate()]));
    const started: string[] = [];

    // Act
    const done = scheduler.run(['huge', 'm1', 'm2'], sizes, async (repository) => {
      started.push(repository);
      await gates.get(repository)!.opened;
    });
    await turn();
    const first = [...started];
    gates.get('huge')!.open();
    await turn();
    const second = [...started];
    gates.get('m1')!.open();
    await turn();
    gates.get('m2')!.open();
    await done;

    // Assess
    expect(first).toEqual(['huge']);
    expect(second).toEqual(['huge', 'm1']); // 600 + 600 would pass 1,000
    expect(started).toEqual(['huge', 'm1', 'm2']);
    expect(scheduler.peakImagesInFlight).toBe(5_000);
  });

  it('a repository waiting (a preview, a write token) frees its call slot for the next one but keeps its images counted', async () => {
    // Prepare
    const scheduler = new RepositoryScheduler({ concurrency: 1, maxImagesInFlight: 10_000 });
    const preview = gate();
    const started: string[] = [];

    // Act
    const done = scheduler.run(['a', 'b'], new Map([['a', 100], ['b', 200]]), async (repository) => {
      started.push(repository);
      if (repository === 'a') await scheduler.whileWaiting(() => preview.opened);
      started.push(`${repository} done`);
    });
    await turn();
    const whileAWaits = [...started];
    preview.open();
    await done;

    // Assess
    expect(whileAWaits).toEqual(['a', 'b', 'b done']);
    expect(started.at(-1)).toBe('a done');
    expect(scheduler.peakImagesInFlight).toBe(300);
  });

  it("follows a repository's real size once DescribeImages has read it", async () => {
    // Prepare
    const scheduler = new RepositoryScheduler({ concurrency: 2, maxImagesInFlight: 10_000 });

    // Act
    await scheduler.run(['new'], new Map(), async (repository) => scheduler.observeSize(repository, 7_777));

    // Assess
    expect(scheduler.peakImagesInFlight).toBe(7_777);
  });
});

describe('RepositoryScheduler while DescribeImages pages', () => {
  it('counts images as their pages arrive, so a repository of unknown size holds the next one back before its read ends', async () => {
    // Prepare
    const scheduler = new RepositoryScheduler({ concurrency: 4, maxImagesInFlight: 1_500 });
    const reading = gate();
    const started: string[] = [];

    // Act
    const done = scheduler.run(['big-new', 'next'], new Map(), async (repository) => {
      started.push(repository);
      if (repository !== 'big-new') return;
      scheduler.growTo(repository, 1_000);
      scheduler.growTo(repository, 6_000); // a page later: past the bound
      await reading.opened;
    });
    await turn();
    const whileReading = [...started];
    reading.open();
    await done;

    // Assess: 6,000 read of a repository assumed at 1,000 leaves half the bound (1,000) beside it: 'next' waits
    expect(whileReading).toEqual(['big-new']);
    expect(started).toEqual(['big-new', 'next']);
    expect(scheduler.peakImagesInFlight).toBe(6_000);
  });
});

describe('RepositoryScheduler on a first night (no sizes known)', () => {
  it('reads two repositories of unknown size at a time: the third starts once DescribeImages has sized one of them', async () => {
    // Prepare
    const scheduler = new RepositoryScheduler({ concurrency: 4, maxImagesInFlight: 100_000 });
    const described = gate();
    const finish = gate();
    const started: string[] = [];

    // Act
    const done = scheduler.run(['first', 'other', 'second'], new Map(), async (repository) => {
      started.push(repository);
      if (repository === 'other') await finish.opened;
      if (repository === 'first') {
        await described.opened;
        scheduler.observeSize(repository, 500);
        await finish.opened;
      }
    });
    await turn();
    const beforeSized = [...started];
    described.open();
    await turn();
    const afterSized = [...started];
    finish.open();
    await done;

    // Assess
    expect(beforeSized).toEqual(['first', 'other']);
    expect(afterSized).toEqual(['first', 'other', 'second']);
  });
});

describe('limitsForMemory', () => {
  it('sizes call slots and images in flight to the function memory', () => {
    // Act
    const small = limitsForMemory(512);
    const standard = limitsForMemory(1024);
    const big = limitsForMemory(4096);

    // Assess
    expect(standard.concurrency).toBe(8);
    expect(small.concurrency).toBe(4);
    expect(big.concurrency).toBe(16);
    expect(small.maxImagesInFlight).toBeLessThan(standard.maxImagesInFlight);
    expect(standard.maxImagesInFlight).toBeLessThan(big.maxImagesInFlight);
  });

  it('refuses a memory below Lambda\'s minimum, naming it', () => {
    // Assess
    expect(() => limitsForMemory(64)).toThrow(/memoryMb must be at least 128, got 64/);
  });
});

describe('concurrency in the config', () => {
  it('overrides the memory-sized call slots and keeps the memory bound', () => {
    // Prepare
    const config = parseConfig({ concurrency: 3, pins: { ecs: false, lambda: false } }, 'test');

    // Act
    const limits = scheduleLimits(config, 1024);
    const sized = scheduleLimits(parseConfig({ pins: { ecs: false, lambda: false } }, 'test'), 1024);

    // Assess
    expect(limits).toEqual({ concurrency: 3, maxImagesInFlight: limitsForMemory(1024).maxImagesInFlight });
    expect(sized).toEqual(limitsForMemory(1024));
  });

  it('refuses a concurrency that is not a whole number from 1 to 64, naming the field', () => {
    // Act
    const parse = () => parseConfig({ concurrency: 0 }, 'janitor.json');

    // Assess
    expect(parse).toThrow(/concurrency: must be a whole number from 1 to 64, got 0/);
  });
});

describe("a big repository's manifests on idle call slots (scheduledRegistry)", () => {
  /** A registry whose BatchGetImage takes a few turns of the event loop, and records what was asked and how many at once. */
  function manifestRegistry(failOnCall?: number) {
    const calls: string[][] = [];
    let inFlight = 0;
    let mostAtOnce = 0;
    const registry = {
      getManifests: async (_repository: string, digests: string[]) => {
        calls.push(digests);
        const call = calls.length;
        inFlight += 1;
        mostAtOnce = Math.max(mostAtOnce, inFlight);
        try {
          for (let i = 0; i < 3; i++) await turn();
          if (call === failOnCall) throw new Error('ThrottlingException: rate exceeded');
          return { manifests: Object.fromEntries(digests.filter((d) => !d.endsWith('-gone')).map((d) => [d, { text: `manifest of ${d}` }])), failures: Object.fromEntries(digests.filter((d) => d.endsWith('-gone')).map((d) => [d, 'ImageNotFound'])) };
        } finally {
          inFlight -= 1;
        }
      },
    } as unknown as RegistryPort;
    return { registry, calls, mostAtOnce: () => mostAtOnce };
  }
  const digests = (n: number) => Array.from({ length: n }, (_, i) => (i === 7 ? `sha256:${i}-gone` : `sha256:${i}`));

  it('reads 100 ids a call on its own slot and on the slots nobody can use, and answers as one call after another would', async () => {
    // Prepare: 4 call slots and one repository: 3 idle
    const scheduler = new RepositoryScheduler({ concurrency: 4, maxImagesInFlight: 1_000_000 });
    const { registry, calls, mostAtOnce } = manifestRegistry();
    const scheduled = scheduledRegistry(registry, { scheduler });

    // Act
    const [read] = await scheduler.run(['big'], new Map([['big', 1_000]]), () => scheduled.getManifests('big', [...digests(1_050), 'sha256:3']));

    // Assess
    expect(calls.map((ids) => ids.length)).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50]);
    expect(new Set(calls.flat()).size).toBe(1_050);
    expect(Object.keys(read!.manifests)).toHaveLength(1_049);
    expect(read!.failures).toEqual({ 'sha256:7-gone': 'ImageNotFound' });
    expect(mostAtOnce()).toBe(4);
    expect(scheduler.peakCallers).toBe(4);
  });

  it('borrows no slot another repository holds: with every slot taken, one call after another', async () => {
    // Prepare: 2 call slots; `other` holds the second one until the manifests are read
    const scheduler = new RepositoryScheduler({ concurrency: 2, maxImagesInFlight: 1_000_000 });
    const { registry, calls, mostAtOnce } = manifestRegistry();
    const scheduled = scheduledRegistry(registry, { scheduler });
    const otherDone = gate();

    // Act
    await scheduler.run(['big', 'other'], new Map([['big', 1_000], ['other', 10]]), async (repository) => {
      if (repository === 'other') return otherDone.opened;
      await scheduled.getManifests('big', digests(500));
      otherDone.open();
    });

    // Assess
    expect(calls).toHaveLength(5);
    expect(mostAtOnce()).toBe(1);
    expect(scheduler.peakCallers).toBe(2);
  });

  it('a call that fails fails the whole read, once every call in flight has ended, and starts no call after it', async () => {
    // Prepare: the second call throws
    const scheduler = new RepositoryScheduler({ concurrency: 4, maxImagesInFlight: 1_000_000 });
    const { registry, calls } = manifestRegistry(2);
    const scheduled = scheduledRegistry(registry, { scheduler });
    let callsWhenItFailed = -1;

    // Act
    const outcome = await scheduler.run(['big'], new Map([['big', 1_000]]), () =>
      scheduled.getManifests('big', digests(2_000)).then(
        () => 'read',
        (error: Error) => ((callsWhenItFailed = calls.length), error.message),
      ),
    );
    for (let i = 0; i < 10; i++) await turn();

    // Assess
    expect(outcome).toEqual(['ThrottlingException: rate exceeded']);
    expect(calls.length).toBeLessThan(20);
    expect(calls).toHaveLength(callsWhenItFailed);
  });
});
