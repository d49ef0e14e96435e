// Writes as their own stream: PutImage and BatchDeleteImage go through their own ECR client (its own adaptive retry
// state, so throttling there never slows reads) behind a client-side token bucket set under ECR's quota.
//
// Source: "Amazon ECR service quotas" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html):
// PutImage 10 requests per second per account and Region (adjustable, shared with every CI push). BatchDeleteImage
// has no published rate; the default here is modest.
import type { RegistryPort, TagDeletion, WriteFailure } from '../app/ports.js';
import { chunks } from './chunks.js';

export interface WriteRates {
  /** PutImage calls per second; default 9, under ECR's 10/s so CI pushes keep some room. */
  putImagePerSecond: number;
  /**
   * PutImage calls that may go at once after a pause (the janitor planning a big repository is a pause): the average
   * stays at the rate. ECR's own bucket holds a second of calls; default 5.
   */
  putImageBurst: number;
  /** BatchDeleteImage calls per second (100 tags each); default 5. */
  batchDeletePerSecond: number;
}

export const DEFAULT_WRITE_RATES: WriteRates = { putImagePerSecond: 9, putImageBurst: 5, batchDeletePerSecond: 5 };

/**
 * A token bucket as a schedule (GCRA): each call is given the next free slot in order, so waiters go first come,
 * first served and never spin. `burst` calls may go at once after a quiet spell.
 */
export class TokenBucket {
  /** Theoretical arrival time of the next call (GCRA). */
  private tat = -Infinity;
  private readonly intervalMs: number;
  private readonly toleranceMs: number;

  constructor(
    perSecond: number,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
    burst = 1,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be > 0, got ${perSecond}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be >= 1, got ${burst}`);
    this.intervalMs = 1000 / perSecond;
    this.toleranceMs = (burst - 1) * this.intervalMs;
  }

  /** Waits for the caller's slot; returns how many milliseconds it waited. */
  async take(): Promise<number> {
    const now = this.now();
    const tat = Math.max(this.tat, now);
    this.tat = tat + this.intervalMs;
    const wait = tat - this.toleranceMs - now;
    if (wait > 0) await this.sleep(wait);
    return Math.max(0, wait);
  }
}

/**
 * The bucket's slots, handed to the waiting repository that started writing first: one repository's tags go out
 * together, so it finishes (and frees its memory) instead of every repository in flight finishing late together.
 */
export class RepositoryFirstBucket {
  private readonly firstAsked = new Map<string, number>();
  private readonly waiting: { repository: string; order: number; grant: () => void }[] = [];
  private asked = 0;
  private serving = false;

  constructor(private readonly bucket: TokenBucket) {}

  take(repository: string): Promise<void> {
    if (!this.firstAsked.has(repository)) this.firstAsked.set(repository, this.asked++);
    return new Promise<void>((grant) => {
      this.waiting.push({ repository, order: this.firstAsked.get(repository)!, grant });
      void this.serve();
    });
  }

  /** The repository wrote its last tag: its place in line is given up. */
  done(repository: string): void {
    this.firstAsked.delete(repository);
  }

  private async serve(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      while (this.waiting.length > 0) {
        await this.bucket.take();
        let best = 0;
        for (let i = 1; i < this.waiting.length; i++) if (this.waiting[i]!.order < this.waiting[best]!.order) best = i;
        this.waiting.splice(best, 1)[0]!.grant();
      }
    } finally {
      this.serving = false;
    }
  }
}

export interface WriteStreamOptions {
  rates?: Partial<WriteRates>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Wraps each wait for a token (the scheduler frees the repository's call slot while it waits). */
  whileWaiting?: <T>(wait: () => Promise<T>) => Promise<T>;
}

/**
 * `reads` for every read and policy call, `writes` (a registry on its own client) for PutImage and BatchDeleteImage,
 * each write after its token. callCounts() adds both clients' counts.
 */
export function withWriteStream(reads: RegistryPort, writes: RegistryPort, options: WriteStreamOptions): RegistryPort {
  const rates = { ...DEFAULT_WRITE_RATES, ...options.rates };
  const putImage = new RepositoryFirstBucket(new TokenBucket(rates.putImagePerSecond, options.now, options.sleep, rates.putImageBurst));
  const batchDelete = new RepositoryFirstBucket(new TokenBucket(rates.batchDeletePerSecond, options.now, options.sleep));
  const waitFor = (bucket: RepositoryFirstBucket, repository: string) =>
    options.whileWaiting ? options.whileWaiting(() => bucket.take(repository)) : bucket.take(repository);
  return {
    ...reads,
    async putTag(repository, digest, manifest, tag) {
      await waitFor(putImage, repository);
      await writes.putTag(repository, digest, manifest, tag);
    },
    async deleteTags(repository, tags) {
      const deleted: TagDeletion[] = [];
      const failures: WriteFailure[] = [];
      // One token per BatchDeleteImage: the adapter sends 100 tags a call.
      for (const chunk of chunks(tags, 100)) {
        await waitFor(batchDelete, repository);
        const result = await writes.deleteTags(repository, chunk);
        deleted.push(...result.deleted);
        failures.push(...result.failures);
      }
      batchDelete.done(repository);
      return { deleted, failures };
    },
    callCounts() {
      const counts = reads.callCounts();
      for (const [operation, calls] of Object.entries(writes.callCounts())) counts[operation] = (counts[operation] ?? 0) + calls;
      return counts;
    },
  };
}
