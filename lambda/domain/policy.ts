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

/**
 * What the janitor puts in place when it cannot protect what the installed policy would expire next: one rule that
 * never fires (a policy needs at least one). The policy it replaces is kept in the run state and comes back after.
 */
export function holdPolicy(): LifecyclePolicy {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `${HOLD_PREFIX}: protection could not be completed; nothing expires until a run completes it`,
        selection: { tagStatus: 'tagged', tagPatternList: [PROTECTION_TAG_PATTERN], countType: 'sinceImagePushed', countUnit: 'days', countNumber: PROTECT_RULE_DAYS },
        action: { type: 'expire' },
      },
    ],
  };
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
 * Our rules plus the foreign rules of an installed policy: ours first (protection must outrank everything), then the
 * foreign tagged rules in their order, our untagged rule, a foreign `any` rule last. A foreign untagged rule of the same
 * storage class is dropped (ECR allows one), with a warning.
 */
export function mergePolicy(ours: LifecyclePolicy, installed: LifecyclePolicy): { policy: LifecyclePolicy; warnings: string[] } {
  const warnings: string[] = [];
  const foreign = [...installed.rules].filter((r) => !isJanitorRule(r)).sort((a, b) => a.rulePriority - b.rulePriority);
  const ourUntagged = ours.rules.filter((r) => r.selection.tagStatus === 'untagged');
  const storageOf = (r: LifecycleRule) => r.selection.storageClass ?? 'standard';
  const ordered: LifecycleRule[] = ours.rules.filter((r) => r.selection.tagStatus !== 'untagged');
  const keptUntagged: LifecycleRule[] = [];
  const anyRules: LifecycleRule[] = [];
  for (const rule of foreign) {
    if (rule.selection.tagStatus === 'any') anyRules.push(rule);
    else if (rule.selection.tagStatus === 'untagged') {
      if (ourUntagged.some((r) => storageOf(r) === storageOf(rule))) {
        warnings.push(`foreign rule ${rule.rulePriority} (untagged, ${describeCount(rule)}) replaced by ours: ECR allows one untagged rule per storage class`);
      } else keptUntagged.push(rule);
    } else ordered.push(rule);
  }
  ordered.push(...ourUntagged, ...keptUntagged, ...anyRules);
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

/** True when two policy texts mean the same rules (ECR may reformat or reorder what it stores). */
export function samePolicy(a: string, b: string): boolean {
  try {
    return policyToText(parsePolicyText(a)) === policyToText(parsePolicyText(b));
  } catch {
    return false;
  }
}

/** Reads policy text into rules, checking shapes; ECR's own constraints are checked by lintPolicy. */
export function parsePolicyText(text: string): LifecyclePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PolicyError('(text)', `not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.rules)) throw new PolicyError('rules', 'a lifecycle policy is {"rules": [...]}');
  const rules = parsed.rules.map((raw: unknown, i: number): LifecycleRule => {
    const at = `rules[${i}]`;
    if (!isRecord(raw)) throw new PolicyError(at, 'must be an object');
    const { rulePriority, description, selection, action } = raw;
    if (typeof rulePriority !== 'number') throw new PolicyError(`${at}.rulePriority`, 'must be a number');
    if (description !== undefined && typeof description !== 'string') throw new PolicyError(`${at}.description`, 'must be a string');
    if (!isRecord(selection)) throw new PolicyError(`${at}.selection`, 'must be an object');
    if (!isRecord(action)) throw new PolicyError(`${at}.action`, 'must be an object');
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

/** What ECR rejects (errors) and what is legal but almost surely a mistake (warnings). */
export function lintPolicy(policy: LifecyclePolicy): { errors: LintFinding[]; warnings: LintFinding[] } {
  const errors: LintFinding[] = [];
  const warnings: LintFinding[] = [];
  const error = (field: string, message: string) => errors.push({ field, message });
  const rules = policy.rules;
  if (rules.length === 0) error('rules', 'a policy needs at least one rule');
  if (rules.length > MAX_RULES) error('rules', `${rules.length} rules; ECR allows at most ${MAX_RULES}`);
  const text = policyToText(policy);
  if (text.length > MAX_TEXT) error('(text)', `${text.length} characters; ECR allows at most ${MAX_TEXT}`);
  if (text.length < MIN_TEXT) error('(text)', `${text.length} characters; ECR needs at least ${MIN_TEXT}`);

  const priorities = new Map<number, number>();
  const maxPriority = Math.max(...rules.map((r) => r.rulePriority));
  const untaggedByStorage = new Map<string, number>();
  rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    const s = rule.selection;
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
    for (const [j, pattern] of (s.tagPatternList ?? []).entries()) {
      if (countWildcards(pattern) > MAX_WILDCARDS) error(`${at}.selection.tagPatternList[${j}]`, `"${pattern}" has more than ${MAX_WILDCARDS} wildcards`);
    }
    if (list && list.length > 1) {
      warnings.push({
        field: `${at}.selection.${s.tagPatternList ? 'tagPatternList' : 'tagPrefixList'}`,
        message: `${JSON.stringify(list)} is AND: an image must carry a tag matching every entry; for "any of", write one rule per entry`,
      });
    }
    if (s.tagStatus === 'any' && rule.rulePriority !== maxPriority) error(`${at}.rulePriority`, 'a tagStatus "any" rule must have the highest priority number');
    if (s.tagStatus === 'untagged') {
      const storage = s.storageClass ?? 'standard';
      if (untaggedByStorage.has(storage)) error(`${at}.selection.tagStatus`, `a second untagged rule for storage class ${storage}; ECR allows one`);
      untaggedByStorage.set(storage, i);
    }
    if (!Number.isInteger(s.countNumber) || s.countNumber < 1) error(`${at}.selection.countNumber`, 'must be a whole number >= 1');
    if (s.countType === 'imageCountMoreThan' && s.countUnit !== undefined) error(`${at}.selection.countUnit`, 'imageCountMoreThan takes no countUnit');
    if (s.countType !== 'imageCountMoreThan' && s.countUnit !== 'days') error(`${at}.selection.countUnit`, `${s.countType} needs countUnit "days"`);
    if (rule.action.type !== 'expire' && rule.action.type !== 'transition') error(`${at}.action.type`, `must be expire or transition, got ${JSON.stringify(rule.action.type)}`);
    if (rule.action.type === 'transition' && rule.action.targetStorageClass !== 'archive') error(`${at}.action.targetStorageClass`, 'a transition needs targetStorageClass "archive"');
    if (s.countType === 'sinceImagePulled' && rule.action.type !== 'transition') error(`${at}.selection.countType`, 'sinceImagePulled can only transition to archive');
    if (s.countType === 'sinceImageTransitioned' && s.storageClass !== 'archive') error(`${at}.selection.countType`, 'sinceImageTransitioned applies to storageClass "archive" only');
  });
  return { errors, warnings };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
