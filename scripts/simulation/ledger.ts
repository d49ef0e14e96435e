// The ledger: every manifest the workload pushed, recorded from its client, in an ECR model nobody ever deletes from.
// It is the no-janitor world (stored bytes = everything ever pushed, each manifest once) and the ground truth the
// live-set minimum is computed from, independent of what any cleaning world kept or lost.
import type { ECRClient, PutImageCommandInput } from '@aws-sdk/client-ecr';
import { tagMatchesPattern } from '../../lambda/domain/patterns.js';
import type { CiTagRule, Digest } from '../../lambda/domain/types.js';
import { EcrApiError, RegistryModel, type RepositoryStore } from '../../emulator/registry-model.js';
import type { Footprint, PullTarget } from './world.js';

export class Ledger {
  readonly model: RegistryModel;

  constructor(accountId: string, repositories: readonly string[], start: number) {
    this.model = new RegistryModel({ accountId, now: start });
    for (const name of repositories) this.model.createRepository(name);
  }

  /** Records each PutImage the client completes (once per command, after the SDK's retries succeeded). */
  attach(client: ECRClient, clock: () => number): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'PutImageCommand') this.record(args.input as PutImageCommandInput, clock());
        return result;
      },
      { step: 'initialize', name: 'simulationLedger' },
    );
  }

  private record(input: PutImageCommandInput, at: number): void {
    if (!input.repositoryName || input.imageManifest === undefined) return;
    this.model.setClock(at);
    try {
      this.model.repository(input.repositoryName).putImage({
        manifest: input.imageManifest,
        ...(input.imageManifestMediaType !== undefined ? { mediaType: input.imageManifestMediaType } : {}),
        ...(input.imageTag !== undefined ? { tag: input.imageTag } : {}),
      });
    } catch (error) {
      if (!(error instanceof EcrApiError && error.code === 'ImageAlreadyExistsException')) throw error;
    }
  }

  /** Everything ever pushed, each manifest once. */
  footprint(): Footprint {
    let images = 0;
    let bytes = 0;
    for (const store of this.model.listRepositories()) {
      for (const image of store.allImages()) {
        images += 1;
        bytes += image.ownSizeBytes;
      }
    }
    return { images, bytes };
  }

  referrersOf(repository: string, digest: Digest): Digest[] {
    return this.model.repository(repository).referrers(digest).map((image) => image.digest);
  }

  /**
   * What the config intends to keep right now: the live images (and recent pins) plus the `keep` newest builds of each
   * CI pattern per repository, each with every manifest it lists and every referrer about it, each manifest once.
   */
  liveSetMinimum(live: readonly PullTarget[], ciTags: readonly CiTagRule[]): Footprint & { digests: Set<string> } {
    let images = 0;
    let bytes = 0;
    const digests = new Set<string>();
    for (const store of this.model.listRepositories()) {
      const roots = live.filter((t) => t.repository === store.name).map((t) => t.digest);
      for (const rule of ciTags) roots.push(...newestTagged(store, rule));
      for (const digest of closure(store, roots)) {
        images += 1;
        bytes += store.image(digest)!.ownSizeBytes;
        digests.add(`${store.name}@${digest}`);
      }
    }
    return { images, bytes, digests };
  }
}

/** The `keep` newest images carrying a tag of the CI pattern (ECR ranks by push time). */
function newestTagged(store: RepositoryStore, rule: CiTagRule): Digest[] {
  const matching = store.allImages().filter((image) => image.tags.some((tag) => tagMatchesPattern(tag, rule.pattern)));
  matching.sort((a, b) => b.pushedAt - a.pushedAt || b.seq - a.seq);
  return matching.slice(0, rule.keep).map((image) => image.digest);
}

/** The roots, the manifests they list (transitively) and the referrers of anything kept. */
function closure(store: RepositoryStore, roots: readonly Digest[]): Set<Digest> {
  const kept = new Set<Digest>();
  const pending = [...roots];
  while (pending.length > 0) {
    const digest = pending.pop()!;
    const image = store.image(digest);
    if (!image || kept.has(digest)) continue;
    kept.add(digest);
    pending.push(...image.listedDigests);
    for (const referrer of store.referrers(digest)) pending.push(referrer.digest);
  }
  return kept;
}
