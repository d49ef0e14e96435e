// Skip what did not change (README "Scaling", "Unchanged repositories"): whether tonight's run may confirm a repository
// from its run state instead of reading it whole. Pure: every input is passed in, the clock too.
//
// A repository is confirmed only when every one of these holds, otherwise it is read whole (fail closed):
// - its run state is trusted and carries the basis the last full read left (`UnchangedBasis`);
// - no ECR push or delete was marked after that read began (change marks, fed by "ECR Image Action" events), and the
//   marks could be read and did not go backwards or vanish;
// - the config parts that change a plan, the pin references naming the repository and the pinned digests the run
//   state holds are all as they were; pin discovery did not fail (so the pin breaker sees what it accepted then);
// - the lifecycle policy in force (GetLifecyclePolicy, read every night) is the one that run left;
// - no decision of that run falls due by time alone (an age rule crossing, a pin's grace ending, an expiry ECR still
//   has to carry out), keepPulledWithinDays is off (pulls emit no event), and a full read is at most
//   `fullReadEveryDays` old (the backstop for an event EventBridge lost: events are best effort).
import { canonicalJson, isRecord } from './canonical-json.js';
import { sha256Hex } from './digest.js';
import { activeSince } from './evaluator.js';
import { canonicalPolicyText, parsePolicyText } from './policy.js';
import { PROTECTION_TAG_PATTERN } from './patterns.js';
import { DAY_MS } from './time.js';
import type { Digest, ImageRecord, JanitorConfig, LifecycleRule, PinReference, RepositoryPlan, RepositoryState, UnchangedBasis } from './types.js';

export type { UnchangedBasis };

/** Default of `fullReadEveryDays`. */
export const DEFAULT_FULL_READ_EVERY_DAYS = 7;
/**
 * A change marked this close before a read began still reads whole: event times are whole seconds from ECR's clock,
 * not ours, and DescribeImages may not show a push at once.
 */
export const CHANGE_MARGIN_MS = 5 * 60_000;

/** Config fields that never change a plan: a new schedule or price does not make anyone re-read a repository. */
const NOT_IN_PLAN = new Set<keyof JanitorConfig>(['schedule', 'pricePerGbMonth', 'concurrency', 'fullReadEveryDays', 'dryRun', 'putImagePerSecond']);

/** What the change marks said for one repository: the newest ECR change's time (null: none since marks began). */
export type ChangeMarkRead = { readable: true; latest: number | null } | { readable: false; why: string };

export interface ChangeCheckInput {
  /** null: none, unreadable or distrusted (the caller says which in `stateProblem`). */
  state: RepositoryState | null;
  stateProblem?: string;
  config: JanitorConfig;
  mark: ChangeMarkRead;
  /** This run's pin references (all repositories) and why discovery failed, when it did. */
  pinReferences: readonly PinReference[];
  pinDiscoveryFailure?: string;
  /** GetLifecyclePolicy tonight: null when none; undefined when the read failed. */
  policyInForce: string | null | undefined;
  now: number;
}

export type ChangeVerdict =
  | { skip: true; basis: UnchangedBasis; since: number; confirmedBy: string[] }
  | { skip: false; reasons: string[] };

export function checkUnchanged(input: ChangeCheckInput): ChangeVerdict {
  const { state, config, mark, now } = input;
  const reasons: string[] = [];
  const basis = state?.unchanged;
  if (input.stateProblem !== undefined) reasons.push(`run state not trusted (${input.stateProblem})`);
  else if (!state) reasons.push('no run state yet');
  else if (!basis) reasons.push('the last run left no basis to confirm from (its read was not clean, or it predates skipping)');
  if (config.keepPulledWithinDays !== undefined) reasons.push('keepPulledWithinDays is set: pulls emit no event, so only a full read sees them');
  const everyDays = config.fullReadEveryDays ?? DEFAULT_FULL_READ_EVERY_DAYS;
  if (everyDays <= 0) reasons.push('fullReadEveryDays is 0: every night reads whole');
  if (!mark.readable) reasons.push(`change marks unreadable (${mark.why})`);
  if (input.pinDiscoveryFailure !== undefined) reasons.push(`pin discovery failed (${input.pinDiscoveryFailure})`);
  if (input.policyInForce === undefined) reasons.push('the lifecycle policy in force could not be read');
  if (!state || !basis || reasons.length > 0) return { skip: false, reasons };

  if (mark.readable) {
    if (mark.latest !== null && mark.latest + CHANGE_MARGIN_MS >= basis.readStartedAt) {
      reasons.push(`ECR reported a push or delete at ${iso(mark.latest)}, after the last full read began (${iso(basis.readStartedAt)})`);
    }
    // A mark only moves forward: one older than the last read saw, or gone, was changed outside the janitor.
    if (basis.markAt !== undefined && (mark.latest === null || mark.latest < basis.markAt)) {
      reasons.push(`the change mark went back (${mark.latest === null ? 'missing' : iso(mark.latest)}, the last full read saw ${iso(basis.markAt)})`);
    }
  }
  if (now - basis.readStartedAt >= everyDays * DAY_MS) reasons.push(`the last full read (${iso(basis.readStartedAt)}) is ${everyDays} day(s) old or more`);
  if (now >= basis.revisitBy) reasons.push(`a decision of the last plan falls due by time (${iso(basis.revisitBy)})`);
  if (basis.readStartedAt > now) reasons.push(`the last full read is dated in the future (${iso(basis.readStartedAt)})`);
  if (configFingerprint(config) !== basis.configFingerprint) reasons.push('the config changed in a way that changes the plan');
  if (pinFingerprint(input.pinReferences, state.repository) !== basis.pinFingerprint) reasons.push('the pin references naming this repository changed');
  if (digestSetFingerprint(Object.keys(state.pinsLastSeen)) !== basis.pinsLastSeenFingerprint) {
    reasons.push('the pins in the run state changed since the last full read (an event recorded a new one)');
  }
  if (policyTextFingerprint(input.policyInForce ?? null) !== basis.policyFingerprint) {
    reasons.push('the lifecycle policy in force is not the one the last run left (changed by a person or another tool)');
  }
  if (reasons.length > 0) return { skip: false, reasons };
  return {
    skip: true,
    basis,
    since: basis.readStartedAt,
    confirmedBy: [
      `no ECR push or delete marked since (latest ${mark.readable && mark.latest !== null ? iso(mark.latest) : 'none'})`,
      'the same pins',
      'the same config',
      'the same lifecycle policy in force',
      `nothing due before ${iso(basis.revisitBy)}`,
    ],
  };
}

export interface BasisInput {
  plan: RepositoryPlan;
  images: readonly ImageRecord[];
  config: JanitorConfig;
  pinReferences: readonly PinReference[];
  /** Digests the pins resolved to this run (refreshed in pinsLastSeen on a confirmed night). */
  pinned: Iterable<Digest>;
  /** The policy the run left in force (null: none). */
  policyLeft: string | null;
  /** The state as saved. */
  nextState: RepositoryState;
  readStartedAt: number;
  mark: ChangeMarkRead;
  now: number;
}

/** The basis a clean full read leaves for the next night; undefined when nothing after it could be confirmed. */
export function unchangedBasis(input: BasisInput): UnchangedBasis | undefined {
  const policyFingerprint = policyTextFingerprint(input.policyLeft);
  if (policyFingerprint === undefined || !input.mark.readable) return undefined;
  const pinned = [...new Set(input.pinned)].sort();
  return {
    readStartedAt: input.readStartedAt,
    ...(input.mark.latest !== null ? { markAt: input.mark.latest } : {}),
    configFingerprint: configFingerprint(input.config),
    pinFingerprint: pinFingerprint(input.pinReferences, input.plan.repository),
    pinsLastSeenFingerprint: digestSetFingerprint(Object.keys(input.nextState.pinsLastSeen)),
    pinned,
    policyFingerprint,
    revisitBy: revisitTime(input, new Set(pinned)),
    totals: {
      pending: { images: input.plan.totals.pending.images, bytes: input.plan.totals.pending.bytes },
      protected: { images: input.plan.totals.protect.images, bytes: input.plan.totals.protect.bytes },
    },
  };
}

/**
 * The earliest time a decision of this plan changes with time alone, or `now` when one is already due: an image
 * ECR is still to expire or transition, a pin whose grace ends, an image crossing any age rule of the policy left in
 * force. Every image is counted against every age rule whatever its tag patterns (earlier, never later); only an image
 * with a tag of its own is left out of untagged rules.
 */
function revisitTime(input: BasisInput, pinned: ReadonlySet<Digest>): number {
  const { plan, now } = input;
  if (plan.images.some((i) => i.decision === 'expire' || (i.decision === 'pending' && i.rule === undefined))) return now;
  let earliest = Number.POSITIVE_INFINITY;
  const later = (t: number) => {
    if (t > now && t < earliest) earliest = t;
  };
  for (const [digest, seen] of Object.entries(input.nextState.pinsLastSeen)) {
    if (!pinned.has(digest)) later(seen + input.config.pinGraceDays * DAY_MS + 1);
  }
  let rules: LifecycleRule[];
  try {
    rules = input.policyLeft === null ? [] : parsePolicyText(input.policyLeft).rules;
  } catch {
    return now;
  }
  for (const rule of rules) {
    const { countType, countNumber, tagStatus } = rule.selection;
    if (countType === 'imageCountMoreThan') continue;
    for (const image of input.images) {
      // Tags change only by pushes and deletes (marked), or by this plan's protection tags: an image with another tag
      // never meets an untagged rule until one of those happens.
      if (tagStatus === 'untagged' && !image.tags.every(isProtectionTag)) continue;
      const start =
        countType === 'sinceImagePushed'
          ? activeSince(image)
          : countType === 'sinceImagePulled'
            ? Math.max(image.lastPulledAt ?? 0, activeSince(image))
            : image.lastArchivedAt;
      if (start !== undefined) later(start + countNumber * DAY_MS);
    }
  }
  return earliest;
}

export function configFingerprint(config: JanitorConfig): string {
  const planned = Object.fromEntries(Object.entries(config).filter(([key]) => !NOT_IN_PLAN.has(key as keyof JanitorConfig)));
  return sha256Hex(canonicalJson(planned));
}

/** The references naming this repository, source included (the pin breaker counts per source). */
export function pinFingerprint(references: readonly PinReference[], repository: string): string {
  const lines = references
    .filter((ref) => ref.repository === repository)
    .map((ref) => `${ref.digest ?? ''}|${ref.tag ?? ''}|${ref.source}`)
    .sort();
  return sha256Hex([...new Set(lines)].join('\n'));
}

function digestSetFingerprint(digests: readonly string[]): string {
  return sha256Hex([...digests].sort().join('\n'));
}

/** Fingerprint of a policy's meaning (ECR may hand back normalised text); `none` without one; undefined: not a policy. */
export function policyTextFingerprint(text: string | null): string | undefined {
  if (text === null) return 'none';
  try {
    return sha256Hex(canonicalPolicyText(text));
  } catch {
    return undefined;
  }
}

/** Reads a stored basis strictly; throws naming the field (the state codec then refuses the whole state). */
export function parseUnchangedBasis(value: unknown, field = 'unchanged'): UnchangedBasis {
  const fail = (problem: string): never => {
    throw new Error(`${field}${problem}`);
  };
  if (!isRecord(value)) return fail(' must be an object');
  const num = (key: string, optional = false): number | undefined => {
    const v = value[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`.${key} must be a number`);
    return v as number;
  };
  const str = (key: string): string => {
    const v = value[key];
    if (typeof v !== 'string' || v === '') fail(`.${key} must be a non-empty string`);
    return v as string;
  };
  const amount = (v: unknown, key: string) => {
    if (!isRecord(v) || typeof v.images !== 'number' || typeof v.bytes !== 'number') return fail(`.totals.${key} must be { images, bytes }`);
    return { images: v.images, bytes: v.bytes };
  };
  if (!Array.isArray(value.pinned) || value.pinned.some((d) => typeof d !== 'string')) fail('.pinned must be a list of digests');
  if (!isRecord(value.totals)) fail('.totals must be { pending, protected }');
  const totals = value.totals as Record<string, unknown>;
  const markAt = num('markAt', true);
  return {
    readStartedAt: num('readStartedAt')!,
    ...(markAt !== undefined ? { markAt } : {}),
    configFingerprint: str('configFingerprint'),
    pinFingerprint: str('pinFingerprint'),
    pinsLastSeenFingerprint: str('pinsLastSeenFingerprint'),
    pinned: value.pinned as string[],
    policyFingerprint: str('policyFingerprint'),
    // Infinity (nothing due) is stored as null by JSON.
    revisitBy: value.revisitBy === null ? Number.POSITIVE_INFINITY : num('revisitBy')!,
    totals: { pending: amount(totals.pending, 'pending'), protected: amount(totals.protected, 'protected') },
  };
}

/** A protection tag may go in this plan, which would leave the image untagged: such an image counts as untagged. */
function isProtectionTag(tag: string): boolean {
  return tag.startsWith(PROTECTION_TAG_PATTERN.slice(0, -1));
}

function iso(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString() : 'never';
}
