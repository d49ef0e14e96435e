// Writes as their own stream: a client-side token bucket under ECR's PutImage quota, on a registry of their own.
// "Amazon ECR service quotas" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html): PutImage
// 10 requests per second per account and Region.
import { describe, expect, it } from 'vitest';
import type { RegistryPort } from '../../lambda/app/ports.js';
import type { EcrRegistry } from '../../lambda/adapters/ecr-registry.js';
import { wireThroughput } from '../../lambda/adapters/throughput-aws.js';
import { DEFAULT_WRITE_RATES, RepositoryFirstBucket, TokenBucket, withWriteStream } from '../../lambda/adapters/write-limiter.js';
import { parseConfig } from '../../lambda/domain/config.js';

function fakeClock() {
  const clock = { now: 0 };
  return { clock, now: () => clock.now, sleep: async (ms: number) => void (clock.now += ms) };
}

/** A registry that records which of its methods ran, with the fake clock's time. */
function recordingRegistry(name: string, log: string[], now: () => number): RegistryPort {
  const calls: Record<string, number> = {};
  const count = (operation: string) => (calls[operation] = (calls[operation] ?? 0) + 1);
  return {
    registryId: async () => '123456789012',
    listRepositories: async () => [],
    repositoryTags: async () => ({}),
    describeImages: async () => (count('DescribeImages'), log.push(`${name} describe`), []),
    getManifests: async () => ({ manifests: {}, failures: {} }),
    getLifecyclePolicy: async () => (count('GetLifecyclePolicy'), null),
    putLifecyclePolicy: async () => void count('PutLifecyclePolicy'),
    previewLifecyclePolicy: async () => ({ expiring: [], transitioning: [] }),
    putTag: async (_repository, _digest, _manifest, tag) => void (count('PutImage'), log.push(`${name} put ${tag} at ${now()}`)),
    deleteTags: async (_repository, tags) => (count('BatchDeleteImage'), log.push(`${name} delete ${tags.length} at ${now()}`), { deleted: tags, failures: [] }),
    callCounts: () => ({ ...calls }),
  };
}

describe('TokenBucket', () => {
  it('spaces calls at the rate, first come first served, without a burst by default', async () => {
    // Prepare: four callers at the same instant (the clock stands still; each wait is what the bucket asked for)
    const bucket = new TokenBucket(10, () => 0, async () => {});
    const order: number[] = [];

    // Act
    const waits = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const waited = await bucket.take();
      order.push(i);
      return waited;
    }));

    // Assess
    expect(waits).toEqual([0, 100, 200, 300]);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('lets `burst` calls through at once after a quiet spell, then the rate again', async () => {
    // Prepare
    const { clock, now, sleep } = fakeClock();
    const bucket = new TokenBucket(5, now, sleep, 3);
    clock.now = 10_000;

    // Act
    const waits = [await bucket.take(), await bucket.take(), await bucket.take(), await bucket.take()];

    // Assess
    expect(waits).toEqual([0, 0, 0, 200]);
  });

  it('refuses a rate that is not positive, naming it', () => {
    // Prepare
    const { now, sleep } = fakeClock();

    // Act
    const make = () => new TokenBucket(0, now, sleep);

    // Assess
    expect(make).toThrow(/perSecond must be > 0, got 0/);
  });
});

describe('RepositoryFirstBucket', () => {
  it('gives each slot to the repository that started writing first, so one finishes before the next goes on', async () => {
    // Prepare: two repositories, each writing its tags one after another, as applyPlan does
    const { now, sleep } = fakeClock();
    const bucket = new RepositoryFirstBucket(new TokenBucket(10, now, sleep));
    const granted: string[] = [];
    const writeTags = async (repository: string, count: number) => {
      for (let i = 0; i < count; i++) {
        await bucket.take(repository);
        granted.push(`${repository}${i}`);
      }
    };

    // Act
    await Promise.all([writeTags('a', 3), writeTags('b', 3)]);

    // Assess
    expect(granted).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
  });
});

describe('withWriteStream', () => {
  it('sends PutImage and BatchDeleteImage through the write registry at its rate, reads through the read one, and counts both', async () => {
    // Prepare
    const { now, sleep } = fakeClock();
    const log: string[] = [];
    const reads = recordingRegistry('reads', log, now);
    const writes = recordingRegistry('writes', log, now);
    const registry = withWriteStream(reads, writes, { now, sleep, rates: { putImagePerSecond: 4, putImageBurst: 1 } });
    const manifest = { text: '{}' };
    const tags = Array.from({ length: 150 }, (_, i) => ({ digest: `sha256:${String(i).padStart(64, '0')}`, tag: `t${i}` }));

    // Act
    await registry.describeImages('app');
    for (const tag of ['a', 'b', 'c']) await registry.putTag('app', 'sha256:1', manifest, tag);
    const removed = await registry.deleteTags('app', tags);

    // Assess
    expect(log).toEqual(['reads describe', 'writes put a at 0', 'writes put b at 250', 'writes put c at 500', 'writes delete 100 at 500', 'writes delete 50 at 700']);
    expect(removed.deleted).toHaveLength(150);
    expect(registry.callCounts()).toEqual({ DescribeImages: 1, PutImage: 3, BatchDeleteImage: 2 });
  });

  it("sends protection tags at the config's putImagePerSecond on the Lambda path, 9 per second when unset", async () => {
    // Prepare: bursts of one, so every call after the first waits for its slot
    const rateOf = async (config: object) => {
      const { now, sleep } = fakeClock();
      const log: string[] = [];
      const { registry } = wireThroughput({
        reads: recordingRegistry('reads', log, now) as unknown as EcrRegistry,
        writes: recordingRegistry('writes', log, now),
        config: parseConfig({ ...config, pins: { ecs: false, lambda: false } }, 'test'),
        now,
        sleep,
        writeRates: { putImageBurst: 1 },
      });
      for (const tag of ['a', 'b', 'c']) await registry.putTag('app', 'sha256:1', { text: '{}' }, tag);
      return log;
    };

    // Act
    const configured = await rateOf({ putImagePerSecond: 2 });
    const unset = await rateOf({});

    // Assess
    expect(configured).toEqual(['writes put a at 0', 'writes put b at 500', 'writes put c at 1000']);
    expect(unset.map((line) => Math.round(Number(line.split(' at ')[1])))).toEqual([0, 111, 222]);
  });

  it('refuses a putImagePerSecond that is not a positive rate, naming the field and the quota', () => {
    // Act
    const parse = (value: unknown) => () => parseConfig({ putImagePerSecond: value }, 'janitor.json');

    // Assess
    expect(parse(0)).toThrow(/putImagePerSecond: must be more than 0 and at most 1000 PutImage calls per second, under your account's PutImage quota \(10\/s by default\), e.g. 9; got 0/);
    expect(parse('9')).toThrow(/putImagePerSecond: must be a number of PutImage calls per second, e.g. 9/);
  });

  it('keeps PutImage under ECR\'s published 10 per second by default', () => {
    // Assess
    expect(DEFAULT_WRITE_RATES.putImagePerSecond).toBeLessThan(10);
  });

  it("frees the caller's slot while it waits for a token (whileWaiting wraps each wait)", async () => {
    // Prepare
    const { now, sleep } = fakeClock();
    const log: string[] = [];
    const waits: string[] = [];
    const registry = withWriteStream(recordingRegistry('reads', log, now), recordingRegistry('writes', log, now), {
      now,
      sleep,
      whileWaiting: async (wait) => {
        waits.push('released');
        const result = await wait();
        waits.push('taken back');
        return result;
      },
    });

    // Act
    await registry.putTag('app', 'sha256:1', { text: '{}' }, 'a');

    // Assess
    expect(waits).toEqual(['released', 'taken back']);
    expect(log).toEqual(['writes put a at 0']);
  });
});
