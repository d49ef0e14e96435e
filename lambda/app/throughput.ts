// One night for a big account in one invocation: the scheduler (largest first, bounded calls and images in flight),
// pipelined previews, and writes on their own rate-limited stream, put together around the registry port.
import type { Digest } from '../domain/types.js';
import type { RegistryPort, StateStore } from './ports.js';
import type { PreviewPipeline } from './preview-pipeline.js';
import { largestFirst, type RepositoryScheduler, sizesFromState } from './schedule-repositories.js';

export interface Throughput {
  scheduler: RepositoryScheduler;
  /** When given, previews are started and polled by its one loop instead of each repository waiting on its own. */
  previews?: PreviewPipeline;
  /** Read each repository's last size from its state to start the largest first (default true). */
  largestFirst?: boolean;
}

/** The registry the repositories see: a preview or a write token frees the caller's slot while it waits. */
export function scheduledRegistry(registry: RegistryPort, throughput: Throughput): RegistryPort {
  const { scheduler, previews } = throughput;
  return {
    ...registry,
    async describeImages(repository, onPage) {
      const images = await registry.describeImages(repository, (imagesSoFar) => {
        scheduler.growTo(repository, imagesSoFar);
        onPage?.(imagesSoFar);
      });
      scheduler.observeSize(repository, images.length);
      return images;
    },
    getManifests: (repository, digests, extraMediaTypes) => manifestsOnIdleSlots(registry, scheduler, repository, digests, extraMediaTypes),
    previewLifecyclePolicy: previews
      ? (repository, policyText) => scheduler.whileWaiting(() => previews.preview(repository, policyText))
      : (repository, policyText) => registry.previewLifecyclePolicy(repository, policyText),
  };
}

/** BatchGetImage takes at most 100 image ids a call (Amazon ECR API Reference, BatchGetImage: imageIds, 1 to 100). */
const MANIFESTS_PER_CALL = 100;
/** Calls of one repository's BatchGetImage at once on borrowed slots, besides its own. */
const MOST_BORROWED = 3;

/**
 * A big repository's index manifests (one BatchGetImage per 100) read on its own slot and on call slots nobody else
 * can use now: on a first night the largest repositories are read while small ones wait on the memory bound, and
 * their manifests came one call after another. The same calls with the same ids as one after another, and the same
 * answer: the manifests read, each failure by digest; a call that throws fails the whole read, as before.
 */
async function manifestsOnIdleSlots(registry: RegistryPort, scheduler: RepositoryScheduler, repository: string, digests: Digest[], extraMediaTypes?: readonly string[]): ReturnType<RegistryPort['getManifests']> {
  const unique = [...new Set(digests)];
  if (unique.length <= MANIFESTS_PER_CALL) return registry.getManifests(repository, unique, extraMediaTypes);
  const batches: Digest[][] = [];
  for (let i = 0; i < unique.length; i += MANIFESTS_PER_CALL) batches.push(unique.slice(i, i + MANIFESTS_PER_CALL));
  const result: Awaited<ReturnType<RegistryPort['getManifests']>> = { manifests: {}, failures: {} };
  let next = 0;
  let failed = false;
  let borrowed = 0;
  const readBatch = async (batch: Digest[]) => {
    const part = await registry.getManifests(repository, batch, extraMediaTypes);
    Object.assign(result.manifests, part.manifests);
    Object.assign(result.failures, part.failures);
  };
  const helpers: Promise<void>[] = [];
  // A helper holds a borrowed slot for one call at a time, so a repository coming back from a wait gets it first.
  const helper = async () => {
    try {
      while (!failed && next < batches.length) {
        await readBatch(batches[next++]!);
        scheduler.returnSlot();
        if (failed || next >= batches.length || !scheduler.borrowIdleSlot()) return;
      }
      scheduler.returnSlot();
    } catch (error) {
      failed = true;
      scheduler.returnSlot();
      throw error;
    } finally {
      borrowed -= 1;
    }
  };
  let ownError: unknown;
  try {
    while (!failed && next < batches.length) {
      while (borrowed < MOST_BORROWED && next + 1 < batches.length && scheduler.borrowIdleSlot()) {
        borrowed += 1;
        const running = helper();
        // Its failure is read below, with the others'; until then it must not count as unhandled.
        running.catch(() => {});
        helpers.push(running);
      }
      await readBatch(batches[next++]!);
    }
  } catch (error) {
    failed = true;
    ownError = error;
  }
  // Every call in flight ends before the answer (or the error) goes back: nothing of this read runs on after it.
  const settled = await Promise.allSettled(helpers);
  if (ownError !== undefined) throw ownError;
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return result;
}

/** Runs every repository through the scheduler; reports come back in the order of `repositories`. */
export async function runScheduled<T>(
  throughput: Throughput,
  stateStore: StateStore,
  repositories: readonly string[],
  concurrency: number,
  handle: (repository: string, index: number) => Promise<T>,
): Promise<T[]> {
  // With no more repositories than call slots the order cannot matter: no state is read twice for it.
  const sizes = throughput.largestFirst !== false && repositories.length > concurrency ? await sizesFromState(stateStore, repositories, concurrency) : new Map<string, number>();
  const ordered = largestFirst(repositories, sizes);
  const position = new Map(repositories.map((repository, index) => [repository, index]));
  const results = await throughput.scheduler.run(ordered, sizes, (repository) => handle(repository, position.get(repository)!));
  const inOrder = new Array<T>(repositories.length);
  ordered.forEach((repository, i) => (inOrder[position.get(repository)!] = results[i]!));
  return inOrder;
}
