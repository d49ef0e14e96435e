// What AWS leaves open, played two ways. `faithful` reads each open question the way AWS's documentation most plainly
// reads; `pessimistic` plays the worst plausible reading (the one most likely to lose a live image or keep the janitor
// from installing its policy). The janitor must stay safe, and still do its job, under both.
// README.md "Open questions and the emulator's profiles" lists every reading with its source.
import { FAITHFUL_READINGS, PESSIMISTIC_READINGS, type LifecycleReadings } from './lifecycle-engine.js';

export type { LifecycleReadings } from './lifecycle-engine.js';

export type ProfileName = 'faithful' | 'pessimistic';
export const PROFILE_NAMES: readonly ProfileName[] = ['faithful', 'pessimistic'];

export interface Profile {
  readonly name: ProfileName;
  /** How the lifecycle engine ranks and lists (index children in count ranking, order of equal push times). */
  readonly lifecycle: LifecycleReadings;
  /**
   * BatchDeleteImage with an id carrying both imageDigest and imageTag. The API reference describes ids by tag (removes
   * the tag, the image with its last tag) or by digest (removes the image) and is silent on both at once:
   * LocalStack removes the tag ('tag'), moto deletes the whole image ('image').
   */
  readonly deleteByDigestAndTag: 'tag' | 'image';
  /**
   * GetLifecyclePolicyPreview answers IN_PROGRESS for this many polls after a Start. The API reference only says the
   * status can be IN_PROGRESS | COMPLETE | EXPIRED | FAILED; how long it takes is not documented.
   */
  readonly previewPollsInProgress: number;
  /** A second StartLifecyclePolicyPreview while one runs: LifecyclePolicyPreviewInProgressException (API reference lists it). */
  readonly previewRefusesConcurrentStart: boolean;
  /**
   * How GetLifecyclePolicy, PutLifecyclePolicy's answer and the preview return the policy text: as submitted, or
   * normalised (keys reordered, whitespace gone, rules sorted by priority). Not documented either way.
   */
  readonly policyText: 'as-submitted' | 'normalised';
  /**
   * How often lastRecordedPullTime moves. DescribeImages' ImageDetail: "Amazon ECR refreshes the last image pull
   * timestamp at least once every 24 hours" (API reference, ImageDetail.lastRecordedPullTime): 'every-pull' or 'daily'.
   * Both count BatchGetImage as a pull (it is how a client fetches a manifest).
   */
  readonly pullTimeRefresh: 'every-pull' | 'daily';
}

export const FAITHFUL: Profile = {
  name: 'faithful',
  lifecycle: FAITHFUL_READINGS,
  deleteByDigestAndTag: 'tag',
  previewPollsInProgress: 0,
  previewRefusesConcurrentStart: false,
  policyText: 'as-submitted',
  pullTimeRefresh: 'every-pull',
};

export const PESSIMISTIC: Profile = {
  name: 'pessimistic',
  // Index children and referrers counted in imageCountMoreThan ranking and listed by the preview (containers-roadmap
  // #2613); equal push times ranked newer-first. H1's lifecycle engine plays both.
  lifecycle: PESSIMISTIC_READINGS,
  // moto's BatchDeleteImage deletes the image when an id carries a digest, whatever the tag says.
  deleteByDigestAndTag: 'image',
  previewPollsInProgress: 3,
  previewRefusesConcurrentStart: true,
  policyText: 'normalised',
  pullTimeRefresh: 'daily',
};

export function profileNamed(name: string): Profile {
  if (name === 'faithful') return FAITHFUL;
  if (name === 'pessimistic') return PESSIMISTIC;
  throw new RangeError(`profile must be one of ${PROFILE_NAMES.join(', ')}, got "${name}"`);
}

/** A profile with some readings changed (e.g. a preview that stays IN_PROGRESS for 10 polls). */
export function withReadings(base: Profile, changes: Partial<Omit<Profile, 'name'>>): Profile {
  return { ...base, ...changes };
}

/**
 * Policy text as a normalising ECR might store it: object keys in alphabetical order at every depth, rules sorted by
 * rulePriority, no whitespace. Text that is not JSON comes back unchanged (validation rejects it elsewhere).
 */
export function normalisePolicyText(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  if (isRecord(json) && Array.isArray(json.rules)) {
    json = { ...json, rules: [...json.rules].sort((a, b) => priorityOf(a) - priorityOf(b)) };
  }
  return JSON.stringify(sortKeys(json));
}

function priorityOf(rule: unknown): number {
  return isRecord(rule) && typeof rule.rulePriority === 'number' ? rule.rulePriority : Number.MAX_SAFE_INTEGER;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The environment variable `npm run demo` and `npm run simulate` read to choose a profile (default pessimistic). */
export const PROFILE_ENV = 'ECR_EMULATOR_PROFILE';

export function profileFromEnvironment(env: Record<string, string | undefined> = process.env, fallback: ProfileName = 'pessimistic'): ProfileName {
  const value = env[PROFILE_ENV];
  if (value === undefined || value === '') return fallback;
  return profileNamed(value).name;
}
