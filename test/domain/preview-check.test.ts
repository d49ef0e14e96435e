// ECR's preview against our plan: an image we keep that ECR would expire or archive stops the install, unless ECR
// cannot act on it anyway (a child of a kept index, a referrer of a kept subject).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { planRepository } from '../../lambda/domain/planner.js';
import { checkPreview } from '../../lambda/domain/preview-check.js';
import type { Digest } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

function fixture(options: { pinned?: (ids: { release: { platforms: Digest[] } }) => Digest[]; maxExpireShare?: number } = {}) {
  const repo = new InventoryBuilder();
  const release = repo.buildx({ tags: ['v1'], pushedAt: T0 });
  const stale = repo.single({ tags: [], pushedAt: T0 });
  const fresh = repo.single({ tags: [], pushedAt: T0 + 9 * DAY });
  const ci = [1, 2, 3].map((n) => repo.single({ tags: [`ci-${n}`], pushedAt: T0 + n * DAY }));
  const signed = repo.single({ tags: ['v2'], pushedAt: T0 + DAY });
  const signature = repo.referrer({ subject: signed, pushedAt: T0 + DAY });
  const pinned = options.pinned?.({ release }) ?? [];
  const plan = planRepository({
    inventory: repo.inventory(),
    config: parseConfig({ maxExpireShare: options.maxExpireShare ?? 0.5, ciTags: [{ pattern: 'ci-*', keep: 5 }] }, 'test'),
    pins: { known: true, digests: new Map(pinned.map((digest) => [digest, ['config']])) },
    state: null,
    currentPolicyText: null,
    now: T0 + 10 * DAY,
  });
  return { plan, release, stale, fresh, ci, signed, signature };
}

describe('checkPreview', () => {
  it('accepts a preview that expires what the plan expires or has pending', () => {
    // Prepare
    const { plan, stale, fresh } = fixture();

    // Act
    const verdict = checkPreview(plan, [stale, fresh], 0.5);

    // Assess
    expect(verdict).toEqual({ disagrees: false });
  });

  // User guide "Lifecycle policies": an image referenced by a manifest list cannot be expired while the list exists;
  // whether the preview lists it anyway is open (containers-roadmap #2613).
  it('accepts a preview that lists children of a kept index: ECR refuses to expire them while the index exists', () => {
    // Prepare
    const { plan, release } = fixture();
    const children = [...release.platforms, ...release.attestations];

    // Act
    const verdict = checkPreview(plan, children, 0.5);

    // Assess
    expect(verdict).toEqual({ disagrees: false, refusedByEcr: children });
  });

  it('accepts a preview that lists an OCI referrer of a kept subject: it goes with its subject', () => {
    // Prepare
    const { plan, signature } = fixture();

    // Act
    const verdict = checkPreview(plan, [signature], 0.5);

    // Assess
    expect(verdict).toEqual({ disagrees: false, refusedByEcr: [signature] });
  });

  it('does not count images ECR cannot expire towards maxExpireShare', () => {
    // Prepare: 2 expiring of 12 images is under 0.2; with the 4 children it would be over.
    const { plan, release, stale, fresh } = fixture({ maxExpireShare: 0.2 });
    const children = [...release.platforms, ...release.attestations];

    // Act
    const verdict = checkPreview(plan, [...children, stale, fresh], 0.2);

    // Assess
    expect(plan.images).toHaveLength(12);
    expect(verdict.refusal).toBeUndefined();
    expect(verdict.refusedByEcr).toEqual(children);
  });

  it('does not count the children of an index that expires now towards maxExpireShare: they go at a later run', () => {
    // Prepare: an untagged index old enough to expire, with 2 platforms and 2 attestations.
    const repo = new InventoryBuilder();
    const old = repo.buildx({ tags: [], pushedAt: T0 });
    const others = [1, 2, 3, 4, 5].map((n) => repo.single({ tags: [`v${n}`], pushedAt: T0 }));
    const plan = planRepository({
      inventory: repo.inventory(),
      config: parseConfig({ maxExpireShare: 0.2 }, 'test'),
      pins: { known: true, digests: new Map() },
      state: null,
      currentPolicyText: null,
      now: T0 + 10 * DAY,
    });
    const children = [...old.platforms, ...old.attestations];

    // Act
    const verdict = checkPreview(plan, [old.index, ...children], 0.2);

    // Assess: 1 of 10 expires now; with the children it would be 5 of 10.
    expect(others).toHaveLength(5);
    expect(plan.images.filter((i) => children.includes(i.digest)).every((i) => i.decision === 'pending')).toBe(true);
    expect(verdict).toEqual({ disagrees: false });
  });

  it('refuses, as a disagreement, a preview that expires an index child the plan keeps because it is pinned', () => {
    // Prepare: the child is pinned, so its protection is the plan's own reason, not its index.
    const { plan, release } = fixture({ pinned: ({ release }) => [release.platforms[0]!] });

    // Act
    const verdict = checkPreview(plan, [release.platforms[0]!], 0.5);

    // Assess
    expect(verdict.disagrees).toBe(true);
    expect(verdict.refusal).toMatch(/would expire 1 image\(s\) the plan keeps.*protect: pinned by config/);
  });

  it('refuses, as a disagreement, a preview that expires an image kept among the newest of its CI pattern', () => {
    // Prepare
    const { plan, ci } = fixture();

    // Act
    const verdict = checkPreview(plan, [ci[0]!], 0.5);

    // Assess
    expect(verdict).toEqual({ disagrees: true, refusal: expect.stringMatching(/keep: among the 5 newest ci-\*/) });
  });

  it('refuses, as a disagreement, a preview that would archive an image the plan keeps (archived images cannot be pulled)', () => {
    // Prepare
    const { plan, ci } = fixture();

    // Act
    const verdict = checkPreview(plan, [], 0.5, [ci[2]!]);

    // Assess
    expect(verdict.disagrees).toBe(true);
    expect(verdict.refusal).toMatch(/would archive 1 image\(s\) the plan keeps/);
  });

  // The tie order of equal push times is not documented; the pessimistic reading ranks them the other way round.
  describe('equal push times', () => {
    function tied(pinnedIndex?: number) {
      const repo = new InventoryBuilder();
      const builds = [1, 2, 3, 4].map((n) => repo.single({ tags: [`ci-${n}`], pushedAt: T0 }));
      const plan = planRepository({
        inventory: repo.inventory(),
        config: parseConfig({ maxExpireShare: 1, ciTags: [{ pattern: 'ci-*', keep: 2 }] }, 'test'),
        pins: { known: true, digests: new Map(pinnedIndex === undefined ? [] : [[builds[pinnedIndex]!, ['config']]]) },
        state: null,
        currentPolicyText: null,
        now: T0 + DAY,
      });
      const byDecision = (decision: string) => plan.images.filter((i) => i.decision === decision).map((i) => i.digest);
      return { plan, expired: byDecision('expire'), kept: byDecision('keep'), protectedImages: byDecision('protect') };
    }

    it('accepts ECR expiring another of the images pushed at the same instant, the count unchanged', () => {
      // Prepare
      const { plan, expired, kept } = tied();

      // Act
      const verdict = checkPreview(plan, [expired[0]!, kept[0]!], 1);

      // Assess
      expect(expired).toHaveLength(2);
      expect(verdict).toEqual({ disagrees: false, tiesOrderedOtherwise: [kept[0]] });
    });

    it('refuses when ECR expires more of them than the plan (no image of the plan left to pair with)', () => {
      // Prepare
      const { plan, expired, kept } = tied();

      // Act
      const verdict = checkPreview(plan, [...expired, kept[0]!], 1);

      // Assess
      expect(verdict.disagrees).toBe(true);
    });

    it('never pairs a protected image', () => {
      // Prepare
      const { plan, expired, protectedImages } = tied(0);

      // Act
      const verdict = checkPreview(plan, [expired[0]!, protectedImages[0]!], 1);

      // Assess
      expect(verdict.disagrees).toBe(true);
    });
  });

  it('refuses, as a disagreement, a preview that deletes an image the plan only archives', () => {
    // Prepare: a merged foreign rule archives images not pulled for 90 days ("Examples of lifecycle policies").
    const repo = new InventoryBuilder();
    const idle = repo.single({ tags: ['v1'], pushedAt: T0 });
    const foreign = JSON.stringify({
      rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['v*'], countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: { type: 'transition', targetStorageClass: 'archive' } }],
    });
    const plan = planRepository({
      inventory: repo.inventory(),
      config: parseConfig({ maxExpireShare: 1 }, 'test'),
      pins: { known: true, digests: new Map() },
      state: null,
      currentPolicyText: foreign,
      now: T0 + 100 * DAY,
    });

    // Act
    const deleted = checkPreview(plan, [idle], 1);
    const archived = checkPreview(plan, [], 1, [idle]);

    // Assess
    expect(plan.images[0]).toMatchObject({ digest: idle, decision: 'expire', reason: expect.stringMatching(/^archived by rule/) });
    expect(deleted).toEqual({ disagrees: true, refusal: expect.stringMatching(/would expire 1 image\(s\) the plan keeps \(or only archives\)/) });
    expect(archived).toEqual({ disagrees: false });
  });

  it('refuses a preview that expires more than maxExpireShare', () => {
    // Prepare
    const { plan, stale, fresh } = fixture();
    const strangers = ['a', 'b', 'c', 'd', 'e'].map((hex) => 'sha256:' + hex.repeat(64));

    // Act
    const verdict = checkPreview(plan, [stale, fresh, ...strangers], 0.5);

    // Assess
    expect(verdict).toEqual({ disagrees: false, refusal: expect.stringMatching(/7 of 12 images at once/) });
  });
});
