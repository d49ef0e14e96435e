// The one config schema, used by the CLI (--config) and the CDK app (context `janitor`), validated by the same code.
// The zod schema below is the single source: it yields the file's type (JanitorConfigFile), the validation with
// field-named errors, and the JSON Schema shipped as schema/janitor-config.schema.json for editors.
// Unknown keys are errors: a typo must not silently disable protection.
import * as z from 'zod';
import { SHA256_DIGEST } from './digest.js';
import { countWildcards, nameMatchesGlob, PROTECTION_TAG_PATTERN } from './patterns.js';
import type { JanitorConfig } from './types.js';

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
}) as JanitorConfig;

/** ECR allows 50 rules; we add one per protected pattern, the keep-* rule, one per CI pattern and the untagged rule. */
const MAX_RULES = 50;
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
const SSM_PARAMETER_RE = /^\/?[A-Za-z0-9_.\-/]{1,2000}$/;

// ---------------------------------------------------------------- schema building blocks

const got = (iss: { input?: unknown }) => JSON.stringify(iss.input);
/** An error message for a schema, used only when the value has the wrong type (unknown keys get their own message). */
const onWrongType = (message: string) => (iss: { code?: string }) => (iss.code === 'invalid_type' ? message : undefined);

function wholeNumber(min: number, max: number) {
  const message = (iss: { input?: unknown }) => `must be a whole number from ${min} to ${max}, got ${got(iss)}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

const flag = () => z.boolean({ error: (iss) => `must be true or false, got ${got(iss)}` });

/** A list whose entries must be strings; a non-string entry is reported on the list (see STRING_LISTS). */
const stringList = (entry: z.ZodString) => z.array(entry, { error: onWrongType('must be a list of strings') });

function tagPattern() {
  return z
    .string({ error: (iss) => `must be an ECR tag pattern (letters, digits, _ . - and * wildcards), got ${got(iss)}` })
    .regex(TAG_PATTERN_RE, { error: (iss) => `must be an ECR tag pattern (letters, digits, _ . - and * wildcards), got ${got(iss)}` })
    .refine((value) => countWildcards(value) <= 4, {
      error: (iss) => `"${String(iss.input)}" has ${countWildcards(String(iss.input))} wildcards; ECR allows at most 4 per pattern`,
    });
}

const repositoryGlob = z
  .string()
  .regex(REPOSITORY_GLOB_RE, { error: (iss) => `"${String(iss.input)}" is not a repository name or glob (lowercase letters, digits, . _ - / and the wildcards * ?)` });

const repositoryName = z
  .string({ error: (iss) => `must be a repository name such as "team/app", got ${got(iss)}` })
  .regex(REPOSITORY_RE, { error: (iss) => `must be a repository name such as "team/app", got ${got(iss)}` });

const TAG_EXAMPLE = '{"key": "ecr-janitor", "value": "managed"}';
const DIGEST_PIN_EXAMPLE = '{"repository": "app", "digest": "sha256:<64 hex>"}';
const TAG_PIN_EXAMPLE = '{"repository": "app", "tag": "1.4"}';

const digestPin = z.strictObject(
  {
    repository: repositoryName,
    digest: z
      .string({ error: (iss) => `must be "sha256:" and 64 lowercase hex digits, got ${got(iss)}` })
      .regex(SHA256_DIGEST, { error: (iss) => `must be "sha256:" and 64 lowercase hex digits, got ${got(iss)}` }),
  },
  { error: onWrongType(`must be an object ${DIGEST_PIN_EXAMPLE}`) },
);
const tagPin = z.strictObject(
  {
    repository: repositoryName,
    tag: z.string({ error: (iss) => `must be an image tag, got ${got(iss)}` }).regex(TAG_RE, { error: (iss) => `must be an image tag, got ${got(iss)}` }),
  },
  { error: onWrongType(`must be an object ${TAG_PIN_EXAMPLE}`) },
);

const d = DEFAULT_CONFIG;

/** The config file's schema, before the cross-field rules and normalisation (buildcache always protected). */
const fileSchema = z.strictObject(
  {
    repositories: z
      .strictObject(
        {
          include: stringList(repositoryGlob).default(() => [...d.repositories.include]).describe('Repository names or globs (* ?) to manage'),
          exclude: stringList(repositoryGlob).default(() => [...d.repositories.exclude]).describe('Repository names or globs never managed'),
          tag: z
            .strictObject(
              {
                key: z
                  .string()
                  .regex(RESOURCE_TAG_KEY_RE)
                  .refine((key) => !key.toLowerCase().startsWith('aws:')),
                value: z.string().regex(RESOURCE_TAG_VALUE_RE),
              },
              { error: onWrongType(`must be a resource tag ${TAG_EXAMPLE}`) },
            )
            .optional()
            .describe('Manage only repositories carrying this resource tag (opt-in)'),
        },
        { error: onWrongType('must be an object {"include": [...], "exclude": [...]}') },
      )
      .default(() => ({ include: [...d.repositories.include], exclude: [...d.repositories.exclude] })),
    untaggedExpireDays: wholeNumber(1, 3650).default(d.untaggedExpireDays).describe('Expire untagged images this many days after push'),
    ciTags: z
      .array(
        z.strictObject({ pattern: tagPattern(), keep: wholeNumber(1, 10_000).default(25) }, { error: onWrongType('must be an object {"pattern": "ci-*", "keep": 25}') }),
        { error: onWrongType('must be a list such as [{"pattern": "ci-*", "keep": 25}]') },
      )
      .default(() => d.ciTags.map((rule) => ({ ...rule })))
      .describe('Tag patterns of CI builds: keep the newest `keep` of each'),
    protectedTags: stringList(tagPattern()).default(() => []).describe('Tag patterns never expired ("buildcache" always is)'),
    pins: z
      .strictObject(
        {
          digests: z.array(digestPin, { error: onWrongType(`must be a list of ${DIGEST_PIN_EXAMPLE}`) }).default(() => []),
          tags: z.array(tagPin, { error: onWrongType(`must be a list of ${TAG_PIN_EXAMPLE}`) }).default(() => []),
          ecs: flag().default(d.pins.ecs).describe('Pin images used by ECS services and running tasks'),
          lambda: flag().default(d.pins.lambda).describe('Pin images of Lambda container functions'),
          ssmParameter: z
            .string({ error: 'must be an SSM parameter name such as "/ecr-janitor/pins"' })
            .regex(SSM_PARAMETER_RE, { error: 'must be an SSM parameter name such as "/ecr-janitor/pins"' })
            .optional()
            .describe('SSM parameter holding more pins'),
          orgBucket: z
            .string({ error: 'must be the name of the organization pins S3 bucket, e.g. "my-org-ecr-janitor-pins"' })
            .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be the name of the organization pins S3 bucket, e.g. "my-org-ecr-janitor-pins"' })
            .optional()
            .describe('Organization-wide pins: publish this account\'s uses of other registries there and read what others publish about this one'),
        },
        { error: onWrongType('must be an object {"digests": [...], "ecs": true, "lambda": true}') },
      )
      .default(() => ({ digests: [], tags: [], ecs: d.pins.ecs, lambda: d.pins.lambda })),
    pinGraceDays: wholeNumber(0, 365).default(d.pinGraceDays).describe('Days a protection tag stays after its pin is gone'),
    keepPulledWithinDays: wholeNumber(1, 365)
      .optional()
      .describe('Keep images pulled within this many days (pulls by the janitor itself excluded); off when absent'),
    rollbackDepth: wholeNumber(1, 50)
      .default(d.rollbackDepth)
      .describe("ECS: keep the images of each service's last K task definition revisions, the current one included (1: only the current)"),
    existingPolicy: z
      .enum(['replace', 'merge', 'skip'], { error: (iss) => `must be "replace", "merge" or "skip", got ${got(iss)}` })
      .default(d.existingPolicy)
      .describe('What to do with a lifecycle policy the janitor did not write'),
    unknownArtifacts: z
      .enum(['keep', 'expire'], {
        error: (iss) => `must be "keep" (shield images of unknown media types until a person decides) or "expire", got ${got(iss)}`,
      })
      .default(d.unknownArtifacts),
    maxExpireShare: z
      .number({ error: (iss) => `must be a number, got ${got(iss)}` })
      .gt(0, { error: (iss) => `must be a share between 0 (exclusive) and 1, e.g. 0.5; got ${String(iss.input)}` })
      .lte(1, { error: (iss) => `must be a share between 0 (exclusive) and 1, e.g. 0.5; got ${String(iss.input)}` })
      .default(d.maxExpireShare)
      .describe('Refuse a policy that would expire more than this share of a repository at once'),
    maxPinDrop: z
      .number({ error: (iss) => `must be a number, got ${got(iss)}` })
      .gt(0, { error: (iss) => `must be a share between 0 (exclusive) and 1, e.g. 0.5 (1 turns the pin circuit breaker off); got ${String(iss.input)}` })
      .lte(1, { error: (iss) => `must be a share between 0 (exclusive) and 1, e.g. 0.5 (1 turns the pin circuit breaker off); got ${String(iss.input)}` })
      .default(d.maxPinDrop)
      .describe('Hold a repository whose pinned digests shrank by more than this share since the last accepted run (circuit breaker)'),
    maxTagRemovalsPerRun: wholeNumber(0, 100_000).default(d.maxTagRemovalsPerRun),
    maxTagAdditionsPerRun: wholeNumber(1, 100_000).default(d.maxTagAdditionsPerRun),
    dryRun: flag().default(d.dryRun),
    schedule: z
      .string({ error: (iss) => `must be an EventBridge expression such as "cron(0 3 * * ? *)" or "rate(1 day)", got ${got(iss)}` })
      .regex(SCHEDULE_RE, { error: (iss) => `must be an EventBridge expression such as "cron(0 3 * * ? *)" or "rate(1 day)", got ${got(iss)}` })
      // EventBridge cron: six fields (minutes hours day-of-month month day-of-week year), one of the two days "?"
      // (EventBridge Scheduler User Guide, "Cron expressions"). Caught at synth rather than by CloudFormation.
      .refine((expression) => !expression.startsWith('cron(') || cronProblem(expression) === undefined, {
        error: (iss) => `${cronProblem(String(iss.input))}, got ${got(iss)}; e.g. "cron(0 3 * * ? *)" (minutes hours day-of-month month day-of-week year)`,
      })
      .default(d.schedule)
      .describe('Schedule expression of the nightly run (CDK only)'),
    pricePerGbMonth: z
      .number({ error: (iss) => `must be a number, got ${got(iss)}` })
      .gte(0, { error: (iss) => `must be a price >= 0 in USD, e.g. 0.10; got ${String(iss.input)}` })
      .default(d.pricePerGbMonth),
    concurrency: wholeNumber(1, 64)
      .optional()
      .describe('Repositories making ECR calls at once; default sized for the function memory (README "Scaling")'),
    putImagePerSecond: z
      .number({ error: (iss) => `must be a number of PutImage calls per second, e.g. 9; got ${got(iss)}` })
      .gt(0, { error: (iss) => `must be more than 0 and at most 1000 PutImage calls per second, under your account's PutImage quota (10/s by default), e.g. 9; got ${String(iss.input)}` })
      .lte(1000, { error: (iss) => `must be more than 0 and at most 1000 PutImage calls per second, under your account's PutImage quota (10/s by default), e.g. 9; got ${String(iss.input)}` })
      .optional()
      .describe("Lambda: protection tags written per second; unset 9, under ECR's PutImage quota of 10/s per account and Region, which CI pushes share (README \"Scaling\")"),
    fullReadEveryDays: wholeNumber(0, 90)
      .optional()
      .describe('Lambda: confirm a repository unchanged since its last full read (ECR push/delete events, same pins, config and policy) instead of re-reading it, and read it whole at least this often, in days; unset or 0: every repository read whole every night (README "Scaling")'),
  },
  { error: onWrongType('must be a JSON object such as {"untaggedExpireDays": 3}') },
);

/** What a person writes in janitor.json or the cdk.json context `janitor`. */
export type JanitorConfigFile = z.input<typeof fileSchema>;

// The schema yields the config's type: a compile error here means types.ts and the schema disagree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Parsed = z.output<typeof fileSchema>;
const schemaMatchesType: [Same<Parsed['repositories'], JanitorConfig['repositories']>, Same<Parsed['pins'], JanitorConfig['pins']>, Same<Parsed['ciTags'], JanitorConfig['ciTags']>, Same<Parsed, JanitorConfig>] = [true, true, true, true];
void schemaMatchesType;

/** The config schema: the file's fields, then normalisation and the rules that span fields. */
export const configSchema = fileSchema
  .transform((config): JanitorConfig => {
    // keep-* is always protected by its own rule; listing it again would only spend one of ECR's 50 rules.
    const protectedTags = ['buildcache'];
    for (const pattern of config.protectedTags) if (pattern !== PROTECTION_TAG_PATTERN && !protectedTags.includes(pattern)) protectedTags.push(pattern);
    return { ...config, protectedTags };
  })
  .superRefine((config, ctx) => {
    const fail = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const { include, exclude } = config.repositories;
    if (include.length === 0) fail(['repositories', 'include'], 'is empty, so nothing would be managed; use ["*"] for every repository');
    else if (include.every((glob) => exclude.some((ex) => globCovers(ex, glob)))) {
      fail(['repositories', 'exclude'], `excludes every repository repositories.include names (${JSON.stringify(include)}), so nothing would be managed`);
    }
    const { ciTags, protectedTags } = config;
    const seen = new Set<string>();
    ciTags.forEach((rule, i) => {
      if (seen.has(rule.pattern)) fail(['ciTags', i, 'pattern'], `"${rule.pattern}" is listed twice; keep one entry per pattern`);
      seen.add(rule.pattern);
    });
    // ECR gives an image to the first rule that selects it, and every image a pattern matches counts in its ranking:
    // "ci-*" keep 2 before "ci-main-*" keep 5 keeps only 2 ci-main images, whichever order. Refuse, do not guess.
    ciTags.forEach((rule, i) => {
      ciTags.slice(0, i).forEach((earlier, j) => {
        if (earlier.pattern === rule.pattern || earlier.keep === rule.keep || !globsOverlap(earlier.pattern, rule.pattern)) return;
        fail(
          ['ciTags', i, 'pattern'],
          `"${rule.pattern}" (keep ${rule.keep}) overlaps "${earlier.pattern}" (ciTags[${j}], keep ${earlier.keep}): a tag can match both, and ECR ` +
            'counts it under one rule only, so one promise would not hold; use patterns no tag matches together, or the same keep',
        );
      });
    });
    ciTags.forEach((rule, i) => {
      const clash = [...protectedTags, PROTECTION_TAG_PATTERN].find((p) => p === rule.pattern);
      if (clash) fail(['ciTags', i, 'pattern'], `"${rule.pattern}" is also a protected pattern; protected tags are never expired, so remove one of them`);
    });
    const rules = protectedTags.length + 1 + ciTags.length + 1;
    if (rules > MAX_RULES) fail(['ciTags'], `protectedTags and ciTags make ${rules} lifecycle rules; ECR allows ${MAX_RULES}: merge patterns or drop some`);
  });

/** The JSON Schema of janitor.json (draft 2020-12), for editors; written to schema/janitor-config.schema.json by the build. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(fileSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://github.com/ecr-janitor/ecr-janitor/schema/janitor-config.schema.json',
    title: 'ecr-janitor config (janitor.json, or the cdk.json context key "janitor")',
  };
}

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
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(source, problemsOf(result.error.issues));
}

/** Why an EventBridge cron expression is malformed, or undefined when it is not. */
function cronProblem(expression: string): string | undefined {
  const fields = expression.slice('cron('.length, -1).trim().split(/\s+/);
  if (fields.length !== 6) return `a cron expression has 6 fields, this one has ${fields.length}`;
  if (fields[2] !== '?' && fields[4] !== '?') return 'a cron expression needs "?" in day-of-month or day-of-week';
  return undefined;
}

// ---------------------------------------------------------------- issues -> problems

/** Lists whose non-string entries are reported on the list itself ("protectedTags: must be a list of strings"). */
const STRING_LISTS = new Set(['protectedTags', 'repositories.include', 'repositories.exclude']);
const RESOURCE_TAG_MESSAGES: Record<string, (input: unknown) => string> = {
  'repositories.tag.key': (input) => `must be a resource tag key (1-128 letters, digits, spaces, _ . : / = + - @; not "aws:..."), got ${JSON.stringify(input)}`,
  'repositories.tag.value': (input) => `must be a resource tag value (up to 256 letters, digits, spaces, _ . : / = + - @), got ${JSON.stringify(input)}`,
};

function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || '(root)';
}

function problemsOf(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (field: string, message: string) => {
    // One problem per field: a value failing several checks (2.5 is neither whole nor...) is one mistake.
    if (seen.has(field)) return;
    seen.add(field);
    problems.push({ field, message });
  };
  for (const issue of issues) {
    let path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      const allowed = keysAt(path);
      const prefix = path.length > 0 ? `${fieldName(path)}.` : '';
      for (const key of issue.keys) {
        const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase() || editDistance(a, key) <= 2);
        add(`${prefix}${key}`, `unknown key${near ? `; did you mean "${prefix}${near}"?` : `; allowed: ${allowed.join(', ')}`}`);
      }
      continue;
    }
    const last = path.at(-1);
    if (issue.code === 'invalid_type' && typeof last === 'number' && STRING_LISTS.has(fieldName(path.slice(0, -1)))) {
      path = path.slice(0, -1);
      add(fieldName(path), 'must be a list of strings');
      continue;
    }
    const field = fieldName(path);
    const resourceTag = RESOURCE_TAG_MESSAGES[field];
    add(field, resourceTag ? resourceTag(valueAt(issue)) : issue.message);
  }
  return problems;
}

function valueAt(issue: z.core.$ZodIssue): unknown {
  return (issue as { input?: unknown }).input;
}

/** The keys the schema allows for the object at `path` (for "did you mean" and "allowed:"). */
function keysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = fileSchema;
  for (const part of [...path, undefined]) {
    // Unwrap defaults, optionals and transforms down to the object or array underneath.
    for (;;) {
      const def = schema?._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType } | undefined;
      if (def && (def.type === 'default' || def.type === 'optional' || def.type === 'prefault') && def.innerType) schema = def.innerType;
      else if (def?.type === 'pipe' && def.in) schema = def.in;
      else break;
    }
    if (part === undefined || !schema) break;
    const def = schema._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    schema = typeof part === 'number' ? def.element : def.shape?.[String(part)];
  }
  const shape = (schema?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
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
