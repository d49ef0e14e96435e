// Planner scenarios: what a nightly run decides for real-shaped repositories, and what survives ECR's lifecycle after.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { type PinKnowledge, planRepository } from '../../lambda/domain/planner.js';
import { policyToText, renderPolicy } from '../../lambda/domain/policy.js';
import type { Digest, JanitorConfig, RepositoryInventory, RepositoryPlan, RepositoryState } from '../../lambda/domain/types.js';
import { applyTagChanges, installedPolicyAfter, runLifecycle } from '../support/apply-plan.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

const NO_PINS: PinKnowledge = { known: true, digests: new Map() };

function config(overrides: Record<string, unknown> = {}): JanitorConfig {
  return parseConfig({ maxExpireShare: 1, ...overrides }, 'test');
}

function pinsOf(...digests: Digest[]): PinKnowledge {
  return { known: true, digests: new Map(digests.map((d) => [d, ['config']])) };
}

function plan(
  inventory: RepositoryInventory,
  options: { config?: JanitorConfig; pins?: PinKnowledge; state?: RepositoryState | null; policy?: string | null; now: number },
): RepositoryPlan {
  return planRepository({
    inventory,
    config: options.config ?? config(),
    pins: options.pins ?? NO_PINS,
    state: options.state ?? null,
    currentPolicyText: options.policy ?? null,
    now: options.now,
  });
}

function decisionOf(p: RepositoryPlan, digest: Digest) {
  const image = p.images.find((i) => i.digest === digest);
  if (!image) throw new Error(`no decision for ${digest}`);
  return image;
}

/** Apply the plan (tags, policy), then let ECR's lifecycle run once. */
function applyAndExpire(inventory: RepositoryInventory, p: RepositoryPlan, now: number) {
  const tagged = applyTagChanges(inventory, p);
  const policy = installedPolicyAfter(p);
  return { ...runLifecycle(tagged, policy, now), policy };
}

describe('planRepository scenarios', () => {
  it('keeps a tagged multi-arch index with its untagged children and attestations past the untagged expiry', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const build = repo.buildx({ tags: ['v1.0.0'], pushedAt: T0 });
    const now = T0 + 10 * DAY;

    // Act
    const p = plan(repo.inventory(), { now });
    const after = applyAndExpire(repo.inventory(), p, now);

    // Assess
    expect(p.totals.expire.images).toBe(0);
    for (const child of build.platforms) expect(decisionOf(p, child)).toMatchObject({ decision: 'keep', reason: expect.stringMatching(/^part of kept index/) });
    for (const att of build.attestations) expect(decisionOf(p, att)).toMatchObject({ decision: 'keep', kind: 'attestation', reason: expect.stringMatching(/^attestation in kept index/) });
    expect(after.expired).toEqual([]);
  });

  it('reaps the old index when its tag moves to a new build, and its children at the next run', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const old = repo.buildx({ tags: ['main'], pushedAt: T0 });
    const current = repo.buildx({ tags: ['main'], pushedAt: T0 + 5 * DAY });
    const night1 = T0 + 10 * DAY;

    // Act
    const first = plan(repo.inventory(), { now: night1 });
    const afterNight1 = applyAndExpire(repo.inventory(), first, night1);
    const second = plan(afterNight1.inventory, { now: night1 + DAY, policy: afterNight1.policy });
    const afterNight2 = applyAndExpire(afterNight1.inventory, second, night1 + DAY);

    // Assess
    expect(decisionOf(first, old.index)).toMatchObject({ decision: 'expire', rule: 4 });
    for (const child of [...old.platforms, ...old.attestations]) {
      expect(decisionOf(first, child)).toMatchObject({ decision: 'pending', reason: expect.stringMatching(/which expires now/) });
    }
    expect(afterNight1.expired).toEqual([old.index]);
    for (const child of [...old.platforms, ...old.attestations]) expect(decisionOf(second, child).decision).toBe('expire');
    expect(new Set(afterNight2.expired)).toEqual(new Set([...old.platforms, ...old.attestations]));
    const left = new Set(afterNight2.inventory.images.map((i) => i.digest));
    expect(left).toEqual(new Set([current.index, ...current.platforms, ...current.attestations]));
  });

  it('keeps only the current :buildcache of 10 superseded cache manifests', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const caches = Array.from({ length: 11 }, (_, day) => repo.cache({ pushedAt: T0 + day * DAY }));
    const now = T0 + 14 * DAY;

    // Act
    const p = plan(repo.inventory(), { now });
    const after = applyAndExpire(repo.inventory(), p, now);

    // Assess
    const current = caches.at(-1)!;
    expect(decisionOf(p, current)).toMatchObject({ decision: 'protect', kind: 'cache', reason: 'tag buildcache matches protected pattern buildcache' });
    for (const superseded of caches.slice(0, -1)) expect(decisionOf(p, superseded)).toMatchObject({ decision: 'expire', kind: 'cache' });
    expect(after.inventory.images.map((i) => i.digest)).toEqual([current]);
  });

  it('does not let 100 PR images push a protected or a pinned image out', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const pinned = repo.single({ tags: ['pr-1'], pushedAt: T0 });
    const released = repo.single({ tags: ['pr-2', 'release-2026.01'], pushedAt: T0 + 1 });
    for (let n = 0; n < 100; n++) repo.single({ tags: [`pr-${100 + n}`], pushedAt: T0 + DAY + n * 60_000 });
    const cfg = config({ ciTags: [{ pattern: 'pr-*', keep: 20 }], protectedTags: ['release-*'] });
    const now = T0 + 2 * DAY;

    // Act
    const p = plan(repo.inventory(), { config: cfg, pins: pinsOf(pinned), now });
    const after = applyAndExpire(repo.inventory(), p, now);

    // Assess
    expect(p.protectTags.add).toEqual([{ digest: pinned, tag: protectionTagFor(pinned), reason: 'pinned by config' }]);
    expect(decisionOf(p, pinned).decision).toBe('protect');
    expect(decisionOf(p, released)).toMatchObject({ decision: 'protect', reason: expect.stringMatching(/release-\*/) });
    expect(p.totals.expire.images).toBe(80);
    const left = new Set(after.inventory.images.map((i) => i.digest));
    expect(left.has(pinned) && left.has(released)).toBe(true);
    expect(left.size).toBe(22);
  });

  it('with keep 20 of 26 images expires exactly the 4 oldest rankable, not ranking index children', () => {
    // Prepare: 23 single images and one index (with a child and an attestation) pushed 10th: 26 images, 24 rankable.
    const repo = new InventoryBuilder();
    const singles: Digest[] = [];
    let build: ReturnType<InventoryBuilder['buildx']> | undefined;
    for (let n = 0; n < 24; n++) {
      if (n === 9) build = repo.buildx({ tags: [`ci-${n}`], pushedAt: T0 + n * DAY, platforms: 1 });
      else singles.push(repo.single({ tags: [`ci-${n}`], pushedAt: T0 + n * DAY }));
    }
    const cfg = config({ ciTags: [{ pattern: 'ci-*', keep: 20 }] });

    // Act
    const p = plan(repo.inventory(), { config: cfg, now: T0 + 30 * DAY });

    // Assess
    expect(p.images).toHaveLength(26);
    const expired = p.images.filter((i) => i.decision === 'expire').map((i) => i.digest);
    expect(new Set(expired)).toEqual(new Set(singles.slice(0, 4)));
    expect(decisionOf(p, build!.index).decision).toBe('keep');
    for (const child of [...build!.platforms, ...build!.attestations]) expect(decisionOf(p, child).decision).toBe('keep');
  });
});

describe('planRepository protection and pins', () => {
  it('keeps a protection tag through the grace period after the pin goes, then removes it', () => {
    // Prepare: a pinned image tagged v1 (so removing the protection tag does not delete it).
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: ['v1'], pushedAt: T0 });
    const first = plan(repo.inventory(), { pins: pinsOf(image), now: T0 });
    let inventory = applyTagChanges(repo.inventory(), first);

    // Act: the pin disappears; 5 days later, then 8 days later.
    const during = plan(inventory, { state: first.nextState, policy: installedPolicyAfter(first), now: T0 + 5 * DAY });
    inventory = applyTagChanges(inventory, during);
    const afterGrace = plan(inventory, { state: during.nextState, policy: installedPolicyAfter(during), now: T0 + 8 * DAY });

    // Assess
    expect(first.protectTags.add.map((a) => a.tag)).toEqual([protectionTagFor(image)]);
    expect(during.protectTags.remove).toEqual([]);
    expect(decisionOf(during, image)).toMatchObject({ decision: 'protect', reason: 'pin last seen 5 day(s) ago (grace 7 days)' });
    expect(afterGrace.protectTags.remove.map((r) => r.tag)).toEqual([protectionTagFor(image)]);
    expect(decisionOf(afterGrace, image).decision).toBe('keep');
  });

  it('removes the last tag of an unpinned untagged image only when the image would expire anyway', () => {
    // Prepare: an untagged child-less image pinned by digest; its protection tag is its only tag.
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: [], pushedAt: T0 });
    const first = plan(repo.inventory(), { pins: pinsOf(image), now: T0 + DAY });
    const inventory = applyTagChanges(repo.inventory(), first);

    // Act: unpinned, 8 days later; and the same but a young image (pushed yesterday) that would not expire yet.
    const late = plan(inventory, { state: first.nextState, policy: installedPolicyAfter(first), now: T0 + 9 * DAY });

    // Assess
    expect(late.protectTags.remove).toHaveLength(1);
    expect(decisionOf(late, image)).toMatchObject({ decision: 'expire', reason: expect.stringMatching(/^protection removed: .*would expire anyway/) });
  });

  it('fails closed when pin discovery failed: no policy change, no protection removed, earlier pins stay', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: [], pushedAt: T0 });
    const first = plan(repo.inventory(), { pins: pinsOf(image), now: T0 });
    const inventory = applyTagChanges(repo.inventory(), first);
    const unknownPins: PinKnowledge = { known: false, reason: 'ecs: AccessDenied' };

    // Act: 30 days later, discovery fails; and a repository with no policy yet.
    const p = plan(inventory, { pins: unknownPins, state: first.nextState, policy: installedPolicyAfter(first), now: T0 + 30 * DAY });
    const fresh = plan(new InventoryBuilder().inventory(), { pins: unknownPins, now: T0 });

    // Assess
    expect(p.blocked).toMatch(/pin discovery failed \(ecs: AccessDenied\)/);
    expect(p.protectTags.remove).toEqual([]);
    expect(decisionOf(p, image).decision).toBe('protect');
    expect(p.nextState.pinsLastSeen[image]).toBe(T0);
    expect(fresh.policy.action).toBe('refuse');
  });

  it('protects OCI referrers of kept images and lets referrers of expiring images follow their subject', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const release = repo.buildx({ tags: ['v2'], pushedAt: T0 });
    const signature = repo.referrer({ subject: release.index, pushedAt: T0 });
    const orphanSubject = repo.single({ tags: [], pushedAt: T0 });
    const orphanSbom = repo.referrer({ subject: orphanSubject, pushedAt: T0 });
    const now = T0 + 10 * DAY;

    // Act
    const p = plan(repo.inventory(), { now });

    // Assess
    expect(decisionOf(p, signature)).toMatchObject({ decision: 'protect', reason: `OCI referrer of kept image ${release.index}` });
    expect(p.protectTags.add.map((a) => a.digest)).toEqual([signature]);
    expect(decisionOf(p, orphanSubject).decision).toBe('expire');
    expect(decisionOf(p, orphanSbom)).toMatchObject({ decision: 'pending', reason: expect.stringMatching(/follows its subject/) });
  });

  it('protects the subject of a pinned referrer, since ECR deletes referrers with their subject', () => {
    // Prepare: ci-1 is pushed out by ci-2 (keep 1), but a deployment pins ci-1's SBOM.
    const repo = new InventoryBuilder();
    const old = repo.single({ tags: ['ci-1'], pushedAt: T0 });
    const sbom = repo.referrer({ subject: old, pushedAt: T0 });
    repo.single({ tags: ['ci-2'], pushedAt: T0 + DAY });
    const cfg = config({ ciTags: [{ pattern: 'ci-*', keep: 1 }] });

    // Act
    const p = plan(repo.inventory(), { config: cfg, pins: pinsOf(sbom), now: T0 + 2 * DAY });
    const after = applyAndExpire(repo.inventory(), p, T0 + 2 * DAY);

    // Assess
    expect(decisionOf(p, old)).toMatchObject({ decision: 'protect', reason: `subject of protected referrer ${sbom}` });
    expect(after.inventory.images.map((i) => i.digest)).toEqual(expect.arrayContaining([old, sbom]));
  });

  it('withholds everything destructive when an index cannot be read', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const build = repo.buildx({ tags: ['v1'], pushedAt: T0 });
    const inventory = repo.inventory();
    delete inventory.manifests[build.index];
    inventory.manifestFailures = { [build.index]: 'KmsError' };

    // Act
    const p = plan(inventory, { now: T0 + 10 * DAY });

    // Assess
    expect(p.blocked).toMatch(/could not be read/);
    expect(p.policy.action).toBe('refuse');
    expect(p.totals.expire.images).toBe(0);
  });

  it('keeps images with an unknown media type by protecting them from the untagged rule', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const weird = repo.unknown({ tags: [], pushedAt: T0 });

    // Act
    const p = plan(repo.inventory(), { now: T0 + 10 * DAY });

    // Assess
    expect(decisionOf(p, weird)).toMatchObject({ decision: 'protect', reason: expect.stringMatching(/^unsure what this image is/) });
    expect(p.protectTags.add.map((a) => a.digest)).toEqual([weird]);
  });
});

describe('planRepository policy choice', () => {
  const foreign = JSON.stringify({
    rules: [{ rulePriority: 1, description: 'team: keep 5 prod', selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }],
  });

  it('refuses a policy that would expire more than maxExpireShare of the repository', () => {
    // Prepare
    const repo = new InventoryBuilder();
    for (let day = 0; day < 10; day++) repo.cache({ pushedAt: T0 + day * DAY });

    // Act
    const p = plan(repo.inventory(), { config: config({ maxExpireShare: 0.5 }), now: T0 + 20 * DAY });

    // Assess
    expect(p.policy.action).toBe('refuse');
    expect(p.policy.reason).toMatch(/would expire 9 of 10 images \(90\.0%\).*maxExpireShare 0\.5/);
    expect(p.totals.expire.images).toBe(0);
  });

  it.each([
    ['skip', 'skip', /its own lifecycle policy/],
    ['merge', 'install', /merging our rules with 1 rule/],
    ['replace', 'install', /replacing 1 foreign rule/],
  ] as const)('with existingPolicy %s and a foreign policy the action is %s', (mode, action, reason) => {
    // Prepare
    const repo = new InventoryBuilder();
    repo.single({ tags: ['prod-1'], pushedAt: T0 });

    // Act
    const p = plan(repo.inventory(), { config: config({ existingPolicy: mode }), policy: foreign, now: T0 });

    // Assess
    expect(p.policy.action).toBe(action);
    expect(p.policy.reason).toMatch(reason);
    if (mode === 'merge') expect(p.policy.desiredText).toContain('team: keep 5 prod');
    if (mode === 'replace') expect(p.policy.desiredText).not.toContain('team: keep 5 prod');
  });

  it('leaves an installed policy that matches the config alone, however it is formatted', () => {
    // Prepare
    const cfg = config();
    const installed = JSON.stringify(JSON.parse(policyToText(renderPolicy(cfg))), null, 2);

    // Act
    const p = plan(new InventoryBuilder().inventory(), { config: cfg, policy: installed, now: T0 });

    // Assess
    expect(p.policy.action).toBe('unchanged');
  });

  it('repairs a drifted janitor policy', () => {
    // Prepare
    const drifted = renderPolicy(config({ untaggedExpireDays: 30 }));

    // Act
    const p = plan(new InventoryBuilder().inventory(), { policy: policyToText(drifted), now: T0 });

    // Assess
    expect(p.policy.action).toBe('install');
    expect(p.policy.reason).toMatch(/differs from the config/);
  });
});

describe('planRepository holds the installed policy when it cannot protect what the policy would expire next', () => {
  const installed = (cfg: JanitorConfig, foreignRules: object[] = []) =>
    JSON.stringify({ rules: [...JSON.parse(policyToText(renderPolicy(cfg))).rules, ...foreignRules.map((r, i) => ({ ...r, rulePriority: 40 + i }))] });
  const unknownPins: PinKnowledge = { known: false, reason: 'ecs: ThrottlingException' };

  it('puts the policy on hold when pin discovery fails and something would expire before the next run', () => {
    // Prepare: an untagged image 2.5 days old expires within the day; it may be what a deployment now pins.
    const cfg = config();
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: [], pushedAt: T0 });
    const current = installed(cfg);

    // Act
    const p = plan(repo.inventory(), { config: cfg, pins: unknownPins, policy: current, now: T0 + 2.5 * DAY });
    const later = applyAndExpire(repo.inventory(), p, T0 + 4 * DAY);

    // Assess
    expect(p.policy.action).toBe('hold');
    expect(p.policy.reason).toMatch(/pin discovery failed and the installed policy would expire 1 image/);
    expect(p.nextState.heldPolicyText).toBe(current);
    expect(later.inventory.images.map((i) => i.digest)).toEqual([image]);
  });

  it('resumes after the hold with the foreign rules of the held policy', () => {
    // Prepare: night 1 holds a merged policy; night 2 pin discovery works again.
    const cfg = config();
    const foreign = { description: 'team: keep 5 prod', selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } };
    const repo = new InventoryBuilder();
    repo.single({ tags: [], pushedAt: T0 });
    const night1 = plan(repo.inventory(), { config: cfg, pins: unknownPins, policy: installed(cfg, [foreign]), now: T0 + 2.5 * DAY });

    // Act
    const night2 = plan(repo.inventory(), { config: cfg, state: night1.nextState, policy: installedPolicyAfter(night1), now: T0 + 3.5 * DAY });
    const stillBlind = plan(repo.inventory(), { config: cfg, pins: unknownPins, state: night1.nextState, policy: installedPolicyAfter(night1), now: T0 + 3.5 * DAY });

    // Assess
    expect(night1.policy.action).toBe('hold');
    expect(night2.policy).toMatchObject({ action: 'install', reason: expect.stringMatching(/^resuming after a hold/) });
    expect(night2.policy.desiredText).toContain('team: keep 5 prod');
    expect(night2.nextState.heldPolicyText).toBe(night1.nextState.heldPolicyText);
    expect(stillBlind.policy.action).toBe('refuse');
    expect(stillBlind.nextState.heldPolicyText).toBe(night1.nextState.heldPolicyText);
    expect(stillBlind.totals.expire.images).toBe(0);
  });

  it('holds when a cap leaves pinned images without their protection tag', () => {
    // Prepare: two old untagged pinned images, one tag addition allowed per run.
    const cfg = config({ maxTagAdditionsPerRun: 1 });
    const repo = new InventoryBuilder();
    const a = repo.single({ tags: [], pushedAt: T0 });
    const b = repo.single({ tags: [], pushedAt: T0 + 1 });

    // Act
    const p = plan(repo.inventory(), { config: cfg, pins: pinsOf(a, b), policy: installed(cfg), now: T0 + 10 * DAY });

    // Assess
    expect(p.protectTags.add).toHaveLength(1);
    expect(p.policy.action).toBe('hold');
    expect(p.totals.expire.images).toBe(0);
  });

  it('leaves a foreign policy alone in skip mode, with a warning, and does not hold when nothing is due', () => {
    // Prepare
    const repo = new InventoryBuilder();
    repo.single({ tags: [], pushedAt: T0 });
    const foreign = JSON.stringify({ rules: [{ rulePriority: 1, description: 'team: untagged 1 day', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } }] });

    // Act
    const skipped = plan(repo.inventory(), { config: config({ existingPolicy: 'skip' }), pins: unknownPins, policy: foreign, now: T0 + 2 * DAY });
    const young = plan(repo.inventory(), { pins: unknownPins, policy: installed(config()), now: T0 + DAY });

    // Assess
    expect(skipped.policy.action).toBe('skip');
    expect(skipped.warnings.join('\n')).toMatch(/existingPolicy is "skip", so the repository's own policy stays although pin discovery failed/);
    expect(young.policy.action).toBe('unchanged');
  });

  it('judges a hold the same from the protection pass\'s look ahead as from an evaluation of its own', () => {
    // Prepare: a pin that the team's "anything older than 3 days" rule expires within a day. With a signed image in the
    // repository the protection pass evaluates the policy first, and the hold check reuses that pass's look ahead.
    const foreign = JSON.stringify({ rules: [{ rulePriority: 1, description: 'team: anything 3 days', selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: { type: 'expire' } }] });
    const repository = (signed: boolean) => {
      const repo = new InventoryBuilder();
      const pinned = repo.single({ tags: [], pushedAt: T0 });
      if (signed) repo.referrer({ subject: repo.single({ tags: ['v1'], pushedAt: T0 + 2 * DAY }), pushedAt: T0 + 2 * DAY });
      return { inventory: repo.inventory(), pinned };
    };

    // Act
    const plans = [true, false].map((signed) => {
      const { inventory, pinned } = repository(signed);
      return { pinned, p: plan(inventory, { config: config({ existingPolicy: 'skip' }), pins: pinsOf(pinned), policy: foreign, now: T0 + 2.5 * DAY }) };
    });

    // Assess
    for (const { pinned, p } of plans) {
      expect(p.policy.action).toBe('skip');
      expect(decisionOf(p, pinned).decision).toBe('protect');
      expect(p.warnings.join('\n')).toContain(`existingPolicy is "skip", so the repository's own policy stays although the installed policy would expire 1 image(s) that need protection this run could not complete (${pinned})`);
    }
  });
});
