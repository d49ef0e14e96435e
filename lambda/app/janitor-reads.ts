// The janitor's own manifest reads: BatchGetImage is a pull for ECR, so keepPulledWithinDays must not mistake the
// janitor's reads for a consumer's. The registry is wrapped for one repository's handling; every digest it asks for
// is noted with the time.
import type { Digest, RepositoryState } from '../domain/types.js';
import type { Clock, RegistryPort } from './ports.js';

export function recordingReads<R extends RegistryPort>(registry: R, clock: Clock): { registry: R; reads: Map<Digest, number> } {
  const reads = new Map<Digest, number>();
  const wrapped = Object.create(registry) as R;
  wrapped.getManifests = async (repository, digests, extraMediaTypes) => {
    // Noted before the call: a read that failed half-way may still have counted as a pull.
    const at = clock.now();
    for (const digest of digests) reads.set(digest, at);
    return registry.getManifests(repository, digests, extraMediaTypes);
  };
  return { registry: wrapped, reads };
}

/** Earlier reads of images still present, with this run's on top. */
export function mergedReads(previous: Record<Digest, number> | undefined, reads: ReadonlyMap<Digest, number>, present: ReadonlySet<Digest>): Record<Digest, number> {
  const merged: Record<Digest, number> = {};
  for (const [digest, at] of Object.entries(previous ?? {})) if (present.has(digest)) merged[digest] = at;
  for (const [digest, at] of reads) merged[digest] = at;
  return merged;
}

export function withJanitorReads(state: RepositoryState, reads: Record<Digest, number>): RepositoryState {
  return Object.keys(reads).length > 0 ? { ...state, janitorReads: reads } : state;
}
