import { describe, expect, it } from 'vitest';
import { ConfigError, configToText, DEFAULT_CONFIG, isRepositoryManaged, parseConfig, parseConfigText } from '../../lambda/domain/config.js';
import type { ConfigProblem } from '../../lambda/domain/config.js';
import type { JanitorConfig } from '../../lambda/domain/types.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** The problems parseConfig reports for `value`, or fails the test when it accepts it. */
function problemsOf(value: unknown): ConfigProblem[] {
  try {
    parseConfig(value, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`config was accepted: ${JSON.stringify(value)}`);
}

describe('parseConfig defaults', () => {
  it('fills every field with its default when given {}', () => {
    // Prepare / Act
    const config = parseConfig({}, 'test.json');

    // Assess
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config).toEqual({
      repositories: { include: ['*'], exclude: [] },
      untaggedExpireDays: 3,
      ciTags: [{ pattern: 'ci-*', keep: 25 }],
      protectedTags: ['buildcache'],
      pins: { digests: [], tags: [], ecs: true, lambda: true },
      pinGraceDays: 7,
      rollbackDepth: 3,
      existingPolicy: 'merge',
      unknownArtifacts: 'keep',
      maxExpireShare: 0.5,
      maxPinDrop: 0.5,
      maxTagRemovalsPerRun: 100,
      maxTagAdditionsPerRun: 500,
      dryRun: false,
      schedule: 'cron(0 3 * * ? *)',
      pricePerGbMonth: 0.1,
    });
  });

  it('accepts the documented example config as written', () => {
    // Prepare
    const documented = {
      repositories: { include: ['*'], exclude: [] },
      untaggedExpireDays: 3,
      ciTags: [{ pattern: 'ci-*', keep: 25 }],
      protectedTags: ['buildcache'],
      pins: { digests: [{ repository: 'app', digest: DIGEST }], ecs: true, lambda: true, ssmParameter: '/ecr-janitor/pins' },
      pinGraceDays: 7,
      existingPolicy: 'merge',
      maxExpireShare: 0.5,
      dryRun: false,
    };

    // Act
    const config = parseConfig(documented, 'test.json');

    // Assess
    expect(config.pins).toEqual({ digests: [{ repository: 'app', digest: DIGEST }], tags: [], ecs: true, lambda: true, ssmParameter: '/ecr-janitor/pins' });
    expect(config.existingPolicy).toBe('merge');
  });
});

describe('parseConfig field validation', () => {
  it.each([
    { name: 'untaggedExpireDays 0', value: { untaggedExpireDays: 0 }, field: 'untaggedExpireDays', fix: /whole number from 1 to 3650/ },
    { name: 'untaggedExpireDays 2.5', value: { untaggedExpireDays: 2.5 }, field: 'untaggedExpireDays', fix: /whole number from 1 to 3650/ },
    { name: 'untaggedExpireDays as text', value: { untaggedExpireDays: '3' }, field: 'untaggedExpireDays', fix: /whole number/ },
    {
      name: 'CI pattern with 5 wildcards',
      value: { ciTags: [{ pattern: 'a*b*c*d*e*f', keep: 5 }] },
      field: 'ciTags[0].pattern',
      fix: /5 wildcards; ECR allows at most 4/,
    },
    {
      name: 'CI pattern with a character ECR does not allow',
      value: { ciTags: [{ pattern: 'ci/*', keep: 5 }] },
      field: 'ciTags[0].pattern',
      fix: /ECR tag pattern \(letters, digits, _ \. - and \* wildcards\)/,
    },
    {
      name: 'negative keep on the second CI rule',
      value: { ciTags: [{ pattern: 'ci-*', keep: 5 }, { pattern: 'pr-*', keep: -1 }] },
      field: 'ciTags[1].keep',
      fix: /whole number from 1 to 10000, got -1/,
    },
    { name: 'CI rule that is not an object', value: { ciTags: ['ci-*'] }, field: 'ciTags[0]', fix: /\{"pattern": "ci-\*", "keep": 25\}/ },
    { name: 'ciTags not a list', value: { ciTags: 'ci-*' }, field: 'ciTags', fix: /must be a list such as/ },
    { name: 'duplicate CI pattern', value: { ciTags: [{ pattern: 'ci-*', keep: 5 }, { pattern: 'ci-*', keep: 9 }] }, field: 'ciTags[1].pattern', fix: /listed twice; keep one entry/ },
    { name: 'protected pattern with 5 wildcards', value: { protectedTags: ['*a*b*c*d*'] }, field: 'protectedTags[0]', fix: /at most 4/ },
    { name: 'protectedTags not strings', value: { protectedTags: [1] }, field: 'protectedTags', fix: /list of strings/ },
    {
      name: 'pinned digest that is not sha256',
      value: { pins: { digests: [{ repository: 'app', digest: 'md5:abc' }] } },
      field: 'pins.digests[0].digest',
      fix: /"sha256:" and 64 lowercase hex digits/,
    },
    {
      name: 'pinned digest in upper case',
      value: { pins: { digests: [{ repository: 'app', digest: `sha256:${'A'.repeat(64)}` }] } },
      field: 'pins.digests[0].digest',
      fix: /64 lowercase hex/,
    },
    {
      name: 'pinned digest with a bad repository',
      value: { pins: { digests: [{ repository: 'App', digest: DIGEST }] } },
      field: 'pins.digests[0].repository',
      fix: /repository name such as "team\/app"/,
    },
    { name: 'pinned tag that is not a tag', value: { pins: { tags: [{ repository: 'app', tag: 'v 1' }] } }, field: 'pins.tags[0].tag', fix: /must be an image tag/ },
    { name: 'pins.ecs not boolean', value: { pins: { ecs: 'yes' } }, field: 'pins.ecs', fix: /true or false/ },
    { name: 'pins.ssmParameter with spaces', value: { pins: { ssmParameter: 'my pins' } }, field: 'pins.ssmParameter', fix: /SSM parameter name such as "\/ecr-janitor\/pins"/ },
    { name: 'existingPolicy "yes"', value: { existingPolicy: 'yes' }, field: 'existingPolicy', fix: /"replace", "merge" or "skip", got "yes"/ },
    { name: 'unknownArtifacts "delete"', value: { unknownArtifacts: 'delete' }, field: 'unknownArtifacts', fix: /"keep" .* or "expire", got "delete"/ },
    { name: 'maxExpireShare 2', value: { maxExpireShare: 2 }, field: 'maxExpireShare', fix: /between 0 \(exclusive\) and 1, e\.g\. 0\.5; got 2/ },
    { name: 'maxExpireShare 0', value: { maxExpireShare: 0 }, field: 'maxExpireShare', fix: /between 0 \(exclusive\) and 1/ },
    { name: 'maxExpireShare as text', value: { maxExpireShare: '0.5' }, field: 'maxExpireShare', fix: /must be a number/ },
    { name: 'schedule "nightly"', value: { schedule: 'nightly' }, field: 'schedule', fix: /EventBridge expression such as "cron\(0 3 \* \* \? \*\)" or "rate\(1 day\)"/ },
    { name: 'pinGraceDays -1', value: { pinGraceDays: -1 }, field: 'pinGraceDays', fix: /whole number from 0 to 365/ },
    { name: 'maxTagAdditionsPerRun 0', value: { maxTagAdditionsPerRun: 0 }, field: 'maxTagAdditionsPerRun', fix: /whole number from 1/ },
    { name: 'maxTagRemovalsPerRun -1', value: { maxTagRemovalsPerRun: -1 }, field: 'maxTagRemovalsPerRun', fix: /whole number from 0/ },
    { name: 'dryRun "true"', value: { dryRun: 'true' }, field: 'dryRun', fix: /true or false, got "true"/ },
    { name: 'pricePerGbMonth negative', value: { pricePerGbMonth: -0.1 }, field: 'pricePerGbMonth', fix: />= 0 in USD/ },
    { name: 'repositories not an object', value: { repositories: ['*'] }, field: 'repositories', fix: /\{"include": \[\.\.\.\], "exclude": \[\.\.\.\]\}/ },
    { name: 'empty include list', value: { repositories: { include: [] } }, field: 'repositories.include', fix: /use \["\*"\] for every repository/ },
    { name: 'upper-case repository glob', value: { repositories: { include: ['Team/*'] } }, field: 'repositories.include[0]', fix: /lowercase letters, digits/ },
  ])('rejects $name, naming the field and the fix', ({ value, field, fix }) => {
    // Prepare / Act
    const problems = problemsOf(value);

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe(field);
    expect(problems[0]!.message).toMatch(fix);
  });

  it('puts every problem, each with its field, in the error message', () => {
    // Prepare / Act
    let message = '';
    try {
      parseConfig({ untaggedExpireDays: 0, schedule: 'nightly' }, 'janitor.json');
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toContain('invalid config janitor.json');
    expect(message).toContain('  - untaggedExpireDays: must be a whole number from 1 to 3650, got 0');
    expect(message).toContain('  - schedule: must be an EventBridge expression');
  });

  it.each([
    { name: 'a list', value: [] },
    { name: 'null', value: null },
    { name: 'a string', value: 'untaggedExpireDays=3' },
  ])('rejects a root that is $name', ({ value }) => {
    // Prepare / Act
    const problems = problemsOf(value);

    // Assess
    expect(problems).toEqual([{ field: '(root)', message: expect.stringMatching(/must be a JSON object/) }]);
  });

  it.each([
    { value: { untaggedExpireDays: 1 } },
    { value: { untaggedExpireDays: 3650 } },
    { value: { maxExpireShare: 1 } },
    { value: { pinGraceDays: 0 } },
    { value: { schedule: 'rate(1 day)' } },
    { value: { schedule: 'rate(12 hours)' } },
    { value: { ciTags: [{ pattern: 'a*b*c*d*e', keep: 1 }] } },
    { value: { ciTags: [] } },
  ])('accepts the boundary value $value', ({ value }) => {
    // Prepare / Act
    const config = parseConfig(value, 'test.json');

    // Assess
    for (const [key, expected] of Object.entries(value)) expect(config[key as keyof JanitorConfig]).toEqual(expected);
  });
});

describe('parseConfig unknown keys', () => {
  it.each([
    { value: { untagedExpireDays: 3 }, field: 'untagedExpireDays', suggestion: 'did you mean "untaggedExpireDays"?' },
    { value: { dryrun: true }, field: 'dryrun', suggestion: 'did you mean "dryRun"?' },
    { value: { pins: { ecss: true } }, field: 'pins.ecss', suggestion: 'did you mean "pins.ecs"?' },
    { value: { repositories: { exclud: ['x'] } }, field: 'repositories.exclud', suggestion: 'did you mean "repositories.exclude"?' },
    { value: { ciTags: [{ pattern: 'ci-*', kep: 3 }] }, field: 'ciTags[0].kep', suggestion: 'did you mean "ciTags[0].keep"?' },
    { value: { pins: { digests: [{ repository: 'app', digest: DIGEST, tag: 'v1' }] } }, field: 'pins.digests[0].tag', suggestion: 'allowed: repository, digest' },
  ])('rejects $field with "$suggestion"', ({ value, field, suggestion }) => {
    // Prepare / Act
    const problems = problemsOf(value);

    // Assess
    expect(problems).toContainEqual({ field, message: expect.stringContaining(suggestion) });
  });

  it('lists the allowed keys when nothing is close', () => {
    // Prepare / Act
    const problems = problemsOf({ retention: 5 });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('retention');
    expect(problems[0]!.message).toMatch(/^unknown key; allowed: repositories, untaggedExpireDays, ciTags/);
  });
});

describe('parseConfig cross-field rules', () => {
  it('reports several problems at once, each naming its field', () => {
    // Prepare
    const value = {
      untagedExpireDays: 3,
      untaggedExpireDays: 0,
      ciTags: [{ pattern: 'a*b*c*d*e*f', keep: 5 }, { pattern: 'pr-*', keep: -1 }],
      pins: { ecss: true, digests: [{ repository: 'app', digest: 'sha256:nope' }] },
      existingPolicy: 'yes',
      maxExpireShare: 2,
      schedule: 'nightly',
    };

    // Act
    const fields = problemsOf(value).map((p) => p.field);

    // Assess
    expect(fields.sort()).toEqual(
      [
        'untagedExpireDays',
        'untaggedExpireDays',
        'ciTags[0].pattern',
        'ciTags[1].keep',
        'pins.ecss',
        'pins.digests[0].digest',
        'existingPolicy',
        'maxExpireShare',
        'schedule',
      ].sort(),
    );
  });

  it.each([
    { name: 'omitted', protectedTags: undefined, expected: ['buildcache'] },
    { name: 'empty', protectedTags: [], expected: ['buildcache'] },
    { name: 'without buildcache', protectedTags: ['release-*', 'latest'], expected: ['buildcache', 'release-*', 'latest'] },
    { name: 'with buildcache listed again', protectedTags: ['stable', 'buildcache'], expected: ['buildcache', 'stable'] },
  ])('always protects buildcache when protectedTags is $name', ({ protectedTags, expected }) => {
    // Prepare / Act
    const config = parseConfig(protectedTags === undefined ? {} : { protectedTags }, 'test.json');

    // Assess
    expect(config.protectedTags).toEqual(expected);
  });

  it.each([
    { name: 'a user protected pattern', value: { protectedTags: ['release-*'], ciTags: [{ pattern: 'release-*', keep: 3 }] } },
    { name: 'buildcache (always protected)', value: { ciTags: [{ pattern: 'buildcache', keep: 3 }] } },
    { name: 'the protection-tag pattern keep-*', value: { ciTags: [{ pattern: 'keep-*', keep: 3 }] } },
  ])('rejects a CI pattern equal to $name', ({ value }) => {
    // Prepare / Act
    const problems = problemsOf(value);

    // Assess
    expect(problems).toEqual([{ field: 'ciTags[0].pattern', message: expect.stringMatching(/is also a protected pattern; .*remove one of them/) }]);
  });

  const ciRules = (n: number) => Array.from({ length: n }, (_, i) => ({ pattern: `ci${i}-*`, keep: 5 }));

  it.each([
    // rules = protectedTags (buildcache) + keep-* + ciTags + untagged
    { ci: 47, rules: 50, ok: true },
    { ci: 48, rules: 51, ok: false },
    { ci: 60, rules: 63, ok: false },
  ])('with $ci CI patterns ($rules lifecycle rules) accepts: $ok', ({ ci, rules, ok }) => {
    // Prepare
    const value = { ciTags: ciRules(ci) };

    // Act / Assess
    if (ok) {
      expect(parseConfig(value, 'test.json').ciTags).toHaveLength(ci);
    } else {
      expect(problemsOf(value)).toEqual([{ field: 'ciTags', message: `protectedTags and ciTags make ${rules} lifecycle rules; ECR allows 50: merge patterns or drop some` }]);
    }
  });

  it('counts protected patterns towards the 50-rule limit', () => {
    // Prepare: buildcache + 10 protected + keep-* + 38 CI + untagged = 51
    const value = { protectedTags: Array.from({ length: 10 }, (_, i) => `p${i}`), ciTags: ciRules(38) };

    // Act
    const problems = problemsOf(value);

    // Assess
    expect(problems).toEqual([{ field: 'ciTags', message: expect.stringContaining('make 51 lifecycle rules') }]);
  });
});

describe('parseConfigText', () => {
  it.each([
    { name: 'truncated JSON', text: '{"untaggedExpireDays": 3' },
    { name: 'YAML', text: 'untaggedExpireDays: 3' },
    { name: 'empty text', text: '' },
  ])('rejects $name as "(file)" with a fix', ({ text }) => {
    // Prepare / Act
    let error: unknown;
    try {
      parseConfigText(text, 'janitor.json');
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).source).toBe('janitor.json');
    expect((error as ConfigError).problems).toEqual([{ field: '(file)', message: expect.stringMatching(/^not valid JSON \(.+\); fix the syntax$/) }]);
  });

  it.each([
    { name: 'defaults', value: {} },
    {
      name: 'every field set',
      value: {
        repositories: { include: ['team/*', 'app'], exclude: ['team/legacy-*'] },
        untaggedExpireDays: 14,
        ciTags: [
          { pattern: 'ci-*', keep: 10 },
          { pattern: 'pr-*-*', keep: 2 },
        ],
        protectedTags: ['release-*', 'latest'],
        pins: {
          digests: [{ repository: 'team/app', digest: DIGEST }],
          tags: [{ repository: 'app', tag: 'v1.4' }],
          ecs: false,
          lambda: false,
          ssmParameter: '/ecr-janitor/pins',
        },
        pinGraceDays: 0,
        existingPolicy: 'replace',
        maxExpireShare: 1,
        maxTagRemovalsPerRun: 0,
        maxTagAdditionsPerRun: 10,
        dryRun: true,
        schedule: 'rate(6 hours)',
        pricePerGbMonth: 0.05,
      },
    },
  ])('reads configToText back to the same config ($name)', ({ value }) => {
    // Prepare
    const config = parseConfig(value, 'test.json');

    // Act
    const roundTripped = parseConfigText(configToText(config), 'JANITOR_CONFIG');

    // Assess
    expect(roundTripped).toEqual(config);
  });
});

describe('isRepositoryManaged', () => {
  it.each([
    { include: ['*'], exclude: [], name: 'app', managed: true },
    { include: ['*'], exclude: [], name: 'team/service/api', managed: true },
    { include: ['team/*'], exclude: [], name: 'team/api', managed: true },
    { include: ['team/*'], exclude: [], name: 'team/sub/api', managed: true },
    { include: ['team/*'], exclude: [], name: 'other/api', managed: false },
    { include: ['team/*'], exclude: [], name: 'team', managed: false },
    { include: ['team/*'], exclude: ['team/legacy-*'], name: 'team/legacy-api', managed: false },
    { include: ['team/*'], exclude: ['team/legacy-*'], name: 'team/api', managed: true },
    { include: ['*/api'], exclude: [], name: 'team/api', managed: true },
    { include: ['*/api'], exclude: [], name: 'team/api-v2', managed: false },
    { include: ['team/app-?'], exclude: [], name: 'team/app-1', managed: true },
    { include: ['team/app-?'], exclude: [], name: 'team/app-10', managed: false },
    { include: ['a.b/c'], exclude: [], name: 'axb/c', managed: false },
    { include: ['app', 'team/*'], exclude: ['*/scratch'], name: 'team/scratch', managed: false },
  ])('include $include exclude $exclude: $name managed = $managed', ({ include, exclude, name, managed }) => {
    // Prepare
    const config = parseConfig({ repositories: { include, exclude } }, 'test.json');

    // Act / Assess
    expect(isRepositoryManaged(config, name)).toBe(managed);
  });
});

describe('parseConfig defaults are not shared', () => {
  it('gives every caller its own lists, and does not spend a rule on keep-* twice', () => {
    // Prepare
    const first = parseConfig({}, 'a');

    // Act
    first.repositories.include.push('mutated');
    first.ciTags[0]!.keep = 1;
    const second = parseConfig({ protectedTags: ['keep-*', 'release-*'] }, 'b');

    // Assess
    expect(second.repositories.include).toEqual(['*']);
    expect(second.ciTags).toEqual([{ pattern: 'ci-*', keep: 25 }]);
    expect(second.protectedTags).toEqual(['buildcache', 'release-*']);
  });
});

describe('config that would not do what it says (issue 9, point 6)', () => {
  it.each([
    ['a top-level key', '{"protectedTags": ["v*"], "protectedTags": []}', ['protectedTags']],
    ['a nested key', '{"pins": {"ecs": true, "lambda": false, "ecs": false}}', ['pins.ecs']],
    ['a key inside a list entry', '{"ciTags": [{"pattern": "ci-*", "keep": 5}, {"pattern": "pr-*", "keep": 2, "keep": 9}]}', ['ciTags[1].keep']],
  ])('rejects %s given twice, naming its path', (_name, text, fields) => {
    // Act
    let problems: ConfigProblem[] = [];
    try {
      parseConfigText(text, 'janitor.json');
    } catch (error) {
      problems = (error as ConfigError).problems;
    }

    // Assess
    expect(problems.map((p) => p.field)).toEqual(fields);
    expect(problems[0]?.message).toMatch(/appears twice.*keeps only the last/);
  });

  it('accepts equal keys in different objects and quoted braces in strings', () => {
    // Prepare
    const text = '{"pins": {"tags": [{"repository": "app", "tag": "v1"}, {"repository": "web", "tag": "v1"}], "ssmParameter": "/a{b\\"}"}, "dryRun": true}';

    // Act / Assess
    expect(() => parseConfigText(text, 'janitor.json')).toThrow(/pins\.ssmParameter/); // rejected for its characters, not as a duplicate
    expect(parseConfigText('{"pins": {"tags": [{"repository": "app", "tag": "v1"}, {"repository": "web", "tag": "v1"}]}, "dryRun": true}', 'j').dryRun).toBe(true);
  });

  it('rejects overlapping CI patterns with different keeps, naming both', () => {
    // Act
    const problems = problemsOf({ ciTags: [{ pattern: 'ci-*', keep: 2 }, { pattern: 'ci-main-*', keep: 5 }] });

    // Assess
    expect(problems).toEqual([{ field: 'ciTags[1].pattern', message: expect.stringMatching(/"ci-main-\*" \(keep 5\) overlaps "ci-\*" \(ciTags\[0\], keep 2\)/) }]);
  });

  it.each([
    [[{ pattern: 'ci-pr-*', keep: 2 }, { pattern: 'ci-main-*', keep: 5 }]],
    [[{ pattern: 'ci-*', keep: 5 }, { pattern: 'ci-main-*', keep: 5 }]],
    [[{ pattern: '*-amd64', keep: 3 }, { pattern: '*-arm64', keep: 4 }]],
  ])('accepts CI patterns %j (no tag matches both, or the same keep)', (ciTags) => {
    // Act / Assess
    expect(parseConfig({ ciTags }, 'test.json').ciTags).toEqual(ciTags);
  });

  it.each([
    [{ include: ['app'], exclude: ['*'] }],
    [{ include: ['app', 'web'], exclude: ['app', 'w*'] }],
  ])('rejects repositories %j that manage nothing, saying so', (repositories) => {
    // Act
    const problems = problemsOf({ repositories });

    // Assess
    expect(problems).toEqual([{ field: 'repositories.exclude', message: expect.stringMatching(/excludes every repository .* so nothing would be managed/) }]);
  });
});
