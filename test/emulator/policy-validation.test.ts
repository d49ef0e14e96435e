// The emulator's lifecycle policy validation: what ECR accepts goes in, what it rejects fails with an error shaped like
// ECR's. Sources:
//  [PROPS] "Lifecycle policy properties in Amazon ECR" https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
//  [HOW]   "Lifecycle policy evaluation rules" https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
//  [EX]    "Examples of lifecycle policies in Amazon ECR" https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
//  [API]   PutLifecyclePolicy https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutLifecyclePolicy.html
import { describe, expect, it } from 'vitest';
import { MAX_POLICY_TEXT_LENGTH, validateLifecyclePolicyText } from '../../emulator/policy-validation.js';
import { EcrApiError } from '../../emulator/registry-model.js';

const expire = { type: 'expire' };
const archive = { type: 'transition', targetStorageClass: 'archive' };
const untaggedRule = (rulePriority: number, extra: Record<string, unknown> = {}) => ({
  rulePriority,
  description: 'untagged after a week',
  selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7, ...extra },
  action: expire,
});
const taggedRule = (rulePriority: number, selection: Record<string, unknown>, action: unknown = expire) => ({
  rulePriority,
  description: 'a tagged rule with a description long enough',
  selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 5, ...selection },
  action,
});

function text(rules: unknown[]): string {
  return JSON.stringify({ rules }, null, 2);
}

/** The message ECR's InvalidParameterException carries, or 'accepted'. */
function verdict(policyText: string): string {
  try {
    validateLifecyclePolicyText(policyText);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof EcrApiError)) throw error;
    expect(error.code).toBe('InvalidParameterException');
    expect(error.message).toMatch(/^Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: .+'$/);
    return error.message;
  }
}

describe('policy validation: accepts what ECR accepts', () => {
  it.each([
    ['[EX] Combining archive and expire rules (an any rule per storage class)', [
      { rulePriority: 1, description: 'Archive images older than 30 days', selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: archive },
      { rulePriority: 2, description: 'Expire images archived for more than 365 days', selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 }, action: expire },
    ]],
    ['[EX] Filtering on last pulled time', [
      { rulePriority: 1, description: 'Archive images not pulled in 90 days', selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: archive },
    ]],
    ['[EX] Filtering on all images, Example B (tagged, untagged, any last)', [
      taggedRule(1, { tagPatternList: ['alpha*'], countNumber: 1 }),
      untaggedRule(2),
      { rulePriority: 3, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
    ]],
    ['[PROPS] four wildcards per string: ["*test*1*2*3", "test*1*2*3*"] is valid', [taggedRule(1, { tagPatternList: ['*test*1*2*3', 'test*1*2*3*'] })]],
    ['[HOW] pattern and prefix lists in different rules; non-sequential priorities', [taggedRule(10, { tagPatternList: ['prod*'] }), taggedRule(20, { tagPrefixList: ['beta'] })]],
    ['[HOW] the same tag list in two storage classes', [
      taggedRule(1, { tagPatternList: ['v*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, archive),
      taggedRule(2, { tagPatternList: ['v*'], storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }),
    ]],
    ['[HOW] one untagged rule per storage class', [
      untaggedRule(1, { countType: 'sinceImagePushed' }),
      { rulePriority: 2, selection: { tagStatus: 'untagged', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: expire },
    ]],
  ])('%s', (_name, rules) => {
    // Prepare
    const policy = text(rules);

    // Act
    const result = verdict(policy);

    // Assess
    expect(result).toBe('accepted');
  });
});

describe('policy validation: rejects what ECR rejects, naming the field', () => {
  it.each([
    ['[EX] sinceImageTransitioned under 90 days', [taggedRule(1, { tagPatternList: ['v*'], storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 30 })], 'rules[0].selection.countNumber: sinceImageTransitioned needs at least 90 days'],
    ['[EX] sinceImageTransitioned with a transition action', [taggedRule(1, { tagPatternList: ['v*'], storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 120 }, archive)], 'rules[0].action.type: sinceImageTransitioned can only expire'],
    ['[PROPS] sinceImageTransitioned without storageClass archive', [taggedRule(1, { tagPatternList: ['v*'], countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 120 })], 'rules[0].selection.storageClass: sinceImageTransitioned needs storageClass archive'],
    ['[PROPS] storageClass archive with imageCountMoreThan', [taggedRule(1, { tagPatternList: ['v*'], storageClass: 'archive' })], 'rules[0].selection.storageClass: archive is only allowed with countType sinceImageTransitioned'],
    ['[EX] sinceImagePulled with expire', [untaggedRule(1, { countType: 'sinceImagePulled' })], 'rules[0].action.type: sinceImagePulled can only transition to archive'],
    ['[HOW] two rules with the same tag list in one storage class', [taggedRule(1, { tagPatternList: ['a*', 'b*'] }), taggedRule(2, { tagPatternList: ['b*', 'a*'], countNumber: 9 })], 'rules[1].selection.tagPatternList: the same tag list as rules[0] in the standard storage class'],
    ['[PROPS] targetStorageClass null on a transition', [taggedRule(1, { tagPatternList: ['v*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, { type: 'transition', targetStorageClass: null })], 'rules[0].action.targetStorageClass: transition needs targetStorageClass archive'],
    ['[PROPS] an unknown selection key', [taggedRule(1, { tagPatternList: ['v*'], tagSuffixList: ['x'] })], 'rules[0].selection.tagSuffixList: unknown key'],
    ['[PROPS] duplicate rulePriority', [taggedRule(1, { tagPatternList: ['v*'] }), untaggedRule(1)], 'rules[1].rulePriority: 1 is already used by rules[0]'],
    ['[PROPS] tagged without a list', [taggedRule(1, {})], 'rules[0].selection: tagStatus tagged needs a tagPatternList or a tagPrefixList'],
    ['[PROPS] untagged with a list', [untaggedRule(1, { tagPrefixList: ['v'] })], 'rules[0].selection: tagPatternList and tagPrefixList are only allowed with tagStatus tagged'],
    ['[HOW] both lists in one rule', [taggedRule(1, { tagPatternList: ['v*'], tagPrefixList: ['v'] })], 'rules[0].selection: give tagPatternList or tagPrefixList, not both'],
    ['[PROPS] more than four wildcards: ["test*1*2*3*4*5*6"]', [taggedRule(1, { tagPatternList: ['test*1*2*3*4*5*6'] })], "rules[0].selection.tagPatternList: 'test*1*2*3*4*5*6' has more than 4 wildcards"],
    ['[PROPS] any not last', [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 }, action: expire }, untaggedRule(2)], "rules[0].selection.tagStatus: an 'any' rule must have the highest rulePriority of the standard rules"],
    ['[HOW] two untagged rules in one storage class', [untaggedRule(1), untaggedRule(2, { countNumber: 30 })], 'rules[1].selection.tagStatus: only one untagged rule is allowed per storage class'],
    ['[PROPS] countNumber 0', [untaggedRule(1, { countNumber: 0 })], 'rules[0].selection.countNumber: must be a positive integer'],
    ['[PROPS] countUnit with imageCountMoreThan', [taggedRule(1, { tagPatternList: ['v*'], countUnit: 'days' })], 'rules[0].selection.countUnit: only allowed with sinceImagePushed'],
    ['[PROPS] sinceImagePushed without countUnit', [untaggedRule(1, { countUnit: undefined })], "rules[0].selection.countUnit: must be 'days' with sinceImagePushed"],
  ])('%s', (_name, rules, problem) => {
    // Prepare
    const policy = text(rules);

    // Act
    const result = verdict(policy);

    // Assess
    expect(result).toContain(problem);
  });

  it('[PROPS] more than 50 rules', () => {
    // Prepare
    const rules = Array.from({ length: 51 }, (_, i) => taggedRule(i + 1, { tagPatternList: [`t${i}-*`] }));

    // Act
    const result = verdict(JSON.stringify({ rules }));

    // Assess
    expect(result).toContain('rules: 51 rules; at most 50 are allowed');
  });

  it('[API] measures the length on the text as submitted: padding whitespace counts, both ways', () => {
    // Prepare: the same text padded to 99 and to 100 characters, and a valid policy padded past 30720
    const empty = '{"rules": []}';
    const huge = text([untaggedRule(1)]).padEnd(MAX_POLICY_TEXT_LENGTH + 1, ' ');

    // Act
    const tooShort = verdict(empty.padEnd(99, ' '));
    const longEnough = verdict(empty.padEnd(100, ' '));
    const tooLong = verdict(huge);

    // Assess: at 100 characters the length passes and the next check (no rules) speaks
    expect(tooShort).toContain('the policy text is 99 characters; it must be 100 to 30720');
    expect(longEnough).toContain('rules: at least one rule is required');
    expect(tooLong).toContain('the policy text is 30721 characters');
  });

  it('names every problem at once, and refuses text that is not JSON', () => {
    // Prepare
    const twoProblems = text([{ rulePriority: 0, selection: { tagStatus: 'sometimes', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }]);
    const notJson = `${text([untaggedRule(1)])}}`;

    // Act
    const both = verdict(twoProblems);
    const broken = verdict(notJson);

    // Assess
    expect(both).toContain('rules[0].rulePriority: must be a positive integer');
    expect(both).toContain('rules[0].selection.tagStatus: must be one of tagged, untagged, any');
    expect(broken).toContain('Could not map policyString into LifecyclePolicy');
  });
});
