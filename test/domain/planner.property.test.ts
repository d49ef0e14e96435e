// Invariants of the planner over random CI histories (fast-check): what must never be expired, what must be kept,
// and that a plan is stable and tells the truth about what ECR's lifecycle will then do.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { buildImageGraph } from '../../lambda/domain/graph.js';
import { tagMatchesPattern } from '../../lambda/domain/patterns.js';
import { type PinKnowledge, planRepository } from '../../lambda/domain/planner.js';
import type { Digest, JanitorConfig, RepositoryInventory, RepositoryPlan } from '../../lambda/domain/types.js';
import { applyTagChanges, installedPolicyAfter, runLifecycle } from '../support/apply-plan.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

type Event =
  | { kind: 'buildx'; tag: 'ci' | 'main' | 'release' | 'none'; platforms: number; attestations: boolean }
  | { kind: 'cache' }
  | { kind: 'single'; tag: 'ci' | 'pr' | 'none' }
  | { kind: 'referrer'; pick: number }
  | { kind: 'pin'; pick: number };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('buildx' as const), tag: fc.constantFrom('ci', 'main', 'release', 'none'), platforms: fc.integer({ min: 1, max: 3 }), attestations: fc.boolean() }),
  fc.record({ kind: fc.constant('cache' as const) }),
  fc.record({ kind: fc.constant('single' as const), tag: fc.constantFrom('ci', 'pr', 'none') }),
  fc.record({ kind: fc.constant('referrer' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('pin' as const), pick: fc.nat() }),
);

interface World {
  inventory: RepositoryInventory;
  pinned: Digest[];
  config: JanitorConfig;
  now: number;
}

const worldArb: fc.Arbitrary<World> = fc
  .record({
    events: fc.array(eventArb, { minLength: 1, maxLength: 60 }),
    hoursBetween: fc.integer({ min: 1, max: 30 }),
    untaggedExpireDays: fc.integer({ min: 1, max: 5 }),
    keepCi: fc.integer({ min: 1, max: 6 }),
    keepPr: fc.integer({ min: 1, max: 4 }),
    daysAfter: fc.integer({ min: 0, max: 10 }),
  })
  .map(({ events, hoursBetween, untaggedExpireDays, keepCi, keepPr, daysAfter }) => {
    const repo = new InventoryBuilder();
    const pinned: Digest[] = [];
    let at = T0;
    let n = 0;
    for (const event of events) {
      at += hoursBetween * 3_600_000;
      n += 1;
      const tagFor = (tag: string) => (tag === 'ci' ? [`ci-${n}`] : tag === 'pr' ? [`pr-${n}`] : tag === 'main' ? ['main'] : tag === 'release' ? [`v${n}`] : []);
      if (event.kind === 'buildx') repo.buildx({ tags: tagFor(event.tag), pushedAt: at, platforms: event.platforms, attestations: event.attestations });
      else if (event.kind === 'cache') repo.cache({ pushedAt: at });
      else if (event.kind === 'single') repo.single({ tags: tagFor(event.tag), pushedAt: at });
      else if (repo.images.length > 0) {
        const target = repo.images[event.pick % repo.images.length]!;
        if (event.kind === 'referrer') repo.referrer({ subject: target.digest, pushedAt: at });
        else pinned.push(target.digest);
      }
    }
    const config = parseConfig(
      { untaggedExpireDays, maxExpireShare: 1, ciTags: [{ pattern: 'ci-*', keep: keepCi }, { pattern: 'pr-*', keep: keepPr }], protectedTags: ['v*'] },
      'property',
    );
    return { inventory: repo.inventory(), pinned, config, now: at + daysAfter * DAY };
  });

function pinsOf(digests: Digest[]): PinKnowledge {
  return { known: true, digests: new Map(digests.map((d) => [d, ['config']])) };
}

function planOf(world: World, inventory = world.inventory, policy: string | null = null, state: RepositoryPlan['nextState'] | null = null) {
  return planRepository({ inventory, config: world.config, pins: pinsOf(world.pinned), state, currentPolicyText: policy, now: world.now });
}

/** One night: plan, apply the plan, then ECR's lifecycle runs. */
function night(world: World) {
  const plan = planOf(world);
  const tagged = applyTagChanges(world.inventory, plan);
  const policy = installedPolicyAfter(plan);
  const after = runLifecycle(tagged, policy, world.now);
  return { plan, tagged, policy, after: after.inventory, expired: after.expired };
}

const RUNS = { numRuns: 150 };

describe('planner invariants', () => {
  it('never expires a pinned digest', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const { plan, after } = night(world);
        const present = new Set(after.images.map((i) => i.digest));
        for (const digest of world.pinned) {
          expect(plan.images.find((i) => i.digest === digest)?.decision).toBe('protect');
          expect(present.has(digest)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('never expires a child or a referrer of an image that is kept, nor the current buildcache', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const { after } = night(world);
        const graph = buildImageGraph(after);
        for (const node of graph.nodes.values()) {
          expect(node.missingChildren).toEqual([]); // every child of a surviving index survived
          for (const referrer of world.inventory.images.filter((i) => i.subjectDigest === node.record.digest)) {
            expect(graph.nodes.has(referrer.digest)).toBe(true);
          }
        }
        const cache = world.inventory.images.find((i) => i.tags.includes('buildcache'));
        if (cache) expect(graph.nodes.get(cache.digest)?.record.tags).toContain('buildcache');
      }),
      RUNS,
    );
  });

  it('keeps the N newest images of each CI pattern', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const { after } = night(world);
        const present = new Set(after.images.map((i) => i.digest));
        for (const { pattern, keep } of world.config.ciTags) {
          const newest = world.inventory.images
            .filter((i) => i.tags.some((t) => tagMatchesPattern(t, pattern)))
            .sort((a, b) => b.pushedAt - a.pushedAt)
            .slice(0, keep);
          for (const image of newest) expect(present.has(image.digest)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('tells the truth: what the plan expires is exactly what the lifecycle then expires', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const { plan, tagged, expired } = night(world);
        const removedWithLastTag = new Set(world.inventory.images.map((i) => i.digest).filter((d) => !tagged.images.some((i) => i.digest === d)));
        const planned = plan.images.filter((i) => i.decision === 'expire' && !removedWithLastTag.has(i.digest)).map((i) => i.digest);
        const orphanReferrers = new Set(tagged.images.filter((i) => i.subjectDigest).map((i) => i.digest));
        expect(new Set(expired.filter((d) => !orphanReferrers.has(d) || planned.includes(d)))).toEqual(new Set(planned));
      }),
      RUNS,
    );
  });

  it('loses no pin, old or new, through a night when pin discovery fails', () => {
    fc.assert(
      fc.property(worldArb, fc.array(fc.nat(), { maxLength: 4 }), fc.integer({ min: 1, max: 48 }), (world, picks, hoursLater) => {
        // Night 1 with pins known; night 2 discovery fails while deployments pin new images; ECR's lifecycle then runs
        // any time up to a day after night 2.
        const first = night(world);
        const images = first.after.images;
        const newPins = images.length === 0 ? [] : picks.map((p) => images[p % images.length]!.digest);
        const night2 = world.now + hoursLater * 3_600_000;
        const blind = planRepository({
          inventory: first.after,
          config: world.config,
          pins: { known: false, reason: 'ecs: ThrottlingException' },
          state: first.plan.nextState,
          currentPolicyText: first.policy,
          now: night2,
        });
        const tagged = applyTagChanges(first.after, blind);
        const after = runLifecycle(tagged, installedPolicyAfter(blind), night2 + 24 * 3_600_000).inventory;
        const present = new Set(after.images.map((i) => i.digest));
        for (const digest of [...world.pinned, ...newPins]) expect(present.has(digest)).toBe(true);
      }),
      RUNS,
    );
  });

  it('is idempotent: planning again after applying the plan changes nothing', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const { plan, tagged, policy } = night(world);
        const again = planOf(world, tagged, policy, plan.nextState);
        expect(again.protectTags).toEqual({ add: [], remove: [] });
        expect(again.policy.action).toBe('unchanged');
        const decisions = (p: RepositoryPlan) => new Map(p.images.map((i) => [i.digest, i.decision]));
        const before = decisions(plan);
        for (const [digest, decision] of decisions(again)) expect(decision).toBe(before.get(digest));
      }),
      RUNS,
    );
  });
});
