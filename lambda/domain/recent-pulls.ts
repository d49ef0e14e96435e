// Recent pulls as a safety net for consumers no pin source sees (EKS, on-premises, other tools): with
// keepPulledWithinDays set, an image pulled that recently counts as pinned. Pulls the janitor caused do not count:
// BatchGetImage is a pull for ECR (it moves lastRecordedPullTime), and the janitor knows when it read which manifest.
// ECR records the pull time "at least once every 24 hours" (API reference, ImageDetail.lastRecordedPullTime), so a
// pull by someone else within a day after the janitor's read may stay hidden behind it until the next refresh.
import { DAY_MS } from './time.js';
import type { Digest, ImageRecord } from './types.js';

/** A recorded pull this close to one of the janitor's own reads is that read. */
export const JANITOR_READ_WINDOW_MS = 10 * 60_000;

export interface RecentPulls {
  /** Digest -> why it is kept (as a pin source name). Empty when keepPulledWithinDays is off. */
  pinned: Map<Digest, string>;
  /** Images whose last recorded pull was the janitor's own read. */
  discounted: number;
}

export function recentPulls(
  images: readonly ImageRecord[],
  keepPulledWithinDays: number | undefined,
  janitorReads: Readonly<Record<Digest, number>>,
  now: number,
): RecentPulls {
  const pinned = new Map<Digest, string>();
  let discounted = 0;
  if (keepPulledWithinDays === undefined) return { pinned, discounted };
  for (const image of images) {
    const pulledAt = image.lastPulledAt;
    if (pulledAt === undefined || now - pulledAt > keepPulledWithinDays * DAY_MS) continue;
    const read = janitorReads[image.digest];
    if (read !== undefined && Math.abs(pulledAt - read) <= JANITOR_READ_WINDOW_MS) {
      discounted += 1;
      continue;
    }
    pinned.set(image.digest, `pull ${Math.floor((now - pulledAt) / DAY_MS)} day(s) ago (keepPulledWithinDays ${keepPulledWithinDays})`);
  }
  return { pinned, discounted };
}
