// Lifecycle policy text checked as PutLifecyclePolicy and StartLifecyclePolicyPreview check it: accept what ECR
// accepts, reject what it rejects, with an error shaped like ECR's. Written from AWS's documentation:
//  [PROPS] "Lifecycle policy properties in Amazon ECR"
//          — https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
//  [HOW]   "Automate the cleanup of images by using lifecycle policies in Amazon ECR" (evaluation rules)
//          — https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
//  [EX]    "Examples of lifecycle policies in Amazon ECR" (archive examples, "Important" notes)
//          — https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
//  [API]   PutLifecyclePolicy: lifecyclePolicyText length 100..30720
//          — https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutLifecyclePolicy.html
//  [ARCH]  "Archiving an image": "You cannot configure lifecycle policies that delete images that have been in archive
//          for less than 90 days." — https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html
import type { EnginePolicy, EngineRule } from './lifecycle-engine.js';
import { EcrApiError } from './registry-model.js';

export const MIN_POLICY_TEXT_LENGTH = 100;
export const MAX_POLICY_TEXT_LENGTH = 30_720;
export const MAX_RULES = 50;
export const MAX_WILDCARDS_PER_PATTERN = 4;
export const MIN_DAYS_IN_ARCHIVE = 90;

const RULE_KEYS = new Set(['rulePriority', 'description', 'selection', 'action']);
const SELECTION_KEYS = new Set(['tagStatus', 'tagPatternList', 'tagPrefixList', 'storageClass', 'countType', 'countUnit', 'countNumber']);
const ACTION_KEYS = new Set(['type', 'targetStorageClass']);
const TAG_STATUSES = ['tagged', 'untagged', 'any'];
const COUNT_TYPES = ['imageCountMoreThan', 'sinceImagePushed', 'sinceImagePulled', 'sinceImageTransitioned'];
const STORAGE_CLASSES = ['standard', 'archive'];

/** The error ECR answers for a policy it refuses. */
export function invalidLifecyclePolicy(problems: readonly string[]): EcrApiError {
  return new EcrApiError(
    'InvalidParameterException',
    `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${problems.join('; ')}'`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isPositiveInteger = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 1;

/** Checks one rule; pushes a problem per broken constraint, naming the field. */
function checkRule(rule: unknown, at: string, problems: string[]): void {
  if (!isRecord(rule)) {
    problems.push(`${at}: a rule must be an object with rulePriority, selection and action`);
    return;
  }
  for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) problems.push(`${at}.${key}: unknown key (allowed: ${[...RULE_KEYS].join(', ')})`);
  if (!isPositiveInteger(rule.rulePriority)) problems.push(`${at}.rulePriority: must be a positive integer`);
  if (rule.description !== undefined && typeof rule.description !== 'string') problems.push(`${at}.description: must be a string`);

  const selection = rule.selection;
  const action = rule.action;
  if (!isRecord(selection)) problems.push(`${at}.selection: required object`);
  if (!isRecord(action)) problems.push(`${at}.action: required object`);
  if (!isRecord(selection) || !isRecord(action)) return;

  for (const key of Object.keys(selection)) if (!SELECTION_KEYS.has(key)) problems.push(`${at}.selection.${key}: unknown key (allowed: ${[...SELECTION_KEYS].join(', ')})`);
  for (const key of Object.keys(action)) if (!ACTION_KEYS.has(key)) problems.push(`${at}.action.${key}: unknown key (allowed: ${[...ACTION_KEYS].join(', ')})`);

  const { tagStatus, tagPatternList, tagPrefixList, storageClass, countType, countUnit, countNumber } = selection;
  if (!TAG_STATUSES.includes(tagStatus as string)) problems.push(`${at}.selection.tagStatus: must be one of ${TAG_STATUSES.join(', ')}`);
  for (const [name, list] of [['tagPatternList', tagPatternList], ['tagPrefixList', tagPrefixList]] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0 || list.some((entry) => typeof entry !== 'string' || entry === '')) {
      problems.push(`${at}.selection.${name}: must be a non-empty list of non-empty strings`);
    } else if (name === 'tagPatternList') {
      // [PROPS] "There is a maximum limit of four wildcards (*) per string."
      for (const pattern of list as string[]) {
        if (pattern.split('*').length - 1 > MAX_WILDCARDS_PER_PATTERN) problems.push(`${at}.selection.tagPatternList: '${pattern}' has more than ${MAX_WILDCARDS_PER_PATTERN} wildcards`);
      }
    }
  }
  const hasList = tagPatternList !== undefined || tagPrefixList !== undefined;
  // [HOW] "A lifecycle policy rule may specify either tagPatternList or tagPrefixList, but not both."
  if (tagPatternList !== undefined && tagPrefixList !== undefined) problems.push(`${at}.selection: give tagPatternList or tagPrefixList, not both`);
  // [PROPS] tagged needs a list; untagged must omit both; [HOW] lists "may only used if the tagStatus is tagged".
  if (tagStatus === 'tagged' && !hasList) problems.push(`${at}.selection: tagStatus tagged needs a tagPatternList or a tagPrefixList`);
  if ((tagStatus === 'untagged' || tagStatus === 'any') && hasList) problems.push(`${at}.selection: tagPatternList and tagPrefixList are only allowed with tagStatus tagged`);

  if (!COUNT_TYPES.includes(countType as string)) problems.push(`${at}.selection.countType: must be one of ${COUNT_TYPES.join(', ')}`);
  // [PROPS] "Acceptable values are positive integers (0 is not an accepted value)."
  if (!isPositiveInteger(countNumber)) problems.push(`${at}.selection.countNumber: must be a positive integer`);
  if (countType === 'imageCountMoreThan') {
    // [PROPS] "an error will occur if you specify a count unit when countType is any other value"
    if (countUnit !== undefined) problems.push(`${at}.selection.countUnit: only allowed with sinceImagePushed, sinceImagePulled or sinceImageTransitioned`);
  } else if (COUNT_TYPES.includes(countType as string) && countUnit !== 'days') {
    problems.push(`${at}.selection.countUnit: must be 'days' with ${String(countType)}`);
  }

  // [PROPS] storageClass: only standard with imageCountMoreThan, sinceImagePushed and sinceImagePulled; required and
  // only archive with sinceImageTransitioned.
  if (storageClass !== undefined && !STORAGE_CLASSES.includes(storageClass as string)) problems.push(`${at}.selection.storageClass: must be standard or archive`);
  if (countType === 'sinceImageTransitioned') {
    if (storageClass !== 'archive') problems.push(`${at}.selection.storageClass: sinceImageTransitioned needs storageClass archive`);
    // [ARCH] and [EX]: images stay in archive at least 90 days before a lifecycle rule may delete them.
    if (isPositiveInteger(countNumber) && countNumber < MIN_DAYS_IN_ARCHIVE) problems.push(`${at}.selection.countNumber: sinceImageTransitioned needs at least ${MIN_DAYS_IN_ARCHIVE} days`);
    // [EX] "The sinceImageTransitioned count type must be used with the expire action and the archive storage class."
    if (action.type !== 'expire') problems.push(`${at}.action.type: sinceImageTransitioned can only expire`);
  } else if (storageClass === 'archive') {
    problems.push(`${at}.selection.storageClass: archive is only allowed with countType sinceImageTransitioned, not ${String(countType)}`);
  }

  if (action.type !== 'expire' && action.type !== 'transition') problems.push(`${at}.action.type: must be expire or transition`);
  if (action.type === 'transition' && action.targetStorageClass !== 'archive') problems.push(`${at}.action.targetStorageClass: transition needs targetStorageClass archive`);
  if (action.type === 'expire' && action.targetStorageClass !== undefined && action.targetStorageClass !== 'archive') {
    problems.push(`${at}.action.targetStorageClass: must be archive`);
  }
  // [EX] "The sinceImagePulled count type must be used with the transition action. It cannot be used with the expire action."
  if (countType === 'sinceImagePulled' && action.type === 'expire') problems.push(`${at}.action.type: sinceImagePulled can only transition to archive`);
}

/** Rules that only make sense together: priorities, `any` last, one untagged rule and unique tag lists per storage class. */
function checkRuleSet(rules: Record<string, unknown>[], problems: string[]): void {
  const priorities = new Map<number, number>();
  rules.forEach((rule, i) => {
    if (!isPositiveInteger(rule.rulePriority)) return;
    const first = priorities.get(rule.rulePriority);
    if (first !== undefined) problems.push(`rules[${i}].rulePriority: ${rule.rulePriority} is already used by rules[${first}] (each rule needs a unique rulePriority)`);
    else priorities.set(rule.rulePriority, i);
  });
  const byClass = new Map<string, { i: number; rule: Record<string, unknown>; selection: Record<string, unknown> }[]>();
  rules.forEach((rule, i) => {
    if (!isRecord(rule.selection)) return;
    const storageClass = rule.selection.storageClass === 'archive' ? 'archive' : 'standard';
    byClass.set(storageClass, [...(byClass.get(storageClass) ?? []), { i, rule, selection: rule.selection }]);
  });
  for (const [storageClass, members] of byClass) {
    // [PROPS] "A rule with a tagStatus value of any must have the highest value for rulePriority and be evaluated last."
    // Read per storage class: the user guide's own combined example has an `any` rule in each ([EX]).
    const highest = Math.max(...members.map((m) => (isPositiveInteger(m.rule.rulePriority) ? m.rule.rulePriority : -Infinity)));
    for (const m of members) {
      if (m.selection.tagStatus === 'any' && isPositiveInteger(m.rule.rulePriority) && m.rule.rulePriority !== highest) {
        problems.push(`rules[${m.i}].selection.tagStatus: an 'any' rule must have the highest rulePriority of the ${storageClass} rules`);
      }
    }
    // [HOW] "Only one rule selecting a specific storage class is allowed to select untagged images."
    const untagged = members.filter((m) => m.selection.tagStatus === 'untagged');
    if (untagged.length > 1) problems.push(`rules[${untagged[1]!.i}].selection.tagStatus: only one untagged rule is allowed per storage class (rules[${untagged[0]!.i}] is one already)`);
    // [HOW] "The set of all rules selecting a specific storage class must contain a unique set of prefixes."
    const seen = new Map<string, number>();
    for (const m of members) {
      const kind = m.selection.tagPatternList !== undefined ? 'tagPatternList' : m.selection.tagPrefixList !== undefined ? 'tagPrefixList' : undefined;
      const list = kind ? m.selection[kind] : undefined;
      if (!kind || !Array.isArray(list)) continue;
      const key = `${kind}:${JSON.stringify([...new Set(list.map(String))].sort())}`;
      const first = seen.get(key);
      if (first !== undefined) problems.push(`rules[${m.i}].selection.${kind}: the same tag list as rules[${first}] in the ${storageClass} storage class`);
      else seen.set(key, m.i);
    }
  }
}

/**
 * Parses and validates lifecycle policy text as ECR does; returns the policy or throws InvalidParameterException naming
 * every problem. The length is measured on the text as submitted ([API]), before any parsing.
 */
export function validateLifecyclePolicyText(text: string): EnginePolicy {
  if (text.length < MIN_POLICY_TEXT_LENGTH || text.length > MAX_POLICY_TEXT_LENGTH) {
    throw invalidLifecyclePolicy([`the policy text is ${text.length} characters; it must be ${MIN_POLICY_TEXT_LENGTH} to ${MAX_POLICY_TEXT_LENGTH}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalidLifecyclePolicy([`Could not map policyString into LifecyclePolicy: ${(error as Error).message}`]);
  }
  if (!isRecord(json) || !Array.isArray(json.rules)) throw invalidLifecyclePolicy(['the policy must be an object with a rules list']);
  const problems: string[] = [];
  for (const key of Object.keys(json)) if (key !== 'rules') problems.push(`${key}: unknown key (allowed: rules)`);
  if (json.rules.length === 0) problems.push('rules: at least one rule is required');
  if (json.rules.length > MAX_RULES) problems.push(`rules: ${json.rules.length} rules; at most ${MAX_RULES} are allowed`);
  json.rules.forEach((rule, i) => checkRule(rule, `rules[${i}]`, problems));
  if (problems.length === 0) checkRuleSet(json.rules as Record<string, unknown>[], problems);
  if (problems.length > 0) throw invalidLifecyclePolicy(problems);
  return { rules: json.rules as EngineRule[] };
}
