// Planner throughput on synthetic repositories shaped like a busy CI registry (used by scripts/bench.ts).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseConfig } from '../lambda/domain/config.js';
import { planRepository } from '../lambda/domain/planner.js';
import type { Digest, RepositoryInventory } from '../lambda/domain/types.js';
import { DAY, InventoryBuilder, T0 } from '../test/support/inventory-builder.js';

/** About `images` images: buildx builds (index + 2 platforms + 2 attestations), cache pushes, PR singles, referrers. */
export function syntheticInventory(images: number, repository = 'bench'): { inventory: RepositoryInventory; pins: Digest[] } {
  const repo = new InventoryBuilder(repository);
  const pins: Digest[] = [];
  let at = T0;
  for (let build = 0; repo.images.length < images; build++) {
    at += 20 * 60_000;
    const tags = build % 10 === 0 ? [`ci-${build}`, 'main'] : [`ci-${build}`];
    const b = repo.buildx({ tags, pushedAt: at });
    if (build % 2 === 0) repo.cache({ pushedAt: at });
    if (build % 5 === 0) repo.single({ tags: [`pr-${build}`], pushedAt: at });
    if (build % 50 === 0) repo.referrer({ subject: b.index, pushedAt: at });
    if (build % 200 === 0) pins.push(b.index);
  }
  return { inventory: repo.inventory(), pins };
}

export interface PlannerBench {
  images: number;
  cpuMs: number;
  wallMs: number;
  imagesPerSecond: number;
  expired: number;
  heapUsedMb: number;
}

export function benchPlanner(images: number): PlannerBench {
  const { inventory, pins } = syntheticInventory(images);
  const config = parseConfig({ maxExpireShare: 1, maxTagAdditionsPerRun: 100_000, ciTags: [{ pattern: 'ci-*', keep: 25 }, { pattern: 'pr-*', keep: 10 }] }, 'bench');
  const now = T0 + 400 * DAY;
  const pinned = new Map(pins.map((d) => [d, ['bench']]));
  // The fixture's garbage (about 100 MB of manifests and builders) is collected before the clock starts, so the
  // collector's background threads do not bill it to the planner. In the Lambda the inventory is read over minutes of
  // network waits, and the planner starts on a settled heap.
  collectGarbage();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const plan = planRepository({
    inventory,
    config,
    pins: { known: true, digests: pinned },
    state: null,
    currentPolicyText: null,
    now,
  });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return {
    images: inventory.images.length,
    cpuMs: Math.round(cpuMs),
    wallMs: Math.round(wallMs),
    imagesPerSecond: Math.round(inventory.images.length / (cpuMs / 1000)),
    expired: plan.totals.expire.images,
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}

/** A full garbage collection, without starting node with --expose-gc (a new context gets the gc function). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
