// The pure decision behind "skip what did not change" (lambda/domain/change-check.ts): a repository is confirmed from
// its run state only when nothing that changes a decision can have changed; every doubt reads it whole.
import { describe, expect, it } from 'vitest';
import { parseStateText, stateToText } from '../../lambda/adapters/state-codec.js';
import { CHANGE_MARGIN_MS, type ChangeCheckInput, type ChangeMarkRead, checkUnchanged, unchangedBasis } from '../../lambda/domain/change-check.js';
import { parseConfig } from '../../lambda/domain/config.js';
import { planRepository } from '../../lambda/domain/planner.js';
import type { Digest, JanitorConfig, PinReference, RepositoryInventory, RepositoryState } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

const config = parseConfig({ pins: { ecs: false, lambda: false }, maxExpireShare: 1 }, 'test');

interface Night {
  inventory: RepositoryInventory;
  pinned: Digest;
  references: PinReference[];
  policy: string;
  state: RepositoryState;
  readStartedAt: number;
}

/**
 * A repository after a clean full read: two tagged releases (one pinned by ECS) pushed a month ago, the janitor's
 * policy already in force (the second night), the basis saved in the state.
 */
function cleanNight(options: { config?: JanitorConfig; untaggedPushedAt?: number; mark?: ChangeMarkRead; pinsLastSeen?: Record<string, number> } = {}): Night {
  const cfg = options.config ?? config;
  const builder = new InventoryBuilder('app');
  const pinned = builder.single({ tags: ['v1'], pushedAt: T0 - 30 * DAY });
  builder.single({ tags: ['v2'], pushedAt: T0 - 29 * DAY });
  if (options.untaggedPushedAt !== undefined) builder.single({ tags: [], pushedAt: options.untaggedPushedAt });
  const inventory = builder.inventory();
  const references: PinReference[] = [{ repository: 'app', digest: pinned, source: 'ecs:prod/api' }];
  const pins = { known: true as const, digests: new Map([[pinned, ['ecs:prod/api']]]) };
  const first = planRepository({ inventory, config: cfg, pins, state: null, currentPolicyText: null, now: T0 });
  const policy = first.policy.desiredText;
  const readStartedAt = T0 + 1000;
  const plan = planRepository({ inventory, config: cfg, pins, state: first.nextState, currentPolicyText: policy, now: readStartedAt });
  const nextState = { ...plan.nextState, ...(options.pinsLastSeen ? { pinsLastSeen: { ...plan.nextState.pinsLastSeen, ...options.pinsLastSeen } } : {}) };
  const basis = unchangedBasis({
    plan,
    images: inventory.images,
    config: cfg,
    pinReferences: references,
    pinned: [pinned],
    policyLeft: policy,
    nextState,
    readStartedAt,
    mark: options.mark ?? { readable: true, latest: null },
    now: readStartedAt,
  });
  return { inventory, pinned, references, policy, state: { ...nextState, unchanged: basis! }, readStartedAt };
}

function nextNight(night: Night, overrides: Partial<ChangeCheckInput> = {}): ChangeCheckInput {
  return {
    state: night.state,
    config,
    mark: { readable: true, latest: null },
    pinReferences: night.references,
    policyInForce: night.policy,
    now: night.readStartedAt + DAY,
    ...overrides,
  };
}

function reasonsOf(input: ChangeCheckInput): string[] {
  const verdict = checkUnchanged(input);
  return verdict.skip ? [] : verdict.reasons;
}

describe('checkUnchanged', () => {
  it('confirms a repository in which nothing changed since the last full read', () => {
    // Prepare
    const night = cleanNight();

    // Act
    const verdict = checkUnchanged(nextNight(night));

    // Assess
    expect(verdict).toMatchObject({ skip: true, since: night.readStartedAt });
    expect(verdict.skip && verdict.confirmedBy.join(', ')).toMatch(/no ECR push or delete marked since.*the same pins.*the same lifecycle policy in force/);
  });

  it('reads whole after a push marked after the last read began, or too close before it to be sure the read saw it', () => {
    // Prepare
    const night = cleanNight();

    // Act
    const after = reasonsOf(nextNight(night, { mark: { readable: true, latest: night.readStartedAt + 60_000 } }));
    const justBefore = reasonsOf(nextNight(night, { mark: { readable: true, latest: night.readStartedAt - CHANGE_MARGIN_MS + 1000 } }));
    const wellBefore = checkUnchanged(nextNight(night, { mark: { readable: true, latest: night.readStartedAt - CHANGE_MARGIN_MS - 1000 } }));

    // Assess
    expect(after.join()).toMatch(/ECR reported a push or delete at .* after the last full read began/);
    expect(justBefore.join()).toMatch(/ECR reported a push or delete/);
    expect(wellBefore.skip).toBe(true);
  });

  it('reads whole when the change mark cannot be read, went back, or vanished', () => {
    // Prepare: the last read saw a mark two days before it.
    const seen = T0 - 2 * DAY;
    const night = cleanNight({ mark: { readable: true, latest: seen } });

    // Act
    const unreadable = reasonsOf(nextNight(night, { mark: { readable: false, why: 'AccessDenied: no s3:GetObject' } }));
    const back = reasonsOf(nextNight(night, { mark: { readable: true, latest: seen - DAY } }));
    const vanished = reasonsOf(nextNight(night, { mark: { readable: true, latest: null } }));
    const same = checkUnchanged(nextNight(night, { mark: { readable: true, latest: seen } }));

    // Assess
    expect(unreadable.join()).toMatch(/change marks unreadable \(AccessDenied/);
    expect(back.join()).toMatch(/the change mark went back/);
    expect(vanished.join()).toMatch(/the change mark went back \(missing/);
    expect(same.skip).toBe(true);
  });

  it('reads whole when a config field that changes the plan changed, not for the schedule or the price', () => {
    // Prepare
    const night = cleanNight();

    // Act
    const keepChanged = reasonsOf(nextNight(night, { config: { ...config, ciTags: [{ pattern: 'ci-*', keep: 5 }] } }));
    const scheduleChanged = checkUnchanged(nextNight(night, { config: { ...config, schedule: 'cron(0 4 * * ? *)', pricePerGbMonth: 0.2, concurrency: 8 } }));

    // Assess
    expect(keepChanged.join()).toMatch(/the config changed/);
    expect(scheduleChanged.skip).toBe(true);
  });

  it("reads whole when this repository's pin references changed (a pin by digest appears), not another repository's", () => {
    // Prepare
    const night = cleanNight();
    const other = night.inventory.images.find((i) => i.digest !== night.pinned)!.digest;

    // Act
    const newPin = reasonsOf(nextNight(night, { pinReferences: [...night.references, { repository: 'app', digest: other, source: 'lambda:fn' }] }));
    const elsewhere = checkUnchanged(nextNight(night, { pinReferences: [...night.references, { repository: 'web', tag: 'prod', source: 'ecs:prod/web' }] }));
    const discoveryFailed = reasonsOf(nextNight(night, { pinDiscoveryFailure: 'ecs: ThrottlingException' }));

    // Assess
    expect(newPin.join()).toMatch(/pin references naming this repository changed/);
    expect(elsewhere.skip).toBe(true);
    expect(discoveryFailed.join()).toMatch(/pin discovery failed \(ecs: ThrottlingException\)/);
  });

  it('reads whole when an event recorded a new pin in the run state since the last read', () => {
    // Prepare
    const night = cleanNight();
    const state = { ...night.state, pinsLastSeen: { ...night.state.pinsLastSeen, [`sha256:${'e'.repeat(64)}`]: T0 + DAY / 2 } };

    // Act
    const reasons = reasonsOf(nextNight(night, { state }));

    // Assess
    expect(reasons.join()).toMatch(/pins in the run state changed/);
  });

  it('reads whole when a person changed the policy in force; the same policy as ECR normalises it is no change', () => {
    // Prepare
    const night = cleanNight();
    const edited = JSON.parse(night.policy) as { rules: { selection: { countNumber: number } }[] };
    edited.rules[edited.rules.length - 1]!.selection.countNumber = 1;
    const normalised = JSON.stringify(JSON.parse(night.policy));

    // Act
    const changed = reasonsOf(nextNight(night, { policyInForce: JSON.stringify(edited) }));
    const removed = reasonsOf(nextNight(night, { policyInForce: null }));
    const unreadable = reasonsOf(nextNight(night, { policyInForce: undefined }));
    const same = checkUnchanged(nextNight(night, { policyInForce: normalised }));

    // Assess
    expect(changed.join()).toMatch(/policy in force is not the one the last run left/);
    expect(removed.join()).toMatch(/policy in force is not the one the last run left/);
    expect(unreadable.join()).toMatch(/could not be read/);
    expect(same.skip).toBe(true);
  });

  it('reads whole once the last full read is fullReadEveryDays old, and every night with 0', () => {
    // Prepare
    const night = cleanNight();

    // Act
    const sixDays = checkUnchanged(nextNight(night, { now: night.readStartedAt + 6 * DAY }));
    const sevenDays = reasonsOf(nextNight(night, { now: night.readStartedAt + 7 * DAY }));
    const never = reasonsOf(nextNight(night, { config: { ...config, fullReadEveryDays: 0 } }));

    // Assess
    expect(sixDays.skip).toBe(true);
    expect(sevenDays.join()).toMatch(/is 7 day\(s\) old or more/);
    expect(never.join()).toMatch(/fullReadEveryDays is 0/);
  });

  it('never confirms with keepPulledWithinDays: pulls emit no event', () => {
    // Prepare
    const pulls = { ...config, keepPulledWithinDays: 30 };
    const night = cleanNight({ config: pulls });

    // Act
    const reasons = reasonsOf(nextNight(night, { config: pulls }));

    // Assess
    expect(reasons.join()).toMatch(/keepPulledWithinDays is set: pulls emit no event/);
  });

  it('reads whole when an untagged image reaches its expiry age, and when a lapsed pin reaches the end of its grace', () => {
    // Prepare: an untagged image pushed the day before the read (untaggedExpireDays 3); an image pinned 5 days before
    // the read that no source reports any more (pinGraceDays 7).
    const untagged = cleanNight({ untaggedPushedAt: T0 - DAY });
    const lapsed = cleanNight({ pinsLastSeen: { [`sha256:${'a'.repeat(64)}`]: T0 - 5 * DAY } });

    // Act
    const untaggedBasis = untagged.state.unchanged!;
    const beforeAge = checkUnchanged(nextNight(untagged, { now: T0 + DAY }));
    const atAge = reasonsOf(nextNight(untagged, { now: T0 + 2 * DAY }));
    const beforeGraceEnd = checkUnchanged(nextNight(lapsed, { now: T0 + DAY }));
    const afterGraceEnd = reasonsOf(nextNight(lapsed, { now: T0 + 2 * DAY + 1 }));

    // Assess
    expect(untaggedBasis.revisitBy).toBe(T0 - DAY + 3 * DAY);
    expect(beforeAge.skip).toBe(true);
    expect(atAge.join()).toMatch(/falls due by time/);
    expect(beforeGraceEnd.skip).toBe(true);
    expect(afterGraceEnd.join()).toMatch(/falls due by time/);
  });

  it('leaves no time to wait when the plan still has expiries for ECR to carry out', () => {
    // Prepare: 30 ci images, keep 25: five expire at the next lifecycle run.
    const builder = new InventoryBuilder('app');
    for (let i = 0; i < 30; i++) builder.single({ tags: [`ci-${i}`], pushedAt: T0 - (40 - i) * DAY });
    const inventory = builder.inventory();
    const plan = planRepository({ inventory, config, pins: { known: true, digests: new Map() }, state: null, currentPolicyText: null, now: T0 });

    // Act
    const basis = unchangedBasis({ plan, images: inventory.images, config, pinReferences: [], pinned: [], policyLeft: plan.policy.desiredText, nextState: plan.nextState, readStartedAt: T0, mark: { readable: true, latest: null }, now: T0 });

    // Assess
    expect(plan.totals.expire.images).toBe(5);
    expect(basis?.revisitBy).toBe(T0);
  });

  it('reads whole without a trusted state or without a basis', () => {
    // Prepare
    const night = cleanNight();
    const { unchanged: _basis, ...noBasis } = night.state;

    // Act
    const none = reasonsOf(nextNight(night, { state: null }));
    const distrusted = reasonsOf(nextNight(night, { state: null, stateProblem: 'checksum does not match' }));
    const withoutBasis = reasonsOf(nextNight(night, { state: noBasis }));

    // Assess
    expect(none.join()).toMatch(/no run state yet/);
    expect(distrusted.join()).toMatch(/run state not trusted \(checksum does not match\)/);
    expect(withoutBasis.join()).toMatch(/left no basis/);
  });
});

describe('the basis in the stored state', () => {
  it('survives the state codec, nothing due (Infinity) included, and a corrupt basis is refused naming the field', () => {
    // Prepare
    const night = cleanNight();
    const text = stateToText(night.state);
    const nothingDue = stateToText({ ...night.state, unchanged: { ...night.state.unchanged!, revisitBy: Number.POSITIVE_INFINITY } });
    const corrupt = stateToText({ ...night.state, unchanged: { ...night.state.unchanged!, readStartedAt: 'yesterday' as unknown as number } });

    // Act
    const loaded = parseStateText(text, 'state', 'app');

    // Assess
    expect(night.state.unchanged!.revisitBy).toBe(T0 - 30 * DAY + 36_500 * DAY);
    expect(loaded.unchanged).toEqual(night.state.unchanged);
    expect(parseStateText(nothingDue, 'state', 'app').unchanged!.revisitBy).toBe(Number.POSITIVE_INFINITY);
    expect(() => parseStateText(corrupt, 'state', 'app')).toThrow(/state: unchanged\.readStartedAt must be a number/);
  });
});
