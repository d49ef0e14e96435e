// The report's accounting of what went since the previous run.
import { describe, expect, it } from 'vitest';
import { goneSince, reapedSince } from '../../lambda/domain/report.js';
import type { RepositoryInventory, RepositoryState } from '../../lambda/domain/types.js';

const state: RepositoryState = {
  repository: 'app',
  pinsLastSeen: {},
  lastInventory: { at: 0, digests: ['sha256:a', 'sha256:b', 'sha256:c'], bytes: [10, 30, 20], tags: { 'ci-1': 'sha256:b', latest: 'sha256:b', 'ci-0': 'sha256:a' } },
};

function inventoryOf(...digests: string[]): RepositoryInventory {
  return { repository: 'app', images: digests.map((digest) => ({ digest, tags: [], pushedAt: 0, bytes: 1, manifestMediaType: 'application/vnd.oci.image.manifest.v1+json' })), manifests: {} } as unknown as RepositoryInventory;
}

describe('goneSince', () => {
  it('lists each image of the previous inventory that is missing now, largest first, with the tags it had', () => {
    // Act
    const gone = goneSince(state, inventoryOf('sha256:c'));

    // Assess
    expect(gone).toEqual([
      { digest: 'sha256:b', bytes: 30, tags: ['ci-1', 'latest'] },
      { digest: 'sha256:a', bytes: 10, tags: ['ci-0'] },
    ]);
    expect(reapedSince(state, inventoryOf('sha256:c'))).toEqual({ images: 2, bytes: 40 });
  });

  it('lists nothing on a first run (no previous inventory) or when nothing went', () => {
    expect(goneSince(null, inventoryOf())).toEqual([]);
    expect(goneSince(state, inventoryOf('sha256:a', 'sha256:b', 'sha256:c'))).toEqual([]);
  });
});
