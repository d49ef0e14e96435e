// ECR lifecycle policy: rendered from config, parsed and linted as ECR would, merged with a foreign policy.
import { countWildcards, PROTECTION_TAG_PATTERN } from './patterns.js';
import type { CountType, JanitorConfig, LifecyclePolicy, LifecycleRule, TagStatus } from './types.js';

export const JANITOR_RULE_PREFIX = 'ecr-janitor:';
/** A protect rule selects its pattern with an age no image reaches: the images match it, so no lower rule expires them. */
export const PROTECT_RULE_DAYS = 36_500;
const MAX_RULES = 50;
const MIN_TEXT = 100;
const MAX_TEXT = 30_720;
const MAX_WILDCARDS = 4;
/** Archive's minimum storage duration (user guide "Archiving an image"). */
export const ARCHIVE_MINIMUM_DAYS = 90;
const TAG_STATUSES: readonly TagStatus[] = ['tagged', 'untagged', 'any'];
const COUNT_TYPES: readonly CountType[] = ['imageCountMoreThan', 'sinceImagePushed', 'sinceImagePulled', 'sinceImageTransitioned'];

export class PolicyError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'PolicyError';
  }
}

export interface LintFinding {
  field: string;
  message: string;
}

const HOLD_PREFIX = `${JANITOR_RULE_PREFIX} on hold`;
const CARRIER_PREFIX = `${HOLD_PREFIX}: replaced rules `;
const UNKNOWN_MARK = 'the replaced policy is unknown';
/** The replaced rules did not fit in the carriers: only the run state has them, so a hold without it knows nothing. */
const UNCARRIED_MARK = 'the replaced rules are too large to carry here';
/** ECR documents no length limit for a rule description; short chunks stay far from any the service may apply. */
const CARRIER_CHUNK = 200;
/** A hold keeps room for the hold rule itself within ECR's 50 rules. */
const MAX_CARRIERS = MAX_RULES - 1;

/** What a hold says about the policy it replaced: its foreign rules, nothing (no policy), or unknown (it could not be read). */
export type ReplacedPolicy = { known: true; foreign: LifecyclePolicy } | { known: false };

/**
 * What the janitor puts in place when it cannot protect what the installed policy would expire next: rules that never
 * fire (a policy needs at least one). The foreign rules of the policy it replaces travel inside the hold itself, as JSON
 * in the descriptions of extra never-firing rules: the hold is where ECR keeps them durably, so a lost or corrupt run
 * state cannot lose the team's own rules (a repository tag would need TagResource rights and 256-character values).
 * `replacedText`: the replaced policy's text, null when there was none, undefined when it could not be read.
 */
export function holdPolicy(replacedText?: string | null): LifecyclePolicy {
  const replaced = replacedOf(replacedText);
  const fingerprint = replacedFingerprint(replacedText);
  const payload = replaced.known && replaced.foreign.rules.length > 0 ? JSON.stringify(JSON.parse(policyToText(replaced.foreign)).rules) : '';
  const uncarried = Math.ceil(payload.length / CARRIER_CHUNK) > MAX_CARRIERS;
  const never = { tagStatus: 'tagged' as const, tagPatternList: [PROTECTION_TAG_PATTERN], countType: 'sinceImagePushed' as const, countUnit: 'days' as const, countNumber: PROTECT_RULE_DAYS };
  const rules: LifecycleRule[] = [
    {
      rulePriority: 1,
      description:
        `${HOLD_PREFIX}: protection could not be completed; nothing expires until a run completes it` +
        `${replaced.known ? '' : `; ${UNKNOWN_MARK}`}${uncarried ? `; ${UNCARRIED_MARK}` : ''}${fingerprint !== undefined ? `; ${FINGERPRINT_MARK}${fingerprint}` : ''}`,
      selection: never,
      action: { type: 'expire' },
    },
  ];
  if (replaced.known && replaced.foreign.rules.length > 0) {
    const payload = JSON.stringify(JSON.parse(policyToText(replaced.foreign)).rules);
    const chunks: string[] = [];
    for (let i = 0; i < payload.length; i += CARRIER_CHUNK) chunks.push(payload.slice(i, i + CARRIER_CHUNK));
    // Too large to carry: the run state's heldPolicyText is then the only copy (the planner still saves it).
    if (chunks.length <= MAX_CARRIERS) {
      // Each rule of a storage class needs its own tag list: a literal tag no image carries, never old enough anyway.
      chunks.forEach((chunk, i) =>
        rules.push({ rulePriority: i + 2, description: `${CARRIER_PREFIX}${i + 1}/${chunks.length}: ${chunk}`, selection: { ...never, tagPatternList: [`ecr-janitor-hold-note-${i + 1}`] }, action: { type: 'expire' } }),
      );
    }
  }
  return { rules };
}

const FINGERPRINT_MARK = 'replaced policy fingerprint ';

/** A short fingerprint of a policy's canonical text (cyrb53): tells "the same policy comes back" from a new one. */
export function policyFingerprint(policy: LifecyclePolicy): string {
  const text = policyToText(policy);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

/** The fingerprint of the (non-hold) policy a hold replaced, as the hold records it; undefined when it does not. */
export function replacedFingerprintOfHold(hold: LifecyclePolicy): string | undefined {
  for (const rule of hold.rules) {
    const at = rule.description?.indexOf(FINGERPRINT_MARK) ?? -1;
    if (at >= 0) return rule.description!.slice(at + FINGERPRINT_MARK.length).split(/[;\s]/)[0];
  }
  return undefined;
}

function replacedFingerprint(text: string | null | undefined): string | undefined {
  if (text === undefined || text === null) return undefined;
  try {
    const policy = parsePolicyText(text);
    return isHoldPolicy(policy) ? replacedFingerprintOfHold(policy) : policyFingerprint(policy);
  } catch {
    return undefined;
  }
}

function replacedOf(text: string | null | undefined): ReplacedPolicy {
  if (text === undefined) return { known: false };
  if (text === null) return { known: true, foreign: { rules: [] } };
  let policy: LifecyclePolicy;
  try {
    policy = parsePolicyText(text);
  } catch {
    return { known: false };
  }
  if (isHoldPolicy(policy)) return replacedPolicyOfHold(policy) ?? { known: false };
  const edited = splitEditedHold(policy);
  if (edited) {
    const carried = replacedPolicyOfHold(edited.hold);
    return carried?.known ? { known: true, foreign: { rules: [...carried.foreign.rules, ...edited.others] } } : { known: false };
  }
  return { known: true, foreign: { rules: policy.rules.filter((rule) => !isJanitorRule(rule)) } };
}

/**
 * A hold someone added rules to by hand: no longer a hold (it may expire), but its carriers still hold the team's
 * replaced rules, which must not be lost. Undefined unless some rules are hold rules and some are not.
 */
export function splitEditedHold(policy: LifecyclePolicy): { hold: LifecyclePolicy; others: LifecycleRule[] } | undefined {
  const isHoldRule = (rule: LifecycleRule) => rule.description?.startsWith(HOLD_PREFIX) === true;
  const hold = policy.rules.filter(isHoldRule);
  const others = policy.rules.filter((rule) => !isHoldRule(rule) && !isJanitorRule(rule));
  if (hold.length === 0 || hold.length === policy.rules.length) return undefined;
  return { hold: { rules: hold }, others };
}

/**
 * The replaced policy a hold carries: its foreign rules, unknown when the hold says so, or undefined for a hold written
 * before holds carried it (the run state's heldPolicyText has it then).
 */
export function replacedPolicyOfHold(hold: LifecyclePolicy): ReplacedPolicy | undefined {
  if (hold.rules.some((rule) => rule.description?.includes(UNKNOWN_MARK) || rule.description?.includes(UNCARRIED_MARK))) return { known: false };
  const carriers = hold.rules
    .filter((rule) => rule.description?.startsWith(CARRIER_PREFIX))
    .map((rule) => /^(\d+)\/(\d+): ([\s\S]*)$/.exec(rule.description!.slice(CARRIER_PREFIX.length)))
    .filter((match): match is RegExpExecArray => match !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  if (carriers.length === 0) return hold.rules.some((rule) => rule.description?.startsWith(`${HOLD_PREFIX}: protection`)) && hold.rules.length === 1 ? undefined : { known: false };
  if (carriers.length !== Number(carriers[0]![2])) return { known: false };
  try {
    return { known: true, foreign: parsePolicyText(JSON.stringify({ rules: JSON.parse(carriers.map((m) => m[3]).join('')) })) };
  } catch {
    return { known: false };
  }
}

export function isHoldPolicy(policy: LifecyclePolicy): boolean {
  return policy.rules.length > 0 && policy.rules.every((rule) => rule.description?.startsWith(HOLD_PREFIX) === true);
}

export function isJanitorRule(rule: LifecycleRule): boolean {
  return rule.description?.startsWith(JANITOR_RULE_PREFIX) === true;
}

/** Protect rules first, one keep-N rule per CI pattern (several patterns in one list would be AND), one untagged rule. */
export function renderPolicy(config: JanitorConfig): LifecyclePolicy {
  const rules: LifecycleRule[] = [];
  let priority = 1;
  for (const pattern of [...config.protectedTags, PROTECTION_TAG_PATTERN]) {
    rules.push({
      rulePriority: priority++,
      description: `${JANITOR_RULE_PREFIX} protect ${pattern}`,
      selection: { tagStatus: 'tagged', tagPatternList: [pattern], countType: 'sinceImagePushed', countUnit: 'days', countNumber: PROTECT_RULE_DAYS },
      action: { type: 'expire' },
    });
  }
  for (const ci of config.ciTags) {
    rules.push({
      rulePriority: priority++,
      description: `${JANITOR_RULE_PREFIX} keep the ${ci.keep} newest ${ci.pattern}`,
      selection: { tagStatus: 'tagged', tagPatternList: [ci.pattern], countType: 'imageCountMoreThan', countNumber: ci.keep },
      action: { type: 'expire' },
    });
  }
  rules.push({
    rulePriority: priority,
    description: `${JANITOR_RULE_PREFIX} expire untagged after ${config.untaggedExpireDays} days`,
    selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: config.untaggedExpireDays },
    action: { type: 'expire' },
  });
  return { rules };
}

/**
 * Rules select one storage class, so the protect rules (standard) do not shield an archived image from a rule of the
 * archive class ("Lifecycle policy properties in Amazon ECR": storageClass). When the policy acts on archived images,
 * the protected patterns get the same idiom in the archive class, right after the standard protect rules: a
 * sinceImageTransitioned age never reached (the only count type archive takes).
 */
export function withArchiveProtection(policy: LifecyclePolicy, protectedPatterns: readonly string[]): LifecyclePolicy {
  const ordered = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const actsOnArchive = ordered.some((rule) => !isJanitorRule(rule) && rule.selection.storageClass === 'archive');
  if (!actsOnArchive) return policy;
  const ours = ordered.filter((rule) => !(isJanitorRule(rule) && rule.selection.storageClass === 'archive'));
  const shields: LifecycleRule[] = [...new Set([...protectedPatterns, PROTECTION_TAG_PATTERN])].map((pattern) => ({
    rulePriority: 0,
    description: `${JANITOR_RULE_PREFIX} protect ${pattern} in archive`,
    selection: { tagStatus: 'tagged', tagPatternList: [pattern], storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: PROTECT_RULE_DAYS },
    action: { type: 'expire' },
  }));
  const lastProtect = ours.reduce((at, rule, i) => (isJanitorRule(rule) && rule.description?.startsWith(`${JANITOR_RULE_PREFIX} protect `) ? i + 1 : at), 0);
  const rules = [...ours.slice(0, lastProtect), ...shields, ...ours.slice(lastProtect)].map((rule, i) => ({ ...rule, rulePriority: i + 1 }));
  return { rules };
}

/**
 * Our rules plus the foreign rules of an installed policy. Our protect rules come first (a pin must outrank everything);
 * then the foreign tagged rules in their order, above our expiring rules: a foreign rule claims the images it selects, so
 * what the team's policy shields (e.g. "never expire v*") stays shielded from our keep-N rules. Then our CI rules, one
 * untagged rule per storage class (the foreign one wins: ECR allows one, and it is the team's choice), a foreign `any`
 * rule last. The planner checks the result against the foreign policy alone before installing it.
 */
export function mergePolicy(ours: LifecyclePolicy, installed: LifecyclePolicy): { policy: LifecyclePolicy; warnings: string[] } {
  const warnings: string[] = [];
  const foreign = [...installed.rules].filter((r) => !isJanitorRule(r)).sort((a, b) => a.rulePriority - b.rulePriority);
  const storageOf = (r: LifecycleRule) => r.selection.storageClass ?? 'standard';
  const isProtect = (r: LifecycleRule) => r.description?.startsWith(`${JANITOR_RULE_PREFIX} protect `) === true;
  // ECR wants each rule of a storage class to have its own tag list: our protection keeps its list, a foreign rule keeps
  // its list against our CI rules (it sits above them and would claim every image they select anyway).
  const listKey = (r: LifecycleRule) =>
    `${storageOf(r)}|${r.selection.tagPatternList ? 'pattern' : 'prefix'}|${[...(r.selection.tagPatternList ?? r.selection.tagPrefixList ?? [])].sort().join('\u0000')}`;
  const protectLists = new Set(ours.rules.filter((r) => isProtect(r)).map(listKey));
  const foreignTagged = foreign.filter((r) => {
    if (r.selection.tagStatus !== 'tagged') return false;
    if (!protectLists.has(listKey(r))) return true;
    warnings.push(`foreign rule ${r.rulePriority} (${describeCount(r)}) dropped: our protect rule has the same tag list and keeps every image it selects`);
    return false;
  });
  const foreignLists = new Map(foreignTagged.map((r) => [listKey(r), r]));
  const foreignUntagged = foreign.filter((r) => r.selection.tagStatus === 'untagged');
  const ourUntagged = ours.rules.filter((r) => r.selection.tagStatus === 'untagged');
  const keptOurUntagged = ourUntagged.filter((r) => {
    const theirs = foreignUntagged.find((f) => storageOf(f) === storageOf(r));
    if (theirs) {
      warnings.push(
        `our untagged rule (${describeCount(r)}) gives way to foreign rule ${theirs.rulePriority} (untagged, ${describeCount(theirs)}): ECR allows one untagged rule per storage class`,
      );
    }
    return theirs === undefined;
  });
  const ordered: LifecycleRule[] = [
    ...ours.rules.filter((r) => isProtect(r)),
    ...foreignTagged,
    ...ours.rules.filter((r) => {
      if (isProtect(r) || r.selection.tagStatus === 'untagged') return false;
      const theirs = foreignLists.get(listKey(r));
      if (theirs) warnings.push(`our rule "${r.description ?? r.rulePriority}" gives way to foreign rule ${theirs.rulePriority} (${describeCount(theirs)}), which has the same tag list`);
      return theirs === undefined;
    }),
    ...keptOurUntagged,
    ...foreignUntagged,
    ...foreign.filter((r) => r.selection.tagStatus === 'any'),
  ];
  const rules = ordered.map((rule, i) => ({ ...rule, rulePriority: i + 1 }));
  return { policy: { rules }, warnings };
}

function describeCount(rule: LifecycleRule): string {
  const s = rule.selection;
  return s.countType === 'imageCountMoreThan' ? `count > ${s.countNumber}` : `${s.countType} ${s.countNumber} days`;
}

/** Canonical text: fixed key order, rules by priority. What we install and what we compare. */
export function policyToText(policy: LifecyclePolicy): string {
  const rules = [...policy.rules]
    .sort((a, b) => a.rulePriority - b.rulePriority)
    .map((r) => {
      const s = r.selection;
      return {
        rulePriority: r.rulePriority,
        ...(r.description !== undefined ? { description: r.description } : {}),
        selection: {
          tagStatus: s.tagStatus,
          ...(s.tagPatternList ? { tagPatternList: s.tagPatternList } : {}),
          ...(s.tagPrefixList ? { tagPrefixList: s.tagPrefixList } : {}),
          ...(s.storageClass ? { storageClass: s.storageClass } : {}),
          countType: s.countType,
          ...(s.countUnit ? { countUnit: s.countUnit } : {}),
          countNumber: s.countNumber,
        },
        action: { type: r.action.type, ...(r.action.targetStorageClass ? { targetStorageClass: r.action.targetStorageClass } : {}) },
      };
    });
  return JSON.stringify({ rules });
}

/**
 * The meaning of a policy text as one string: rules by priority, keys in a fixed order, no whitespace, defaults ECR
 * treats as absent made explicit (storageClass "standard"), entries of an AND tag list sorted. ECR may hand back the
 * text it stores normalised (keys reordered, whitespace gone, rules sorted); two texts mean the same when their
 * canonical forms are equal. Keys we do not know are kept, so a text carrying one never equals ours. Throws
 * PolicyError when the text is not a policy.
 */
export function canonicalPolicyText(text: string): string {
  const parsed = policyJson(text);
  const rules = parsed.rules.map((raw: unknown, i: number) => {
    if (!isRecord(raw) || !isRecord(raw.selection) || !isRecord(raw.action) || typeof raw.rulePriority !== 'number') {
      throw new PolicyError(`rules[${i}]`, 'needs a numeric rulePriority, a selection and an action');
    }
    const { description, ...rule } = raw;
    const selection: Record<string, unknown> = { storageClass: 'standard', ...raw.selection };
    for (const key of ['tagPatternList', 'tagPrefixList']) {
      if (Array.isArray(selection[key])) selection[key] = [...(selection[key] as unknown[])].sort();
    }
    return { priority: raw.rulePriority, rule: { ...rule, ...(description !== undefined && description !== '' ? { description } : {}), selection } };
  });
  rules.sort((a, b) => a.priority - b.priority);
  return stableJson({ ...parsed, rules: rules.map((r) => r.rule) });
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The policy text as JSON with a rules array, or a PolicyError saying which. */
function policyJson(text: string): Record<string, unknown> & { rules: unknown[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PolicyError('(text)', `not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.rules)) throw new PolicyError('rules', 'a lifecycle policy is {"rules": [...]}');
  return parsed as Record<string, unknown> & { rules: unknown[] };
}

/** True when two policy texts mean the same rules. A text that is not a policy is never the same (fail closed). */
export function samePolicy(a: string, b: string): boolean {
  try {
    return canonicalPolicyText(a) === canonicalPolicyText(b);
  } catch {
    return false;
  }
}

/** Reads policy text into rules, checking shapes; ECR's own constraints are checked by lintPolicy. */
export function parsePolicyText(text: string): LifecyclePolicy {
  const parsed = policyJson(text);
  rejectUnknownKeys(parsed, ['rules'], '(policy)');
  const rules = parsed.rules.map((raw: unknown, i: number): LifecycleRule => {
    const at = `rules[${i}]`;
    if (!isRecord(raw)) throw new PolicyError(at, 'must be an object');
    const { rulePriority, description, selection, action } = raw;
    if (typeof rulePriority !== 'number') throw new PolicyError(`${at}.rulePriority`, 'must be a number');
    if (description !== undefined && typeof description !== 'string') throw new PolicyError(`${at}.description`, 'must be a string');
    if (!isRecord(selection)) throw new PolicyError(`${at}.selection`, 'must be an object');
    if (!isRecord(action)) throw new PolicyError(`${at}.action`, 'must be an object');
    // ECR rejects keys it does not know; silently dropping one could change what a rule selects.
    rejectUnknownKeys(raw, RULE_KEYS, at);
    rejectUnknownKeys(selection, SELECTION_KEYS, `${at}.selection`);
    rejectUnknownKeys(action, ACTION_KEYS, `${at}.action`);
    const list = (key: string): string[] | undefined => {
      const value = selection[key];
      if (value === undefined) return undefined;
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new PolicyError(`${at}.selection.${key}`, 'must be a list of strings');
      return value as string[];
    };
    const tagPatternList = list('tagPatternList');
    const tagPrefixList = list('tagPrefixList');
    if (typeof selection.countNumber !== 'number') throw new PolicyError(`${at}.selection.countNumber`, 'must be a number');
    return {
      rulePriority,
      ...(description !== undefined ? { description: description as string } : {}),
      selection: {
        tagStatus: selection.tagStatus as TagStatus,
        ...(tagPatternList ? { tagPatternList } : {}),
        ...(tagPrefixList ? { tagPrefixList } : {}),
        ...(selection.storageClass !== undefined ? { storageClass: selection.storageClass as 'standard' | 'archive' } : {}),
        countType: selection.countType as CountType,
        ...(selection.countUnit !== undefined ? { countUnit: selection.countUnit as 'days' } : {}),
        countNumber: selection.countNumber,
      },
      action: {
        type: action.type as 'expire' | 'transition',
        ...(action.targetStorageClass !== undefined ? { targetStorageClass: action.targetStorageClass as 'archive' } : {}),
      },
    };
  });
  return { rules };
}

/**
 * What ECR rejects (errors) and what is legal but almost surely a mistake (warnings). Sources: user guide "Lifecycle
 * policy properties in Amazon ECR" and "Examples of lifecycle policies in Amazon ECR" (the archive + expire example has
 * one `any` rule per storage class). The length limits apply to `submittedText`, the text actually sent.
 */
export function lintPolicy(policy: LifecyclePolicy, submittedText?: string): { errors: LintFinding[]; warnings: LintFinding[] } {
  const errors: LintFinding[] = [];
  const warnings: LintFinding[] = [];
  const error = (field: string, message: string) => errors.push({ field, message });
  const rules = policy.rules;
  if (rules.length === 0) error('rules', 'a policy needs at least one rule');
  if (rules.length > MAX_RULES) error('rules', `${rules.length} rules; ECR allows at most ${MAX_RULES}`);
  const text = submittedText ?? policyToText(policy);
  if (text.length > MAX_TEXT) error('(text)', `${text.length} characters; ECR allows at most ${MAX_TEXT}`);
  if (text.length < MIN_TEXT) error('(text)', `${text.length} characters; ECR needs at least ${MIN_TEXT}`);

  const priorities = new Map<number, number>();
  const storageOf = (rule: LifecycleRule) => rule.selection.storageClass ?? 'standard';
  // "any" must be the last rule of its storage class: the docs' archive example has one any rule per class.
  const maxPriorityByStorage = new Map<unknown, number>();
  for (const rule of rules) maxPriorityByStorage.set(storageOf(rule), Math.max(maxPriorityByStorage.get(storageOf(rule)) ?? -Infinity, rule.rulePriority));
  const untaggedByStorage = new Map<string, number>();
  const tagListsSeen = new Map<string, number>();
  rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    const s = rule.selection;
    const storage = storageOf(rule);
    if (storage !== 'standard' && storage !== 'archive') error(`${at}.selection.storageClass`, `must be standard or archive, got ${JSON.stringify(s.storageClass)}`);
    if (!Number.isInteger(rule.rulePriority) || rule.rulePriority < 1) error(`${at}.rulePriority`, 'must be a whole number >= 1');
    const seen = priorities.get(rule.rulePriority);
    if (seen !== undefined) error(`${at}.rulePriority`, `${rule.rulePriority} is also the priority of rules[${seen}]; priorities must be unique`);
    priorities.set(rule.rulePriority, i);
    if (!TAG_STATUSES.includes(s.tagStatus)) error(`${at}.selection.tagStatus`, `must be tagged, untagged or any, got ${JSON.stringify(s.tagStatus)}`);
    if (!COUNT_TYPES.includes(s.countType)) error(`${at}.selection.countType`, `must be one of ${COUNT_TYPES.join(', ')}, got ${JSON.stringify(s.countType)}`);
    if (s.tagPatternList && s.tagPrefixList) error(`${at}.selection`, 'tagPatternList and tagPrefixList cannot be used together');
    const list = s.tagPatternList ?? s.tagPrefixList;
    if (s.tagStatus === 'tagged' && (!list || list.length === 0)) error(`${at}.selection`, 'a tagged rule needs a tagPatternList or tagPrefixList');
    if (s.tagStatus !== 'tagged' && list) error(`${at}.selection`, `a ${s.tagStatus} rule must not have a tag list`);
    if (list?.some((entry) => entry === '')) error(`${at}.selection`, 'a tag list entry cannot be empty');
    for (const [j, pattern] of (s.tagPatternList ?? []).entries()) {
      if (countWildcards(pattern) > MAX_WILDCARDS) error(`${at}.selection.tagPatternList[${j}]`, `"${pattern}" has more than ${MAX_WILDCARDS} wildcards`);
    }
    if (list && list.length > 1) {
      warnings.push({
        field: `${at}.selection.${s.tagPatternList ? 'tagPatternList' : 'tagPrefixList'}`,
        message: `${JSON.stringify(list)} is AND: an image must carry a tag matching every entry; for "any of", write one rule per entry`,
      });
    }
    if (s.tagStatus === 'any' && rule.rulePriority !== maxPriorityByStorage.get(storage)) {
      error(`${at}.rulePriority`, `a tagStatus "any" rule must have the highest priority number of its storage class (${storage})`);
    }
    if (s.tagStatus === 'untagged') {
      if (untaggedByStorage.has(storage)) error(`${at}.selection.tagStatus`, `a second untagged rule for storage class ${storage}; ECR allows one`);
      untaggedByStorage.set(storage, i);
    }
    if (list && list.length > 0) {
      // Same entries in another order are the same AND condition.
      const key = JSON.stringify([storage, s.tagPatternList ? 'pattern' : 'prefix', [...list].sort()]);
      const first = tagListsSeen.get(key);
      if (first !== undefined) error(`${at}.selection`, `rules[${first}] has the same tag list in storage class ${storage}; each rule of a storage class needs its own`);
      else tagListsSeen.set(key, i);
    }
    if (!Number.isInteger(s.countNumber) || s.countNumber < 1) error(`${at}.selection.countNumber`, 'must be a whole number >= 1');
    if (s.countType === 'imageCountMoreThan' && s.countUnit !== undefined) error(`${at}.selection.countUnit`, 'imageCountMoreThan takes no countUnit');
    if (s.countType !== 'imageCountMoreThan' && s.countUnit !== 'days') error(`${at}.selection.countUnit`, `${s.countType} needs countUnit "days"`);
    if (rule.action.type !== 'expire' && rule.action.type !== 'transition') error(`${at}.action.type`, `must be expire or transition, got ${JSON.stringify(rule.action.type)}`);
    const target = rule.action.targetStorageClass;
    if (rule.action.type === 'transition' && target === undefined) error(`${at}.action.targetStorageClass`, 'a transition needs targetStorageClass "archive"');
    else if (target !== undefined && target !== 'archive') error(`${at}.action.targetStorageClass`, `must be "archive", got ${JSON.stringify(target)}`);
    if (rule.action.type === 'transition' && storage !== 'standard') error(`${at}.selection.storageClass`, 'a transition moves images out of storage class standard only');
    if (s.countType === 'sinceImagePulled' && rule.action.type !== 'transition') error(`${at}.selection.countType`, 'sinceImagePulled can only transition to archive');
    if (s.countType === 'sinceImageTransitioned') {
      if (storage !== 'archive') error(`${at}.selection.countType`, 'sinceImageTransitioned applies to storageClass "archive" only');
      if (rule.action.type !== 'expire') error(`${at}.action.type`, 'sinceImageTransitioned can only expire (an archived image cannot be archived again)');
      // Archive has a 90-day minimum storage duration; ECR refuses a rule that would delete earlier ("Archiving an image").
      if (s.countNumber < ARCHIVE_MINIMUM_DAYS) error(`${at}.selection.countNumber`, `sinceImageTransitioned must be at least ${ARCHIVE_MINIMUM_DAYS} days (archive's minimum storage duration), got ${s.countNumber}`);
    }
    // Properties page: storageClass archive goes with sinceImageTransitioned only (so never with imageCountMoreThan).
    if (storage === 'archive' && s.countType !== 'sinceImageTransitioned') error(`${at}.selection.countType`, `${s.countType} cannot select storageClass "archive"; only sinceImageTransitioned can`);
  });
  return { errors, warnings };
}

const RULE_KEYS = ['rulePriority', 'description', 'selection', 'action'] as const;
const SELECTION_KEYS = ['tagStatus', 'tagPatternList', 'tagPrefixList', 'storageClass', 'countType', 'countUnit', 'countNumber'] as const;
const ACTION_KEYS = ['type', 'targetStorageClass'] as const;

function rejectUnknownKeys(object: Record<string, unknown>, known: readonly string[], at: string): void {
  const unknown = Object.keys(object).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new PolicyError(`${at}.${unknown}`, `unknown key; ECR accepts only ${known.join(', ')} here`);
}

/** ECR's way of saying a policy is refused, with every finding naming its field. */
export function validationFailureMessage(errors: readonly LintFinding[]): string {
  return `Lifecycle policy validation failure: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
