// Accounting for the report: what disappeared since the previous run, and what it cost.
import type { RepositoryInventory, RepositoryState } from './types.js';

const BYTES_PER_GB = 1024 ** 3; // AWS bills storage per GB-month of 2^30 bytes

export interface Amount {
  images: number;
  bytes: number;
}

/** Images the previous run saw that are gone now, with the bytes the previous inventory gave them. */
export function reapedSince(previous: RepositoryState | null, inventory: RepositoryInventory): Amount {
  const before = previous?.lastInventory;
  if (!before) return { images: 0, bytes: 0 };
  const present = new Set(inventory.images.map((image) => image.digest));
  let images = 0;
  let bytes = 0;
  for (let i = 0; i < before.digests.length; i++) {
    if (present.has(before.digests[i]!)) continue;
    images += 1;
    bytes += before.bytes[i]!;
  }
  return { images, bytes };
}

/** One image the previous run saw that is gone now: what the "expired-images" Logs Insights query lists. */
export interface GoneImage {
  digest: string;
  bytes: number;
  /** The tags it had at the previous run (protection tags aside); none for an untagged image. */
  tags: string[];
}

/**
 * Every image of the previous inventory missing from this one, largest first. Gone means expired by the lifecycle
 * policy or deleted by anyone else: ECR's inventory cannot tell them apart.
 */
export function goneSince(previous: RepositoryState | null, inventory: RepositoryInventory): GoneImage[] {
  const before = previous?.lastInventory;
  if (!before) return [];
  const present = new Set(inventory.images.map((image) => image.digest));
  const tagsOf = new Map<string, string[]>();
  for (const [tag, digest] of Object.entries(before.tags ?? {})) {
    const tags = tagsOf.get(digest);
    if (tags) tags.push(tag);
    else tagsOf.set(digest, [tag]);
  }
  const gone: GoneImage[] = [];
  for (let i = 0; i < before.digests.length; i++) {
    const digest = before.digests[i]!;
    if (!present.has(digest)) gone.push({ digest, bytes: before.bytes[i]!, tags: (tagsOf.get(digest) ?? []).sort() });
  }
  return gone.sort((a, b) => b.bytes - a.bytes || a.digest.localeCompare(b.digest));
}

/** Monthly storage cost of `bytes` at `pricePerGbMonth`; an upper bound, since layers shared by images are billed once. */
export function monthlyCostUsd(bytes: number, pricePerGbMonth: number): number {
  return Math.round((bytes / BYTES_PER_GB) * pricePerGbMonth * 100) / 100;
}
