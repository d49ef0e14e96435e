// One night for a big account in one invocation: the scheduler (largest first, bounded calls and images in flight),
// pipelined previews, and writes on their own rate-limited stream, put together around the registry port.
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
    previewLifecyclePolicy: previews
      ? (repository, policyText) => scheduler.whileWaiting(() => previews.preview(repository, policyText))
      : (repository, policyText) => registry.previewLifecyclePolicy(repository, policyText),
  };
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
