// The one config schema, used by the CLI (--config) and the CDK app (context `janitor`), validated by the same code.
// Unknown keys are errors: a typo must not silently disable protection.
import { countWildcards, nameMatchesGlob, PROTECTION_TAG_PATTERN } from './patterns.js';
import type { CiTagRule, ExistingPolicyMode, JanitorConfig, RepositoryTag } from './types.js';

export interface ConfigProblem {
  field: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`invalid config ${source}:\n${problems.map((p) => `  - ${p.field}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_CONFIG: JanitorConfig = Object.freeze({
  repositories: { include: ['*'], exclude: [] },
  untaggedExpireDays: 3,
  ciTags: [{ pattern: 'ci-*', keep: 25 }],
  protectedTags: ['buildcache'],
  pins: { digests: [], tags: [], ecs: true, lambda: true },
  pinGraceDays: 7,
  existingPolicy: 'merge',
  unknownArtifacts: 'keep',
  maxExpireShare: 0.5,
  maxTagRemovalsPerRun: 100,
  maxTagAdditionsPerRun: 500,
  dryRun: false,
  schedule: 'cron(0 3 * * ? *)',
  pricePerGbMonth: 0.1,
}) as JanitorConfig;

/** ECR allows 50 rules; we add one per protected pattern, the keep-* rule, one per CI pattern and the untagged rule. */
const MAX_RULES = 50;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
// ECR repository names: lowercase, digits, separators . _ - and / between components.
const REPOSITORY_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_GLOB_RE = /^[a-z0-9._\-/*?]+$/;
// Tag characters ECR accepts, plus * for patterns.
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const TAG_PATTERN_RE = /^[A-Za-z0-9_.*-]{1,128}$/;
// AWS resource tags: up to 128 characters in a key, 256 in a value, letters, digits, spaces and _ . : / = + - @; "aws:"
// keys are reserved (Tagging AWS resources, "Tag naming limits and requirements").
const RESOURCE_TAG_KEY_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const RESOURCE_TAG_VALUE_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const SCHEDULE_RE = /^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/;

const TOP_KEYS = [
  'repositories',
  'untaggedExpireDays',
  'ciTags',
  'protectedTags',
  'pins',
  'pinGraceDays',
  'existingPolicy',
  'unknownArtifacts',
  'maxExpireShare',
  'maxTagRemovalsPerRun',
  'maxTagAdditionsPerRun',
  'dryRun',
  'schedule',
  'pricePerGbMonth',
] as const;
const PIN_KEYS = ['digests', 'tags', 'ecs', 'lambda', 'ssmParameter'] as const;

export function parseConfigText(text: string, source: string): JanitorConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(source, [{ field: '(file)', message: `not valid JSON (${(error as Error).message}); fix the syntax` }]);
  }
  // JSON.parse keeps the last of two equal keys: {"protectedTags": ["v*"], "protectedTags": []} would drop protection.
  const duplicates = duplicateKeys(text);
  if (duplicates.length > 0) {
    throw new ConfigError(
      source,
      duplicates.map((path) => ({ field: path, message: 'appears twice in one object; JSON keeps only the last, so remove one of them' })),
    );
  }
  return parseConfig(value, source);
}

/** Validates a parsed config object and fills in defaults. Every problem is reported at once, each naming its field. */
export function parseConfig(value: unknown, source: string): JanitorConfig {
  const problems: ConfigProblem[] = [];
  const fail = (field: string, message: string) => problems.push({ field, message });
  if (!isObject(value)) throw new ConfigError(source, [{ field: '(root)', message: 'must be a JSON object such as {"untaggedExpireDays": 3}' }]);
  unknownKeys(value, TOP_KEYS, '', fail);
  const d = DEFAULT_CONFIG;

  // Copies: a caller that changes its config must not change the defaults.
  const repositories: JanitorConfig['repositories'] = { include: [...d.repositories.include], exclude: [...d.repositories.exclude] };
  if (value.repositories !== undefined) {
    if (!isObject(value.repositories)) fail('repositories', 'must be an object {"include": [...], "exclude": [...]}');
    else {
      unknownKeys(value.repositories, ['include', 'exclude', 'tag'], 'repositories.', fail);
      for (const key of ['include', 'exclude'] as const) {
        const list = value.repositories[key];
        if (list === undefined) continue;
        const globs = stringList(list, `repositories.${key}`, fail);
        globs.forEach((glob, i) => {
          if (!REPOSITORY_GLOB_RE.test(glob)) fail(`repositories.${key}[${i}]`, `"${glob}" is not a repository name or glob (lowercase letters, digits, . _ - / and the wildcards * ?)`);
        });
        repositories[key] = globs;
      }
      if (repositories.include.length === 0) fail('repositories.include', 'is empty, so nothing would be managed; use ["*"] for every repository');
      else if (repositories.include.every((glob) => repositories.exclude.some((ex) => globCovers(ex, glob)))) {
        fail('repositories.exclude', `excludes every repository repositories.include names (${JSON.stringify(repositories.include)}), so nothing would be managed`);
      }
      const tag = repositoryTag(value.repositories.tag, fail);
      if (tag) repositories.tag = tag;
    }
  }

  const untaggedExpireDays = integer(value.untaggedExpireDays, 'untaggedExpireDays', d.untaggedExpireDays, 1, 3650, fail);

  let ciTags: CiTagRule[] = d.ciTags.map((rule) => ({ ...rule }));
  if (value.ciTags !== undefined) {
    if (!Array.isArray(value.ciTags)) fail('ciTags', 'must be a list such as [{"pattern": "ci-*", "keep": 25}]');
    else {
      ciTags = [];
      value.ciTags.forEach((entry: unknown, i: number) => {
        const field = `ciTags[${i}]`;
        if (!isObject(entry)) return fail(field, 'must be an object {"pattern": "ci-*", "keep": 25}');
        unknownKeys(entry, ['pattern', 'keep'], `${field}.`, fail);
        const pattern = tagPattern(entry.pattern, `${field}.pattern`, fail);
        const keep = integer(entry.keep, `${field}.keep`, 25, 1, 10_000, fail);
        if (pattern !== undefined) ciTags.push({ pattern, keep });
      });
      const seen = new Set<string>();
      ciTags.forEach((rule, i) => {
        if (seen.has(rule.pattern)) fail(`ciTags[${i}].pattern`, `"${rule.pattern}" is listed twice; keep one entry per pattern`);
        seen.add(rule.pattern);
      });
      // ECR gives an image to the first rule that selects it, and every image a pattern matches counts in its ranking:
      // "ci-*" keep 2 before "ci-main-*" keep 5 keeps only 2 ci-main images, whichever order. Refuse, do not guess.
      ciTags.forEach((rule, i) => {
        ciTags.slice(0, i).forEach((earlier, j) => {
          if (earlier.pattern === rule.pattern || earlier.keep === rule.keep || !globsOverlap(earlier.pattern, rule.pattern)) return;
          fail(
            `ciTags[${i}].pattern`,
            `"${rule.pattern}" (keep ${rule.keep}) overlaps "${earlier.pattern}" (ciTags[${j}], keep ${earlier.keep}): a tag can match both, and ECR ` +
              'counts it under one rule only, so one promise would not hold; use patterns no tag matches together, or the same keep',
          );
        });
      });
    }
  }

  const protectedTags = ['buildcache'];
  if (value.protectedTags !== undefined) {
    stringList(value.protectedTags, 'protectedTags', fail).forEach((entry, i) => {
      const pattern = tagPattern(entry, `protectedTags[${i}]`, fail);
      // keep-* is always protected by its own rule; listing it again would only spend one of ECR's 50 rules.
      if (pattern !== undefined && pattern !== PROTECTION_TAG_PATTERN && !protectedTags.includes(pattern)) protectedTags.push(pattern);
    });
  }
  ciTags.forEach((rule, i) => {
    const clash = [...protectedTags, PROTECTION_TAG_PATTERN].find((p) => p === rule.pattern);
    if (clash) fail(`ciTags[${i}].pattern`, `"${rule.pattern}" is also a protected pattern; protected tags are never expired, so remove one of them`);
  });

  const pins: JanitorConfig['pins'] = { digests: [], tags: [], ecs: d.pins.ecs, lambda: d.pins.lambda };
  if (value.pins !== undefined) {
    if (!isObject(value.pins)) fail('pins', 'must be an object {"digests": [...], "ecs": true, "lambda": true}');
    else {
      unknownKeys(value.pins, PIN_KEYS, 'pins.', fail);
      pins.digests = pinList(value.pins.digests, 'pins.digests', 'digest', fail).map(([repository, digest]) => ({ repository, digest }));
      pins.tags = pinList(value.pins.tags, 'pins.tags', 'tag', fail).map(([repository, tag]) => ({ repository, tag }));
      pins.ecs = boolean(value.pins.ecs, 'pins.ecs', d.pins.ecs, fail);
      pins.lambda = boolean(value.pins.lambda, 'pins.lambda', d.pins.lambda, fail);
      if (value.pins.ssmParameter !== undefined) {
        const name = value.pins.ssmParameter;
        if (typeof name !== 'string' || !/^\/?[A-Za-z0-9_.\-/]{1,2000}$/.test(name)) {
          fail('pins.ssmParameter', 'must be an SSM parameter name such as "/ecr-janitor/pins"');
        } else pins.ssmParameter = name;
      }
    }
  }

  const pinGraceDays = integer(value.pinGraceDays, 'pinGraceDays', d.pinGraceDays, 0, 365, fail);
  let existingPolicy: ExistingPolicyMode = d.existingPolicy;
  if (value.existingPolicy !== undefined) {
    if (value.existingPolicy === 'replace' || value.existingPolicy === 'merge' || value.existingPolicy === 'skip') existingPolicy = value.existingPolicy;
    else fail('existingPolicy', `must be "replace", "merge" or "skip", got ${JSON.stringify(value.existingPolicy)}`);
  }
  let unknownArtifacts = d.unknownArtifacts;
  if (value.unknownArtifacts !== undefined) {
    if (value.unknownArtifacts === 'keep' || value.unknownArtifacts === 'expire') unknownArtifacts = value.unknownArtifacts;
    else fail('unknownArtifacts', `must be "keep" (shield images of unknown media types until a person decides) or "expire", got ${JSON.stringify(value.unknownArtifacts)}`);
  }
  const maxExpireShare = number(value.maxExpireShare, 'maxExpireShare', d.maxExpireShare, fail);
  if (!(maxExpireShare > 0 && maxExpireShare <= 1)) fail('maxExpireShare', `must be a share between 0 (exclusive) and 1, e.g. 0.5; got ${maxExpireShare}`);
  const maxTagRemovalsPerRun = integer(value.maxTagRemovalsPerRun, 'maxTagRemovalsPerRun', d.maxTagRemovalsPerRun, 0, 100_000, fail);
  const maxTagAdditionsPerRun = integer(value.maxTagAdditionsPerRun, 'maxTagAdditionsPerRun', d.maxTagAdditionsPerRun, 1, 100_000, fail);
  const dryRun = boolean(value.dryRun, 'dryRun', d.dryRun, fail);
  let schedule = d.schedule;
  if (value.schedule !== undefined) {
    if (typeof value.schedule === 'string' && SCHEDULE_RE.test(value.schedule)) schedule = value.schedule;
    else fail('schedule', `must be an EventBridge expression such as "cron(0 3 * * ? *)" or "rate(1 day)", got ${JSON.stringify(value.schedule)}`);
  }
  const pricePerGbMonth = number(value.pricePerGbMonth, 'pricePerGbMonth', d.pricePerGbMonth, fail);
  if (!(pricePerGbMonth >= 0)) fail('pricePerGbMonth', `must be a price >= 0 in USD, e.g. 0.10; got ${pricePerGbMonth}`);

  const rules = protectedTags.length + 1 + ciTags.length + 1;
  if (rules > MAX_RULES) {
    fail('ciTags', `protectedTags and ciTags make ${rules} lifecycle rules; ECR allows ${MAX_RULES}: merge patterns or drop some`);
  }

  if (problems.length > 0) throw new ConfigError(source, problems);
  return {
    repositories,
    untaggedExpireDays,
    ciTags,
    protectedTags,
    pins,
    pinGraceDays,
    existingPolicy,
    unknownArtifacts,
    maxExpireShare,
    maxTagRemovalsPerRun,
    maxTagAdditionsPerRun,
    dryRun,
    schedule,
    pricePerGbMonth,
  };
}

/** The JSON the Lambda receives; `parseConfigText` reads it back to the same config. */
export function configToText(config: JanitorConfig): string {
  return JSON.stringify(config);
}

export function isRepositoryManaged(config: JanitorConfig, name: string): boolean {
  const { include, exclude } = config.repositories;
  return include.some((glob) => nameMatchesGlob(name, glob)) && !exclude.some((glob) => nameMatchesGlob(name, glob));
}

// ---------------------------------------------------------------- field readers

/** Whether some tag matches both patterns (`*` = any run of characters). */
export function globsOverlap(a: string, b: string): boolean {
  const memo = new Map<number, boolean>();
  const walk = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result = false;
    if (i === a.length && j === b.length) result = true;
    else if (i < a.length && a[i] === '*' && (walk(i + 1, j) || (j < b.length && walk(i, j + 1)))) result = true;
    else if (j < b.length && b[j] === '*' && (walk(i, j + 1) || (i < a.length && walk(i + 1, j)))) result = true;
    else if (i < a.length && j < b.length && a[i] !== '*' && b[j] !== '*' && a[i] === b[j]) result = walk(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return walk(0, 0);
}

/** Whether every name `inner` matches also matches `outer` (exactly for a literal `inner` or a match-all `outer`). */
function globCovers(outer: string, inner: string): boolean {
  if (/^\*+$/.test(outer)) return true;
  return !/[*?]/.test(inner) && nameMatchesGlob(inner, outer);
}

/**
 * Paths of keys that appear twice in one object of valid JSON text (e.g. `pins.ecs`, `ciTags[0].keep`). A small scanner:
 * JSON.parse has already accepted the text, so only strings, nesting and keys need following.
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  type Frame = { kind: 'object'; path: string; keys: Set<string>; key?: string } | { kind: 'array'; path: string; index: number };
  const stack: Frame[] = [];
  const childPath = (frame: Frame | undefined): string => {
    if (!frame) return '';
    if (frame.kind === 'array') return `${frame.path}[${frame.index}]`;
    return frame.path ? `${frame.path}.${frame.key}` : frame.key!;
  };
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (expectKey && top?.kind === 'object') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) found.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      stack.push({ kind: 'object', path: childPath(stack.at(-1)), keys: new Set() });
      expectKey = true;
    } else if (ch === '[') {
      stack.push({ kind: 'array', path: childPath(stack.at(-1)), index: 0 });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      const top = stack.at(-1);
      if (top?.kind === 'object') expectKey = true;
      else if (top) top.index += 1;
    }
  }
  return found;
}

type Fail = (field: string, message: string) => void;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], prefix: string, fail: Fail) {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase() || editDistance(a, key) <= 2);
    fail(`${prefix}${key}`, `unknown key${near ? `; did you mean "${prefix}${near}"?` : `; allowed: ${allowed.join(', ')}`}`);
  }
}

function integer(value: unknown, field: string, fallback: number, min: number, max: number, fail: Fail): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}

function number(value: unknown, field: string, fallback: number, fail: Fail): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    fail(field, `must be a number, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}

function boolean(value: unknown, field: string, fallback: boolean, fail: Fail): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    fail(field, `must be true or false, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}

function stringList(value: unknown, field: string, fail: Fail): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    fail(field, 'must be a list of strings');
    return [];
  }
  return value as string[];
}

function repositoryTag(value: unknown, fail: Fail): RepositoryTag | undefined {
  if (value === undefined) return undefined;
  const example = '{"key": "ecr-janitor", "value": "managed"}';
  if (!isObject(value)) {
    fail('repositories.tag', `must be a resource tag ${example}`);
    return undefined;
  }
  unknownKeys(value, ['key', 'value'], 'repositories.tag.', fail);
  const { key, value: tagValue } = value;
  let ok = true;
  if (typeof key !== 'string' || !RESOURCE_TAG_KEY_RE.test(key) || key.toLowerCase().startsWith('aws:')) {
    fail('repositories.tag.key', `must be a resource tag key (1-128 letters, digits, spaces, _ . : / = + - @; not "aws:..."), got ${JSON.stringify(key)}`);
    ok = false;
  }
  if (typeof tagValue !== 'string' || !RESOURCE_TAG_VALUE_RE.test(tagValue)) {
    fail('repositories.tag.value', `must be a resource tag value (up to 256 letters, digits, spaces, _ . : / = + - @), got ${JSON.stringify(tagValue)}`);
    ok = false;
  }
  return ok ? { key: key as string, value: tagValue as string } : undefined;
}

function tagPattern(value: unknown, field: string, fail: Fail): string | undefined {
  if (typeof value !== 'string' || !TAG_PATTERN_RE.test(value)) {
    fail(field, `must be an ECR tag pattern (letters, digits, _ . - and * wildcards), got ${JSON.stringify(value)}`);
    return undefined;
  }
  if (countWildcards(value) > 4) {
    fail(field, `"${value}" has ${countWildcards(value)} wildcards; ECR allows at most 4 per pattern`);
    return undefined;
  }
  return value;
}

function pinList(value: unknown, field: string, key: 'digest' | 'tag', fail: Fail): [string, string][] {
  if (value === undefined) return [];
  const example = key === 'digest' ? '{"repository": "app", "digest": "sha256:<64 hex>"}' : '{"repository": "app", "tag": "1.4"}';
  if (!Array.isArray(value)) {
    fail(field, `must be a list of ${example}`);
    return [];
  }
  const out: [string, string][] = [];
  value.forEach((entry: unknown, i: number) => {
    const at = `${field}[${i}]`;
    if (!isObject(entry)) return fail(at, `must be an object ${example}`);
    unknownKeys(entry, ['repository', key], `${at}.`, fail);
    const repository = entry.repository;
    const ref = entry[key];
    let ok = true;
    if (typeof repository !== 'string' || !REPOSITORY_RE.test(repository)) {
      fail(`${at}.repository`, `must be a repository name such as "team/app", got ${JSON.stringify(repository)}`);
      ok = false;
    }
    const valid = key === 'digest' ? DIGEST_RE : TAG_RE;
    if (typeof ref !== 'string' || !valid.test(ref)) {
      fail(`${at}.${key}`, key === 'digest' ? `must be "sha256:" and 64 lowercase hex digits, got ${JSON.stringify(ref)}` : `must be an image tag, got ${JSON.stringify(ref)}`);
      ok = false;
    }
    if (ok) out.push([repository as string, ref as string]);
  });
  return out;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
