import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../../lambda/domain/config.js';
import {
  canonicalPolicyText,
  isJanitorRule,
  JANITOR_RULE_PREFIX,
  lintPolicy,
  mergePolicy,
  parsePolicyText,
  PolicyError,
  policyToText,
  PROTECT_RULE_DAYS,
  renderPolicy,
  samePolicy,
  validationFailureMessage,
  withArchiveProtection,
} from '../../lambda/domain/policy.js';
import type { LifecyclePolicy, LifecycleRule } from '../../lambda/domain/types.js';

// ---- rule builders (ECR JSON shapes) ----

function tagged(rulePriority: number, tagPatternList: string[], countNumber = 5, description?: string): LifecycleRule {
  return {
    rulePriority,
    ...(description ? { description } : {}),
    selection: { tagStatus: 'tagged', tagPatternList, countType: 'imageCountMoreThan', countNumber },
    action: { type: 'expire' },
  };
}

function untagged(rulePriority: number, days = 14, description?: string): LifecycleRule {
  return {
    rulePriority,
    ...(description ? { description } : {}),
    selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: days },
    action: { type: 'expire' },
  };
}

function anyRule(rulePriority: number, countNumber = 100): LifecycleRule {
  return { rulePriority, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber }, action: { type: 'expire' } };
}

/** A rule with `selection` fields replaced (undefined removes a field). */
function withSelection(rule: LifecycleRule, patch: Record<string, unknown>): LifecycleRule {
  const selection: Record<string, unknown> = { ...rule.selection, ...patch };
  for (const key of Object.keys(selection)) if (selection[key] === undefined) delete selection[key];
  return { ...rule, selection: selection as unknown as LifecycleRule['selection'] };
}

function archiveExpire(rulePriority: number, days: number): LifecycleRule {
  return { rulePriority, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: days }, action: { type: 'expire' } };
}

/** The user guide's combined example ("Examples of lifecycle policies in Amazon ECR"), as its text reads. */
const USER_GUIDE_ARCHIVE_EXAMPLE = `{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Archive images not pulled in 90 days",
      "selection": { "tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 90 },
      "action": { "type": "transition", "targetStorageClass": "archive" }
    },
    {
      "rulePriority": 2,
      "description": "Delete images archived for more than 365 days",
      "selection": { "tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 365 },
      "action": { "type": "expire" }
    }
  ]
}`;

describe('renderPolicy', () => {
  it('renders the default config as: protect buildcache, protect keep-*, keep 25 newest ci-*, untagged 3 days', () => {
    // Prepare / Act
    const policy = renderPolicy(DEFAULT_CONFIG);

    // Assess
    expect(policy.rules).toEqual([
      {
        rulePriority: 1,
        description: 'ecr-janitor: protect buildcache',
        selection: { tagStatus: 'tagged', tagPatternList: ['buildcache'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: PROTECT_RULE_DAYS },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: 'ecr-janitor: protect keep-*',
        selection: { tagStatus: 'tagged', tagPatternList: ['keep-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: PROTECT_RULE_DAYS },
        action: { type: 'expire' },
      },
      {
        rulePriority: 3,
        description: 'ecr-janitor: keep the 25 newest ci-*',
        selection: { tagStatus: 'tagged', tagPatternList: ['ci-*'], countType: 'imageCountMoreThan', countNumber: 25 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 4,
        description: 'ecr-janitor: expire untagged after 3 days',
        selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 },
        action: { type: 'expire' },
      },
    ]);
    expect(policy.rules.every(isJanitorRule)).toBe(true);
    expect(lintPolicy(policy)).toEqual({ errors: [], warnings: [] });
  });

  it('renders one rule per CI pattern, never an AND list, and no "any" rule', () => {
    // Prepare
    const config = parseConfig(
      {
        protectedTags: ['release-*', 'latest'],
        ciTags: [
          { pattern: 'ci-*', keep: 10 },
          { pattern: 'pr-*', keep: 3 },
          { pattern: 'feature-*-*', keep: 1 },
        ],
      },
      'test.json',
    );

    // Act
    const policy = renderPolicy(config);

    // Assess
    expect(policy.rules.map((r) => [r.rulePriority, r.selection.tagStatus, r.selection.tagPatternList, r.selection.countType, r.selection.countNumber])).toEqual([
      [1, 'tagged', ['buildcache'], 'sinceImagePushed', PROTECT_RULE_DAYS],
      [2, 'tagged', ['release-*'], 'sinceImagePushed', PROTECT_RULE_DAYS],
      [3, 'tagged', ['latest'], 'sinceImagePushed', PROTECT_RULE_DAYS],
      [4, 'tagged', ['keep-*'], 'sinceImagePushed', PROTECT_RULE_DAYS],
      [5, 'tagged', ['ci-*'], 'imageCountMoreThan', 10],
      [6, 'tagged', ['pr-*'], 'imageCountMoreThan', 3],
      [7, 'tagged', ['feature-*-*'], 'imageCountMoreThan', 1],
      [8, 'untagged', undefined, 'sinceImagePushed', 3],
    ]);
    expect(policy.rules.some((r) => r.selection.tagStatus === 'any')).toBe(false);
    expect(lintPolicy(policy).warnings).toEqual([]);
  });

  it('renders only protection and the untagged rule when there are no CI patterns', () => {
    // Prepare
    const config = parseConfig({ ciTags: [], untaggedExpireDays: 30 }, 'test.json');

    // Act
    const policy = renderPolicy(config);

    // Assess
    expect(policy.rules.map((r) => r.description)).toEqual([
      'ecr-janitor: protect buildcache',
      'ecr-janitor: protect keep-*',
      'ecr-janitor: expire untagged after 30 days',
    ]);
    expect(lintPolicy(policy).errors).toEqual([]);
  });

  it('renders a valid ECR policy for every valid config (property)', () => {
    // Prepare
    const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789._-'), minLength: 0, maxLength: 24 });
    const pattern = fc
      .array(word, { minLength: 1, maxLength: 5 }) // joined with `*`: at most 4 wildcards
      .map((parts) => parts.join('*'))
      .filter((p) => p.length >= 1 && p.length <= 128);
    const rawConfig = fc
      .record({
        patterns: fc.uniqueArray(pattern, { minLength: 0, maxLength: 47 }).filter((ps) => !ps.includes('keep-*') && !ps.includes('buildcache')),
        protectedShare: fc.double({ min: 0, max: 1, noNaN: true }),
        keeps: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 47, maxLength: 47 }),
        untaggedExpireDays: fc.integer({ min: 1, max: 3650 }),
      })
      .map(({ patterns, protectedShare, keeps, untaggedExpireDays }) => {
        const cut = Math.round(patterns.length * protectedShare);
        return {
          protectedTags: patterns.slice(0, cut),
          // One keep for all: overlapping CI patterns with different keeps are a config error (one promise would not hold).
          ciTags: patterns.slice(cut).map((p) => ({ pattern: p, keep: keeps[0]! })),
          untaggedExpireDays,
        };
      });

    // Act / Assess
    fc.assert(
      fc.property(rawConfig, (raw) => {
        const config = parseConfig(raw, 'property');
        const policy = renderPolicy(config);
        const { errors, warnings } = lintPolicy(policy);
        expect(errors).toEqual([]);
        expect(warnings).toEqual([]);
        expect(policy.rules).toHaveLength(config.protectedTags.length + 1 + config.ciTags.length + 1);
        expect(policy.rules.every((r) => r.selection.tagStatus !== 'any' && (r.selection.tagPatternList?.length ?? 1) === 1)).toBe(true);
        expect(policy.rules.at(-1)!.selection).toMatchObject({ tagStatus: 'untagged', countNumber: raw.untaggedExpireDays });
        expect(parsePolicyText(policyToText(policy))).toEqual(policy);
      }),
      { numRuns: 300 },
    );
  });
});

describe('lintPolicy', () => {
  const valid: LifecyclePolicy = { rules: [tagged(1, ['ci-*'], 25), untagged(2, 3)] };
  const manyTagged = (n: number) => Array.from({ length: n }, (_, i) => tagged(i + 1, [`p${i}-*`]));

  it('finds nothing wrong with a valid policy', () => {
    // Prepare / Act / Assess
    expect(lintPolicy(valid)).toEqual({ errors: [], warnings: [] });
  });

  it.each([
    { constraint: '51 rules', policy: { rules: [...manyTagged(50), untagged(51)] }, field: 'rules', message: /51 rules; ECR allows at most 50/ },
    {
      constraint: 'text longer than 30,720 characters',
      policy: { rules: [{ ...tagged(1, ['ci-*']), description: 'x'.repeat(30_720) }, untagged(2)] },
      field: '(text)',
      message: /characters; ECR allows at most 30720/,
    },
    { constraint: 'a pattern with 5 wildcards', policy: { rules: [tagged(1, ['ci-*', '*a*b*c*d*']), untagged(2)] }, field: 'rules[0].selection.tagPatternList[1]', message: /more than 4 wildcards/ },
    { constraint: 'duplicate priorities', policy: { rules: [tagged(1, ['ci-*']), untagged(1)] }, field: 'rules[1].rulePriority', message: /also the priority of rules\[0\]; priorities must be unique/ },
    { constraint: '"any" rule not last', policy: { rules: [anyRule(1), tagged(2, ['ci-*'])] }, field: 'rules[0].rulePriority', message: /"any" rule must have the highest priority number/ },
    { constraint: 'a tag list on an untagged rule', policy: { rules: [withSelection(untagged(1), { tagPatternList: ['ci-*'] })] }, field: 'rules[0].selection', message: /untagged rule must not have a tag list/ },
    { constraint: 'a tag list on an any rule', policy: { rules: [withSelection(anyRule(1), { tagPrefixList: ['ci'] })] }, field: 'rules[0].selection', message: /any rule must not have a tag list/ },
    { constraint: 'a tagged rule without a list', policy: { rules: [withSelection(tagged(1, []), { tagPatternList: undefined })] }, field: 'rules[0].selection', message: /tagged rule needs a tagPatternList or tagPrefixList/ },
    { constraint: 'a tagged rule with an empty list', policy: { rules: [tagged(1, [])] }, field: 'rules[0].selection', message: /tagged rule needs/ },
    { constraint: 'both tag lists', policy: { rules: [withSelection(tagged(1, ['ci-*']), { tagPrefixList: ['ci'] })] }, field: 'rules[0].selection', message: /tagPatternList and tagPrefixList cannot be used together/ },
    { constraint: 'countUnit on imageCountMoreThan', policy: { rules: [withSelection(tagged(1, ['ci-*']), { countUnit: 'days' })] }, field: 'rules[0].selection.countUnit', message: /imageCountMoreThan takes no countUnit/ },
    { constraint: 'sinceImagePushed without countUnit', policy: { rules: [withSelection(untagged(1), { countUnit: undefined })] }, field: 'rules[0].selection.countUnit', message: /sinceImagePushed needs countUnit "days"/ },
    {
      constraint: 'sinceImagePulled with expire',
      policy: { rules: [withSelection(untagged(1), { countType: 'sinceImagePulled' })] },
      field: 'rules[0].selection.countType',
      message: /sinceImagePulled can only transition to archive/,
    },
    {
      constraint: 'sinceImageTransitioned on standard storage',
      policy: { rules: [{ ...withSelection(untagged(1), { countType: 'sinceImageTransitioned' }) }] },
      field: 'rules[0].selection.countType',
      message: /storageClass "archive" only/,
    },
    { constraint: 'two untagged rules', policy: { rules: [untagged(1, 3), untagged(2, 7)] }, field: 'rules[1].selection.tagStatus', message: /second untagged rule for storage class standard/ },
    { constraint: 'text shorter than 100 characters', policy: { rules: [] }, field: '(text)', message: /12 characters; ECR needs at least 100/ },
    { constraint: 'no rules', policy: { rules: [] }, field: 'rules', message: /at least one rule/ },
    { constraint: 'priority 0', policy: { rules: [tagged(0, ['ci-*'])] }, field: 'rules[0].rulePriority', message: /whole number >= 1/ },
    { constraint: 'countNumber 0', policy: { rules: [tagged(1, ['ci-*'], 0)] }, field: 'rules[0].selection.countNumber', message: /whole number >= 1/ },
    {
      constraint: 'transition without a target',
      policy: { rules: [{ ...withSelection(untagged(1), { countType: 'sinceImagePulled' }), action: { type: 'transition' } } satisfies LifecycleRule] },
      field: 'rules[0].action.targetStorageClass',
      message: /targetStorageClass "archive"/,
    },
    { constraint: 'an unknown tagStatus', policy: { rules: [withSelection(tagged(1, ['ci-*']), { tagStatus: 'some' })] }, field: 'rules[0].selection.tagStatus', message: /tagged, untagged or any, got "some"/ },
    { constraint: 'an unknown countType', policy: { rules: [withSelection(tagged(1, ['ci-*']), { countType: 'imageCountLessThan' })] }, field: 'rules[0].selection.countType', message: /must be one of imageCountMoreThan/ },
    // Archive constraints: "Lifecycle policy properties in Amazon ECR" (storageClass, countType) and "Archiving an image"
    // (90-day minimum) — https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
    { constraint: 'sinceImageTransitioned under 90 days', policy: { rules: [archiveExpire(1, 89)] }, field: 'rules[0].selection.countNumber', message: /at least 90 days/ },
    {
      constraint: 'sinceImageTransitioned with a transition action',
      policy: { rules: [{ ...archiveExpire(1, 90), action: { type: 'transition', targetStorageClass: 'archive' } } satisfies LifecycleRule] },
      field: 'rules[0].action.type',
      message: /sinceImageTransitioned can only expire/,
    },
    { constraint: 'storageClass archive with imageCountMoreThan', policy: { rules: [withSelection(anyRule(1, 5), { storageClass: 'archive' })] }, field: 'rules[0].selection.countType', message: /imageCountMoreThan cannot select storageClass "archive"/ },
    {
      constraint: 'a transition out of the archive class',
      policy: { rules: [{ ...withSelection(anyRule(1), { storageClass: 'archive', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 }), action: { type: 'transition', targetStorageClass: 'archive' } } satisfies LifecycleRule] },
      field: 'rules[0].selection.storageClass',
      message: /out of storage class standard only/,
    },
    { constraint: 'two rules with the same tag list in one storage class', policy: { rules: [tagged(1, ['a*', 'b*']), tagged(2, ['b*', 'a*'], 9)] }, field: 'rules[1].selection', message: /rules\[0\] has the same tag list in storage class standard/ },
    {
      constraint: 'a null targetStorageClass',
      policy: parsePolicyText(JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 9 }, action: { type: 'transition', targetStorageClass: null } }] })),
      field: 'rules[0].action.targetStorageClass',
      message: /must be "archive", got null/,
    },
    { constraint: 'an unknown storageClass', policy: { rules: [withSelection(untagged(1), { storageClass: 'glacier' })] }, field: 'rules[0].selection.storageClass', message: /standard or archive, got "glacier"/ },
  ])('rejects $constraint, naming $field', ({ policy, field, message }) => {
    // Prepare / Act
    const { errors } = lintPolicy(policy as LifecyclePolicy);

    // Assess
    expect(errors).toContainEqual({ field, message: expect.stringMatching(message) });
  });

  it.each([
    { name: '50 rules', policy: { rules: [...manyTagged(49), untagged(50)] } },
    { name: 'a pattern with 4 wildcards', policy: { rules: [tagged(1, ['*a*b*c*d'])] } },
    { name: '"any" rule last', policy: { rules: [tagged(1, ['ci-*']), untagged(2), anyRule(3)] } },
    {
      name: 'one untagged rule per storage class',
      policy: {
        rules: [
          untagged(1, 3),
          { rulePriority: 2, selection: { tagStatus: 'untagged', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: { type: 'expire' } },
        ],
      },
    },
    {
      name: 'sinceImagePulled transition to archive',
      policy: { rules: [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: { type: 'transition', targetStorageClass: 'archive' } }] },
    },
    { name: 'priorities with gaps', policy: { rules: [tagged(10, ['ci-*']), untagged(20)] } },
    // "Examples of lifecycle policies in Amazon ECR", archive and expire: one `any` rule per storage class.
    // https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
    { name: "the user guide's archive + expire example", policy: parsePolicyText(USER_GUIDE_ARCHIVE_EXAMPLE) },
    { name: 'the same tag list in two storage classes', policy: { rules: [tagged(1, ['keep-*']), { ...archiveExpire(2, 36_500), selection: { ...archiveExpire(2, 36_500).selection, tagStatus: 'tagged', tagPatternList: ['keep-*'] } }] } },
  ] satisfies { name: string; policy: LifecyclePolicy }[])('accepts $name', ({ policy }) => {
    // Prepare / Act / Assess
    expect(lintPolicy(policy).errors).toEqual([]);
  });

  it.each([
    { list: 'tagPatternList', rule: tagged(1, ['prod*', 'v*']) },
    { list: 'tagPrefixList', rule: withSelection(tagged(1, []), { tagPatternList: undefined, tagPrefixList: ['prod', 'v'] }) },
  ])('warns that several entries in a $list are AND', ({ list, rule }) => {
    // Prepare
    const policy = { rules: [rule, untagged(2)] };

    // Act
    const { errors, warnings } = lintPolicy(policy);

    // Assess
    expect(errors).toEqual([]);
    expect(warnings).toEqual([{ field: `rules[0].selection.${list}`, message: expect.stringMatching(/is AND: .*write one rule per entry/) }]);
  });
});

describe('validationFailureMessage', () => {
  it("words refusals as ECR does, naming each field", () => {
    // Prepare
    const { errors } = lintPolicy({ rules: [archiveExpire(1, 30)] });

    // Act
    const message = validationFailureMessage(errors);

    // Assess
    expect(message).toBe('Lifecycle policy validation failure: rules[0].selection.countNumber: sinceImageTransitioned must be at least 90 days (archive\'s minimum storage duration), got 30');
  });

  it('measures the length on the text as submitted, not on our rendering of it', () => {
    // Prepare: the same rules, padded with whitespace past ECR's 30,720 characters.
    const policy = { rules: [tagged(1, ['ci-*'], 25), untagged(2, 3)] };
    const padded = JSON.stringify(policy).replace('{', `{${' '.repeat(30_720)}`);

    // Act
    const { errors } = lintPolicy(policy, padded);

    // Assess
    expect(errors).toEqual([{ field: '(text)', message: `${padded.length} characters; ECR allows at most 30720` }]);
    expect(lintPolicy(policy).errors).toEqual([]);
  });
});

describe('parsePolicyText', () => {
  const ruleText = (patch: Record<string, unknown>) =>
    JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: { type: 'expire' }, ...patch }] });

  it.each([
    { name: 'not JSON', text: '{"rules": [', field: '(text)' },
    { name: 'no rules list', text: '{"rule": []}', field: 'rules' },
    { name: 'a list at the root', text: '[]', field: 'rules' },
    { name: 'a rule that is not an object', text: '{"rules": [1]}', field: 'rules[0]' },
    { name: 'a priority as text', text: ruleText({ rulePriority: '1' }), field: 'rules[0].rulePriority' },
    { name: 'a numeric description', text: ruleText({ description: 7 }), field: 'rules[0].description' },
    { name: 'no selection', text: ruleText({ selection: undefined }), field: 'rules[0].selection' },
    { name: 'no action', text: ruleText({ action: 'expire' }), field: 'rules[0].action' },
    { name: 'a tagPatternList of numbers', text: ruleText({ selection: { tagStatus: 'tagged', tagPatternList: [1], countType: 'imageCountMoreThan', countNumber: 1 } }), field: 'rules[0].selection.tagPatternList' },
    { name: 'a tagPrefixList string', text: ruleText({ selection: { tagStatus: 'tagged', tagPrefixList: 'v', countType: 'imageCountMoreThan', countNumber: 1 } }), field: 'rules[0].selection.tagPrefixList' },
    { name: 'a countNumber as text', text: ruleText({ selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: '3' } }), field: 'rules[0].selection.countNumber' },
    // ECR refuses keys it does not know ("Lifecycle policy properties in Amazon ECR" lists every one).
    { name: 'an unknown selection key', text: ruleText({ selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3, tagRegex: 'x' } }), field: 'rules[0].selection.tagRegex' },
    { name: 'an unknown action key', text: ruleText({ action: { type: 'expire', after: 3 } }), field: 'rules[0].action.after' },
    { name: 'an unknown rule key', text: ruleText({ enabled: true }), field: 'rules[0].enabled' },
    { name: 'an unknown top-level key', text: JSON.stringify({ rules: [], version: 2 }), field: '(policy).version' },
  ])('rejects $name, naming $field', ({ text, field }) => {
    // Prepare / Act
    let error: unknown;
    try {
      parsePolicyText(text);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).field).toBe(field);
    expect((error as PolicyError).message.startsWith(`${field}: `)).toBe(true);
  });

  it('reads what policyToText writes back to the same policy', () => {
    // Prepare
    const policy = renderPolicy(parseConfig({ protectedTags: ['latest'], ciTags: [{ pattern: 'ci-*', keep: 5 }] }, 'test.json'));
    policy.rules.push({ rulePriority: 9, selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: { type: 'transition', targetStorageClass: 'archive' } });

    // Act
    const read = parsePolicyText(policyToText(policy));

    // Assess
    expect(read).toEqual(policy);
  });
});

describe('samePolicy', () => {
  const base = { rules: [tagged(1, ['ci-*'], 25, 'ecr-janitor: keep the 25 newest ci-*'), untagged(2, 3, 'ecr-janitor: expire untagged after 3 days')] };
  const text = policyToText(base);
  const reversedKeys = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(reversedKeys) : typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)])) : value;

  it.each([
    { name: 'the same text', other: text, same: true },
    { name: 'pretty-printed text', other: JSON.stringify(base, null, 2), same: true },
    { name: 'keys in another order', other: JSON.stringify(reversedKeys(base)), same: true },
    { name: 'rules in another order', other: JSON.stringify({ rules: [...base.rules].reverse() }), same: true },
    { name: 'a different countNumber', other: policyToText({ rules: [tagged(1, ['ci-*'], 26, 'ecr-janitor: keep the 25 newest ci-*'), base.rules[1]!] }), same: false },
    { name: 'a different pattern', other: policyToText({ rules: [tagged(1, ['pr-*'], 25, 'ecr-janitor: keep the 25 newest ci-*'), base.rules[1]!] }), same: false },
    { name: 'swapped priorities', other: policyToText({ rules: [{ ...base.rules[0]!, rulePriority: 2 }, { ...base.rules[1]!, rulePriority: 1 }] }), same: false },
    { name: 'an extra rule', other: policyToText({ rules: [...base.rules, anyRule(3)] }), same: false },
    { name: 'text that is not JSON', other: 'not json', same: false },
    // What an ECR that normalises stored text may hand back: defaults explicit, whitespace gone, AND lists reordered.
    {
      name: 'storageClass "standard" made explicit',
      other: JSON.stringify({ rules: base.rules.map((r) => ({ ...r, selection: { ...r.selection, storageClass: 'standard' } })) }),
      same: true,
    },
    { name: 'a storageClass "archive" where ours has none', other: JSON.stringify({ rules: [base.rules[0], { ...base.rules[1], selection: { ...base.rules[1]!.selection, storageClass: 'archive' } }] }), same: false },
    { name: 'an unknown key', other: JSON.stringify({ rules: [base.rules[0], { ...base.rules[1], selection: { ...base.rules[1]!.selection, tagStatusV2: 'x' } }] }), same: false },
    { name: 'JSON that is not a policy', other: '{"rules": [1]}', same: false },
  ])('compared with $name: $same', ({ other, same }) => {
    // Prepare / Act / Assess
    expect(samePolicy(text, other)).toBe(same);
    expect(samePolicy(other, text)).toBe(same);
  });
});

describe('canonicalPolicyText', () => {
  it('gives the same text for AND lists in any order, and none for a text that is not a policy', () => {
    // Prepare
    const one = policyToText({ rules: [tagged(1, ['a*', 'b*'])] });
    const other = policyToText({ rules: [tagged(1, ['b*', 'a*'])] });

    // Act / Assess
    expect(canonicalPolicyText(one)).toBe(canonicalPolicyText(other));
    expect(() => canonicalPolicyText('{"rules": {}}')).toThrow(PolicyError);
  });
});

describe('withArchiveProtection', () => {
  const ours = renderPolicy(DEFAULT_CONFIG);
  const archiveExpiry: LifecycleRule = {
    rulePriority: 9,
    selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 },
    action: { type: 'expire' },
  };

  it('leaves a policy with no archive rule as it is', () => {
    // Prepare / Act
    const policy = withArchiveProtection(ours, DEFAULT_CONFIG.protectedTags);

    // Assess
    expect(policy).toBe(ours);
  });

  // "Lifecycle policy properties in Amazon ECR" (storageClass): a rule selects one storage class, so the standard
  // protect rules do not reach an archived image; archive gets its own, with the only count type it takes.
  it('shields the protected patterns in the archive class too, right after the standard protect rules, and stays valid', () => {
    // Prepare
    const merged = { rules: [...ours.rules, archiveExpiry] };

    // Act
    const policy = withArchiveProtection(merged, DEFAULT_CONFIG.protectedTags);

    // Assess
    expect(policy.rules.map((r) => [r.rulePriority, r.description ?? '', r.selection.storageClass ?? 'standard'])).toEqual([
      [1, 'ecr-janitor: protect buildcache', 'standard'],
      [2, 'ecr-janitor: protect keep-*', 'standard'],
      [3, 'ecr-janitor: protect buildcache in archive', 'archive'],
      [4, 'ecr-janitor: protect keep-* in archive', 'archive'],
      [5, 'ecr-janitor: keep the 25 newest ci-*', 'standard'],
      [6, 'ecr-janitor: expire untagged after 3 days', 'standard'],
      [7, '', 'archive'],
    ]);
    expect(policy.rules[3]!.selection).toEqual({ tagStatus: 'tagged', tagPatternList: ['keep-*'], storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: PROTECT_RULE_DAYS });
    expect(lintPolicy(policy).errors).toEqual([]);
    expect(withArchiveProtection(policy, DEFAULT_CONFIG.protectedTags)).toEqual(policy);
  });
});

describe('mergePolicy', () => {
  const ours = renderPolicy(DEFAULT_CONFIG); // protect buildcache, protect keep-*, keep 25 ci-*, untagged 3 days

  it('keeps foreign tagged rules after our protection and above our CI rules, renumbering priorities, and drops our previous rules', () => {
    // Prepare
    const installed: LifecyclePolicy = {
      rules: [
        tagged(30, ['dev-*'], 3, 'team: dev builds'),
        tagged(10, ['prod-*'], 50, 'team: prod releases'),
        tagged(1, ['ci-*'], 99, `${JANITOR_RULE_PREFIX} keep the 99 newest ci-*`), // an older janitor render
      ],
    };

    // Act
    const { policy, warnings } = mergePolicy(ours, installed);

    // Assess
    expect(policy.rules.map((r) => [r.rulePriority, r.description])).toEqual([
      [1, 'ecr-janitor: protect buildcache'],
      [2, 'ecr-janitor: protect keep-*'],
      [3, 'team: prod releases'],
      [4, 'team: dev builds'],
      [5, 'ecr-janitor: keep the 25 newest ci-*'],
      [6, 'ecr-janitor: expire untagged after 3 days'],
    ]);
    expect(policy.rules[2]!.selection).toEqual(installed.rules[1]!.selection);
    expect(warnings).toEqual([]);
    expect(lintPolicy(policy).errors).toEqual([]);
  });

  it('keeps a foreign "any" rule last', () => {
    // Prepare
    const installed: LifecyclePolicy = { rules: [tagged(1, ['prod-*'], 50, 'team: prod'), anyRule(2, 500)] };

    // Act
    const { policy } = mergePolicy(ours, installed);

    // Assess
    expect(policy.rules.at(-1)).toEqual({ ...anyRule(0, 500), rulePriority: policy.rules.length });
    expect(policy.rules.map((r) => r.selection.tagStatus)).toEqual(['tagged', 'tagged', 'tagged', 'tagged', 'untagged', 'any']);
    expect(lintPolicy(policy).errors).toEqual([]);
  });

  it("keeps a foreign untagged rule instead of ours (the team's choice; ECR allows one), with a warning", () => {
    // Prepare
    const installed: LifecyclePolicy = { rules: [tagged(1, ['prod-*'], 50, 'team: prod'), untagged(3, 14, 'team: untagged')] };

    // Act
    const { policy, warnings } = mergePolicy(ours, installed);

    // Assess
    const untaggedRules = policy.rules.filter((r) => r.selection.tagStatus === 'untagged');
    expect(untaggedRules).toEqual([{ ...installed.rules[1]!, rulePriority: 5 }]);
    expect(warnings).toEqual([
      'our untagged rule (sinceImagePushed 3 days) gives way to foreign rule 3 (untagged, sinceImagePushed 14 days): ECR allows one untagged rule per storage class',
    ]);
    expect(lintPolicy(policy).errors).toEqual([]);
  });

  it('keeps a foreign untagged rule for the archive storage class', () => {
    // Prepare
    const archive: LifecycleRule = {
      rulePriority: 7,
      selection: { tagStatus: 'untagged', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 120 },
      action: { type: 'expire' },
    };

    // Act
    const { policy, warnings } = mergePolicy(ours, { rules: [archive, anyRule(9)] });

    // Assess
    expect(warnings).toEqual([]);
    expect(policy.rules.slice(-3).map((r) => [r.rulePriority, r.selection.tagStatus, r.selection.storageClass])).toEqual([
      [4, 'untagged', undefined],
      [5, 'untagged', 'archive'],
      [6, 'any', undefined],
    ]);
    expect(lintPolicy(policy).errors).toEqual([]);
  });

  it('merges with an empty or janitor-only installed policy to exactly ours', () => {
    // Prepare / Act
    const fromEmpty = mergePolicy(ours, { rules: [] });
    const fromOurs = mergePolicy(ours, ours);

    // Assess
    expect(fromEmpty).toEqual({ policy: ours, warnings: [] });
    expect(fromOurs).toEqual({ policy: ours, warnings: [] });
  });

  it('keeps protection first and passes lint for any foreign policy of tagged, untagged and any rules (property)', () => {
    // Prepare
    const foreignRule = fc.oneof(
      fc.record({ pattern: fc.constantFrom('prod-*', 'dev-*', 'v*', 'release-*-rc*'), count: fc.integer({ min: 1, max: 100 }) }).map(({ pattern, count }) => tagged(0, [pattern], count)),
      fc.integer({ min: 1, max: 365 }).map((days) => untagged(0, days)),
    );
    const installed = fc
      .record({ rules: fc.array(foreignRule, { maxLength: 10 }), any: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }) })
      .map(({ rules, any }) => {
        const untaggedRules = rules.filter((r) => r.selection.tagStatus === 'untagged').slice(0, 1); // a foreign policy is valid ECR
        // ECR wants a tag list once per storage class ("The set of all rules ... must contain a unique set of prefixes").
        const taggedRules = rules.filter((r, i) => r.selection.tagStatus === 'tagged' && rules.findIndex((o) => o.selection.tagPatternList?.[0] === r.selection.tagPatternList?.[0]) === i);
        const all = [...taggedRules, ...untaggedRules, ...(any ? [anyRule(0, any)] : [])];
        return { rules: all.map((r, i) => ({ ...r, rulePriority: (i + 1) * 10 })) };
      });

    // Act / Assess
    fc.assert(
      fc.property(installed, (foreign) => {
        const { policy, warnings } = mergePolicy(ours, foreign);
        expect(lintPolicy(policy).errors).toEqual([]);
        expect(policy.rules.slice(0, 2)).toEqual(ours.rules.slice(0, 2));
        expect(policy.rules.map((r) => r.rulePriority)).toEqual(policy.rules.map((_, i) => i + 1));
        const foreignUntagged = foreign.rules.filter((r) => r.selection.tagStatus === 'untagged').length;
        expect(warnings).toHaveLength(foreignUntagged);
        expect(policy.rules).toHaveLength(ours.rules.length + foreign.rules.length - foreignUntagged);
      }),
      { numRuns: 200 },
    );
  });
});
