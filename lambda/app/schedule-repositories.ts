// Which repositories run when: the largest first (the longest DescribeImages chains start early, so they do not finish
// last alone), at most `concurrency` making calls at once, and a bound on the images held in memory by repositories in
// flight. A repository waiting on something that is not its own call (a lifecycle preview ECR computes, a write token)
// frees its call slot for another one, but keeps its images counted: its inventory and plan are still in memory.
import type { StateStore } from './ports.js';

export interface ScheduleLimits {
  /** Repositories making calls at once. */
  concurrency: number;
  /** Images held by repositories in flight; one repository larger than this still runs, with half of it beside. */
  maxImagesInFlight: number;
}

/** What a repository costs in memory while in flight, measured on the Lambda path (`npm run bench -- --scale`). */
export const BYTES_PER_IMAGE_IN_FLIGHT = 4_500;
/** Node, the SDK and the code itself, before any repository is read. */
const BASELINE_MB = 200;
const DESCRIBE_PAGE_SIZE = 1_000;
/** Repositories of unknown size read at once, until DescribeImages has sized them. */
const UNKNOWN_AT_ONCE = 2;
/** Images assumed for a repository never seen before, until DescribeImages says. */
const UNKNOWN_SIZE = 1_000;

/**
 * Limits for a function of `memoryMb`: half the memory left after the baseline holds repositories in flight, the rest
 * is V8's room to collect and transient parse buffers (a 1,024 MB function peaks near 600 MB); one call slot per
 * 128 MB, between 2 and 16.
 */
export function limitsForMemory(memoryMb: number): ScheduleLimits {
  if (!(memoryMb >= 128)) throw new RangeError(`memoryMb must be at least 128, got ${memoryMb}`);
  const usable = Math.max(64, memoryMb - BASELINE_MB) * 0.5 * 2 ** 20;
  return {
    concurrency: Math.min(16, Math.max(2, Math.floor(memoryMb / 128))),
    maxImagesInFlight: Math.max(5_000, Math.floor(usable / BYTES_PER_IMAGE_IN_FLIGHT)),
  };
}

/**
 * Each repository's image count at the last run, from its state (lastInventory), read `concurrency` at a time; a
 * repository whose state is missing or unreadable is simply unknown here (handleRepository reads and judges it).
 */
export async function sizesFromState(store: StateStore, repositories: readonly string[], concurrency: number): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < repositories.length) {
      const repository = repositories[next++]!;
      try {
        const state = await store.load(repository);
        if (state?.lastInventory) sizes.set(repository, state.lastInventory.digests.length);
      } catch {
        // Unknown size; the state itself is judged when the repository runs.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, repositories.length)) }, worker));
  return sizes;
}

/** Largest known first; unknown sizes after them, in the order given. */
export function largestFirst(repositories: readonly string[], sizes: ReadonlyMap<string, number>): string[] {
  return repositories
    .map((repository, order) => ({ repository, order, size: sizes.get(repository) }))
    .sort((a, b) => (b.size ?? -1) - (a.size ?? -1) || a.order - b.order)
    .map((r) => r.repository);
}

export class RepositoryScheduler {
  private callers = 0;
  private readonly returning: (() => void)[] = [];
  private readonly reserved = new Map<string, number>();
  private imagesInFlight = 0;
  private queue: { repository: string; index: number }[] = [];
  private start?: (item: { repository: string; index: number }) => void;
  /** Admitted with no known size and not yet read: until one is sized, no other unknown one starts. */
  private readonly sizing = new Set<string>();
  /** pump() calls on the stack (a repository it starts may call it again before its first wait). */
  private pumping = 0;
  /** Highest number of images held by repositories in flight at once (bench and tests). */
  peakImagesInFlight = 0;
  /** Highest number of repositories in flight at once, waiting ones included. */
  peakRepositoriesInFlight = 0;
  /** Highest number of call slots taken at once, borrowed ones included (tests: never above `concurrency`). */
  peakCallers = 0;

  constructor(private readonly limits: ScheduleLimits) {
    if (!(limits.concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, got ${limits.concurrency}`);
  }

  /** Runs `handle` for each repository in the order given (see largestFirst); results come back in that order. */
  run<T>(repositories: readonly string[], sizes: ReadonlyMap<string, number>, handle: (repository: string, index: number) => Promise<T>): Promise<T[]> {
    const results = new Array<T>(repositories.length);
    if (repositories.length === 0) return Promise.resolve(results);
    this.queue = repositories.map((repository, index) => ({ repository, index }));
    this.sizes = sizes;
    let left = repositories.length;
    return new Promise<T[]>((resolve, reject) => {
      this.start = ({ repository, index }) => {
        const known = sizes.get(repository);
        // Unknown: counted from its first DescribeImages page on (growTo); only one is being sized at a time.
        const estimate = known ?? UNKNOWN_SIZE;
        if (known === undefined) this.sizing.add(repository);
        this.callers += 1;
        this.peakCallers = Math.max(this.peakCallers, this.callers);
        this.reserve(repository, estimate);
        this.peakRepositoriesInFlight = Math.max(this.peakRepositoriesInFlight, this.reserved.size);
        handle(repository, index).then(
          (result) => {
            results[index] = result;
            this.callers -= 1;
            this.sizing.delete(repository);
            this.release(repository);
            if (--left === 0) resolve(results);
            else this.pump();
          },
          (error: unknown) => reject(error as Error),
        );
      };
      this.pump();
    });
  }

  /** The repository's real size once read: its reservation follows (it may go past the bound; new ones then wait). */
  observeSize(repository: string, images: number): void {
    if (!this.reserved.has(repository)) return;
    this.sizing.delete(repository);
    this.reserve(repository, images);
    this.pump();
  }

  /** Images read so far (each DescribeImages page): the reservation grows as they arrive, never shrinks here. */
  growTo(repository: string, imagesSoFar: number): void {
    const reserved = this.reserved.get(repository);
    if (reserved !== undefined && imagesSoFar > reserved) this.reserve(repository, imagesSoFar);
    // A first page short of DescribeImages' 1,000 is the only page: the repository is small, the next may start.
    if (imagesSoFar < DESCRIBE_PAGE_SIZE && this.sizing.delete(repository)) this.pump();
  }

  /** Frees the caller's call slot while `wait` runs (a preview, a write token), and takes one back after. */
  async whileWaiting<T>(wait: () => Promise<T>): Promise<T> {
    this.callers -= 1;
    this.pump();
    try {
      return await wait();
    } finally {
      await new Promise<void>((resolve) => {
        this.returning.push(resolve);
        this.pump();
      });
    }
  }

  /**
   * A call slot nobody can use now (every repository that may start has started, none is coming back), for one extra
   * call of a repository in flight; false when there is none. Give it back with returnSlot once the call is done.
   */
  borrowIdleSlot(): boolean {
    if (this.pumping > 0 || this.callers >= this.limits.concurrency || this.returning.length > 0 || this.mayStartNext()) return false;
    this.callers += 1;
    this.peakCallers = Math.max(this.peakCallers, this.callers);
    return true;
  }

  returnSlot(): void {
    this.callers -= 1;
    this.pump();
  }

  private reserve(repository: string, images: number): void {
    this.imagesInFlight += images - (this.reserved.get(repository) ?? 0);
    this.reserved.set(repository, images);
    this.peakImagesInFlight = Math.max(this.peakImagesInFlight, this.imagesInFlight);
  }

  private release(repository: string): void {
    this.imagesInFlight -= this.reserved.get(repository) ?? 0;
    this.reserved.delete(repository);
  }

  private pump(): void {
    // A repository started here runs until its first wait, and must not borrow the slot the next one is about to take.
    this.pumping += 1;
    try {
      while (this.callers < this.limits.concurrency) {
        // Repositories already in flight go first: they hold memory until they finish.
        const back = this.returning.shift();
        if (back) {
          this.callers += 1;
          this.peakCallers = Math.max(this.peakCallers, this.callers);
          back();
          continue;
        }
        if (!this.mayStartNext()) return;
        this.start!(this.queue.shift()!);
      }
    } finally {
      this.pumping -= 1;
    }
  }

  /** The next repository in line may start now (given a free call slot). */
  private mayStartNext(): boolean {
    const next = this.queue[0];
    if (!next || !this.start) return false;
    // A repository never seen may be the biggest of all (a first night knows no sizes): two are sized at a time.
    const unknown = this.sizes?.get(next.repository) === undefined;
    if (unknown && this.sizing.size >= UNKNOWN_AT_ONCE) return false;
    const size = this.estimateOf(next.repository);
    // A repository bigger than the bound runs with half the bound beside it, not alone: small ones keep the write
    // stream busy while it reads and plans.
    const largest = Math.max(0, ...this.reserved.values());
    const bound = Math.max(this.limits.maxImagesInFlight, largest + Math.floor(this.limits.maxImagesInFlight / 2));
    return this.reserved.size === 0 || this.imagesInFlight + size <= bound;
  }

  private sizes?: ReadonlyMap<string, number>;
  private estimateOf(repository: string): number {
    return this.sizes?.get(repository) ?? UNKNOWN_SIZE;
  }
}
