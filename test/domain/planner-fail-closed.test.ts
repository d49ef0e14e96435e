// Fail closed in the planner: a merge never loses what the repository's own rules keep, a lost run state never
// shortens a pin's grace, and a hold carries the policy it replaced (issue 9, points 1, 3 and 4).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { holdWithoutInventory, type PinKnowledge, planRepository } from '../../lambda/domain/planner.js';
import { holdPolicy, isHoldPolicy, parsePolicyText, policyToText, renderPolicy, replacedPolicyOfHold } from '../../lambda/domain/policy.js';
import type { Digest, JanitorConfig, LifecycleRule, RepositoryInventory, RepositoryPlan, RepositoryState } from '../../lambda/domain/types.js';
import { applyTagChanges, installedPolicyAfter, runLifecycle } from '../support/apply-plan.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

const NO_PINS: PinKnowledge = { known: true, digests: new Map() };

function config(overrides: Record<string, unknown> = {}): JanitorConfig {
  return parseConfig({ maxExpireShare: 1, ...overrides }, 'test');
}

function plan(
  inventory: RepositoryInventory,
  options: { config?: JanitorConfig; pins?: PinKnowledge; state?: RepositoryState | null; policy?: string | null; now: number; stateProblem?: string },
): RepositoryPlan {
  return planRepository({
    inventory,
    config: options.config ?? config(),
    pins: options.pins ?? NO_PINS,
    state: options.state ?? null,
    currentPolicyText: options.policy ?? null,
    now: options.now,
    ...(options.stateProblem ? { stateProblem: options.stateProblem } : {}),
  });
}

function teamRule(rulePriority: number, pattern: string, selection: Partial<LifecycleRule['selection']>, description: string): LifecycleRule {
  return {
    rulePriority,
    description,
    selection: { tagStatus: 'tagged', tagPatternList: [pattern], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3650, ...selection } as LifecycleRule['selection'],
    action: { type: 'expire' },
  };
}

// The repository: rule 1 never expires v* (3650 days), rule 2 keeps 40 ci-*.
const TEAM_POLICY = policyToText({
  rules: [
    teamRule(1, 'v*', {}, 'team: never expire releases'),
    teamRule(2, 'ci-*', { countType: 'imageCountMoreThan', countNumber: 40, countUnit: undefined }, 'team: keep 40 ci'),
  ],
});

describe('merge keeps what the foreign policy keeps (point 1)', () => {
  it("keeps an old image tagged ci-3 and v1.0 that the team's v* rule shields, with the default config (ci-* keep 25)", () => {
    // Prepare: the release is the oldest of 31 ci-* images, so a keep-25 ci rule ranked above v* would expire it.
    const repo = new InventoryBuilder();
    const release = repo.single({ tags: ['ci-3', 'v1.0'], pushedAt: T0 });
    for (let n = 4; n < 34; n++) repo.single({ tags: [`ci-${n}`], pushedAt: T0 + n * DAY });
    const now = T0 + 40 * DAY;

    // Act
    const p = plan(repo.inventory(), { config: config(), policy: TEAM_POLICY, now });
    const after = runLifecycle(applyTagChanges(repo.inventory(), p), installedPolicyAfter(p), now);

    // Assess
    expect(p.policy.action).toBe('install');
    const order = parsePolicyText(p.policy.desiredText).rules.map((r) => r.description);
    // ECR allows one rule per tag list: the team's ci-* rule (above ours) would claim every ci-* image anyway.
    expect(order.slice(0, 4)).toEqual(['ecr-janitor: protect buildcache', 'ecr-janitor: protect keep-*', 'team: never expire releases', 'team: keep 40 ci']);
    expect(p.policy.warnings).toContainEqual(expect.stringMatching(/keep the 25 newest ci-\*" gives way to foreign rule 2/));
    expect(p.images.find((i) => i.digest === release)?.decision).not.toBe('expire');
    expect(after.expired).not.toContain(release);
  });

  it("refuses a merge that would expire images the repository's own policy keeps, naming the rule", () => {
    // Prepare: the team keeps the 100 newest images of any kind; our untagged rule would expire old untagged ones.
    const repo = new InventoryBuilder();
    const stray = repo.single({ tags: [], pushedAt: T0 });
    repo.single({ tags: ['main'], pushedAt: T0 + DAY });
    const keepHundred = policyToText({
      rules: [{ rulePriority: 1, description: 'team: keep 100 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 100 }, action: { type: 'expire' } }],
    });

    // Act
    const p = plan(repo.inventory(), { config: config(), policy: keepHundred, now: T0 + 10 * DAY });

    // Assess
    expect(p.policy.action).toBe('refuse');
    expect(p.policy.reason).toMatch(/would expire 1 image\(s\) the repository's own policy keeps/);
    expect(p.policy.reason).toContain('team: keep 100 images');
    expect(p.policy.reason).toContain(stray.slice(0, 19));
    expect(p.images.find((i) => i.digest === stray)?.decision).not.toBe('expire');
  });
});

describe('missing state never shortens protection (point 3)', () => {
  it('keeps an untagged rollback target whose only tag is its protection tag when the state is lost, and restarts its grace', () => {
    // Prepare: pinned and tagged by an earlier run, unpinned since; the state that knew when is gone.
    const repo = new InventoryBuilder();
    const target = repo.single({ tags: [], pushedAt: T0 });
    repo.tag(protectionTagFor(target), target);
    const now = T0 + 10 * DAY;

    // Act
    const p = plan(repo.inventory(), { state: null, now });
    const after = runLifecycle(applyTagChanges(repo.inventory(), p), installedPolicyAfter(p), now);

    // Assess
    expect(p.protectTags.remove).toEqual([]);
    expect(p.images.find((i) => i.digest === target)).toMatchObject({ decision: 'protect', reason: expect.stringMatching(/no run state behind it.*restarts/) });
    expect(p.nextState.pinsLastSeen[target]).toBe(now);
    expect(after.expired).not.toContain(target);
  });

  it('a lost state gives the same plan twice: a tagged referrer of a kept release is not turned into a pin of its subject', () => {
    // Prepare: a release kept by the policy (a v tag), signed; the signature carries the protection tag an earlier run
    // gave it as "referrer of kept image", and the state that knew it was lost (found by the crash fault scenario).
    const repo = new InventoryBuilder();
    const release = repo.single({ tags: ['v1.0'], pushedAt: T0 });
    const signature = repo.referrer({ subject: release, pushedAt: T0 + 1 });
    repo.tag(protectionTagFor(signature), signature);
    const settings = config({ protectedTags: ['buildcache', 'v*'] });
    const now = T0 + 10 * DAY;

    // Act: a run without state, then a re-plan with the state it saved
    const first = plan(repo.inventory(), { config: settings, state: null, now });
    const applied = applyTagChanges(repo.inventory(), first);
    const second = plan(applied, { config: settings, state: first.nextState, policy: installedPolicyAfter(first), now });

    // Assess
    expect(first.images.find((i) => i.digest === signature)?.decision).toBe('protect');
    expect(second.protectTags.add).toEqual([]);
    expect(second.images.find((i) => i.digest === signature)?.decision).toBe('protect');
  });

  it('control: with a state that proves the grace passed, the lapsed protection goes and the image with it', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const target = repo.single({ tags: [], pushedAt: T0 });
    repo.tag(protectionTagFor(target), target);
    const state: RepositoryState = { repository: 'app', pinsLastSeen: { [target]: T0 } };

    // Act
    const p = plan(repo.inventory(), { state, now: T0 + 10 * DAY });

    // Assess
    expect(p.protectTags.remove).toEqual([{ digest: target, tag: protectionTagFor(target), reason: expect.stringMatching(/goes with its last tag/) }]);
  });
});

describe('a hold carries the policy it replaced (point 4)', () => {
  it('reads back the foreign rules of the replaced policy from the hold text alone', () => {
    // Prepare
    const merged = policyToText({ rules: [...renderPolicy(config()).rules, ...parsePolicyText(TEAM_POLICY).rules.map((r, i) => ({ ...r, rulePriority: 10 + i }))] });

    // Act
    const hold = parsePolicyText(policyToText(holdPolicy(merged)));
    const carried = replacedPolicyOfHold(hold);

    // Assess
    expect(isHoldPolicy(hold)).toBe(true);
    expect(carried?.known).toBe(true);
    expect(carried?.known && carried.foreign.rules.map((r) => r.description)).toEqual(['team: never expire releases', 'team: keep 40 ci']);
    expect(holdPolicy(policyToText(hold))).toEqual(hold); // a hold of a hold carries the same rules on
  });

  it('resumes after a hold with the team rules back although the run state is gone', () => {
    // Prepare: the hold went in over the merged policy; then the state directory was deleted.
    const repo = new InventoryBuilder();
    repo.single({ tags: ['v1.0'], pushedAt: T0 });
    const held = policyToText(holdPolicy(plan(repo.inventory(), { policy: TEAM_POLICY, now: T0 }).policy.desiredText));

    // Act
    const p = plan(repo.inventory(), { state: null, policy: held, now: T0 + DAY });

    // Assess
    expect(p.policy.action).toBe('install');
    expect(p.policy.desiredText).toContain('team: never expire releases');
    expect(p.policy.desiredText).toContain('team: keep 40 ci');
  });

  it('keeps a hold whose replaced policy is unknown, rather than resume without the team rules (merge)', () => {
    // Prepare
    const repo = new InventoryBuilder();
    repo.single({ tags: ['v1.0'], pushedAt: T0 });
    const unknownHold = policyToText(holdPolicy(undefined));

    // Act
    const p = plan(repo.inventory(), { policy: unknownHold, now: T0 });

    // Assess
    expect(p.policy.action).toBe('refuse');
    expect(p.policy.reason).toMatch(/could not be read.*put the repository's own lifecycle policy back/);
  });

  it('writes nothing but a hold when the state is unreadable: no tag added or removed, the policy held only if a pin is at risk', () => {
    // Prepare: the installed policy expires untagged images after 3 days; a new pin is on one of them.
    const repo = new InventoryBuilder();
    const pinned = repo.single({ tags: [], pushedAt: T0 });
    const lapsed = repo.single({ tags: ['old'], pushedAt: T0 });
    repo.tag(protectionTagFor(lapsed), lapsed);
    const installed = policyToText(renderPolicy(config()));
    const pins: PinKnowledge = { known: true, digests: new Map([[pinned, ['ecs:prod/api']]]) };

    // Act
    const p = plan(repo.inventory(), { pins, policy: installed, now: T0 + 4 * DAY, stateProblem: 'run state unreadable (bad JSON)' });
    const safe = plan(repo.inventory(), { pins: NO_PINS, policy: installed, now: T0 + DAY, stateProblem: 'run state unreadable (bad JSON)' });

    // Assess
    expect(p.protectTags).toEqual({ add: [], remove: [] });
    expect(p.blocked).toMatch(/run state unreadable.*nothing is written/);
    expect(p.policy.action).toBe('hold');
    expect(p.policy.desiredText).toBe(policyToText(holdPolicy(installed)));
    expect(safe.protectTags).toEqual({ add: [], remove: [] });
    expect(safe.policy.action).not.toBe('hold');
  });
});

describe('resuming after a hold', () => {
  it('brings the replaced policy back although the backlog the hold kept exceeds maxExpireShare; a changed config does not get that pass', () => {
    // Prepare: the hold kept 6 untagged images past their 3 days; 2 tagged images stay.
    const repo = new InventoryBuilder();
    for (let n = 0; n < 6; n++) repo.single({ tags: [], pushedAt: T0 + n * 1000 });
    repo.single({ tags: ['v1'], pushedAt: T0 });
    repo.single({ tags: ['v2'], pushedAt: T0 });
    const cfg = config({ maxExpireShare: 0.5 });
    const held = policyToText(holdPolicy(policyToText(renderPolicy(cfg))));

    // Act
    const resumed = plan(repo.inventory(), { config: cfg, policy: held, now: T0 + 10 * DAY });
    const changed = plan(repo.inventory(), { config: config({ maxExpireShare: 0.5, untaggedExpireDays: 2 }), policy: held, now: T0 + 10 * DAY });

    // Assess
    expect(resumed.policy).toMatchObject({ action: 'install', resumesAfterHold: true });
    expect(resumed.totals.expire.images).toBe(6);
    expect(changed.policy.action).toBe('refuse');
    expect(changed.policy.reason).toMatch(/more than maxExpireShare 0\.5/);
  });
});

describe('the hold a run puts in without an inventory (point 2)', () => {
  const ours = policyToText(renderPolicy(config()));
  it.each([
    ['no policy', null, false],
    ['the team policy alone (never ours)', TEAM_POLICY, false],
    ['a hold already', policyToText(holdPolicy(ours)), false],
    ['a janitor-written policy', ours, true],
    ['an unknown policy (GetLifecyclePolicy failed)', undefined, true],
  ] as const)('%s: hold %s', (_name, current, expected) => {
    // Act
    const hold = holdWithoutInventory(current as string | null | undefined);

    // Assess
    expect(hold !== undefined).toBe(expected);
    if (hold) expect(isHoldPolicy(parsePolicyText(hold))).toBe(true);
  });
});

export type { Digest };
