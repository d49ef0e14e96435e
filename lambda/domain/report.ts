// Accounting for the report: what disappeared since the previous run, and what it cost.
import type { RepositoryInventory, RepositoryState } from './types.js';

const BYTES_PER_GB = 1024 ** 3; // AWS bills storage per GB-month of 2^30 bytes

export interface Amount {
  images: number;
  bytes: number;
}

/** Images the previous run saw that are gone now, with the bytes the previous inventory gave them. */
export function reapedSince(previous: RepositoryState | null, inventory: RepositoryInventory): Amount {
  const before = previous?.lastInventory?.bytes;
  if (!before) return { images: 0, bytes: 0 };
  const present = new Set(inventory.images.map((image) => image.digest));
  let images = 0;
  let bytes = 0;
  for (const [digest, size] of Object.entries(before)) {
    if (present.has(digest)) continue;
    images += 1;
    bytes += size;
  }
  return { images, bytes };
}

/** Monthly storage cost of `bytes` at `pricePerGbMonth`; an upper bound, since layers shared by images are billed once. */
export function monthlyCostUsd(bytes: number, pricePerGbMonth: number): number {
  return Math.round((bytes / BYTES_PER_GB) * pricePerGbMonth * 100) / 100;
}
