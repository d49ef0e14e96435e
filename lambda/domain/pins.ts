// Pins: what deployments use, resolved to digests present in one repository's inventory.
import type { Digest, PinReference, RepositoryInventory } from './types.js';

export interface ResolvedPins {
  /** Pinned digest -> the sources that pin it (by digest or through a tag). */
  digests: Map<Digest, string[]>;
  /** References that name nothing in this repository (tag or digest absent): reported, nothing to protect. */
  unresolved: PinReference[];
}

/** Tags resolve against this inventory: a deployment that runs `app:1.4` pins whatever `1.4` points to now. */
export function resolvePins(references: readonly PinReference[], inventory: RepositoryInventory): ResolvedPins {
  const byTag = new Map<string, Digest>();
  const present = new Set<Digest>();
  for (const image of inventory.images) {
    present.add(image.digest);
    for (const tag of image.tags) byTag.set(tag, image.digest);
  }
  const digests = new Map<Digest, string[]>();
  const unresolved: PinReference[] = [];
  const pin = (digest: Digest, source: string) => {
    const sources = digests.get(digest);
    if (!sources) digests.set(digest, [source]);
    else if (!sources.includes(source)) sources.push(source);
  };
  for (const ref of references) {
    if (ref.repository !== inventory.repository) continue;
    // A reference with both tag and digest runs the digest: the tag may have moved since.
    const digest = ref.digest ?? (ref.tag !== undefined ? byTag.get(ref.tag) : undefined);
    if (digest && present.has(digest)) pin(digest, ref.source);
    else unresolved.push(ref);
  }
  return { digests, unresolved };
}
