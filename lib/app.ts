// The CDK app's wiring, kept out of bin/ so tests can run it: config from context, one stack per account/region,
// cdk-nag AwsSolutions on everything.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type App, CliCredentialsStackSynthesizer, type Environment, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, parseConfig, parseConfigText } from '../lambda/domain/config.js';
import type { JanitorConfig } from '../lambda/domain/types.js';
import { EcrJanitorStack } from './ecr-janitor-stack.js';
import { checkedOrchestration, type Orchestration } from './orchestration.js';

export interface LoadedConfig {
  config: JanitorConfig;
  source: string;
}

/**
 * `-c configFile=path.json` wins over the `janitor` object in cdk.json's context; `-c janitor='{...}'` (a JSON string)
 * works too. With neither, the documented defaults apply. Throws ConfigError naming every bad field.
 */
export function loadJanitorConfig(app: App, cwd = process.cwd()): LoadedConfig {
  const file = app.node.tryGetContext('configFile') as unknown;
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') throw new ConfigError('-c configFile', [{ field: 'configFile', message: 'must be a path to a JSON file' }]);
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(file, [{ field: '(file)', message: `cannot read ${path}: ${(error as Error).message}` }]);
    }
    return { config: parseConfigText(text, file), source: file };
  }
  const value = app.node.tryGetContext('janitor') as unknown;
  const source = 'cdk.json context "janitor"';
  if (value === undefined) return { config: parseConfig({}, source), source: 'defaults' };
  if (typeof value === 'string') return { config: parseConfigText(value, '-c janitor'), source: '-c janitor' };
  return { config: parseConfig(value, source), source };
}

export interface StackTarget {
  id: string;
  env?: Environment;
}

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/**
 * Context `accounts`: `[{"account": "123456789012", "region": "eu-west-1"}, ...]` (or "123456789012/eu-west-1"),
 * one stack each. Without it, one stack for the CLI's current account and region (CDK_DEFAULT_ACCOUNT/REGION).
 * The CDK CLI passes every `-c` value as a string, so `-c 'accounts=["1.../eu-west-1", ...]'` arrives as JSON text and
 * `-c accounts=1.../eu-west-1,2.../us-east-1` as a comma list: both are read.
 */
export function stackTargets(app: App, env: NodeJS.ProcessEnv = process.env): StackTarget[] {
  const accounts = app.node.tryGetContext('accounts') as unknown;
  if (accounts === undefined) {
    const account = env.CDK_DEFAULT_ACCOUNT;
    const region = env.CDK_DEFAULT_REGION;
    return [{ id: 'EcrJanitor', ...(account || region ? { env: { account, region } } : {}) }];
  }
  const list: unknown[] = typeof accounts === 'string' ? accountsText(accounts) : Array.isArray(accounts) ? accounts : [accounts];
  const problems: { field: string; message: string }[] = [];
  const targets: StackTarget[] = [];
  list.forEach((entry, i) => {
    const [account, region] =
      typeof entry === 'string'
        ? entry.split('/')
        : typeof entry === 'object' && entry !== null
          ? [(entry as Record<string, unknown>).account, (entry as Record<string, unknown>).region]
          : [];
    if (typeof account !== 'string' || !ACCOUNT_RE.test(account) || typeof region !== 'string' || !REGION_RE.test(region)) {
      problems.push({ field: `accounts[${i}]`, message: `must be {"account": "<12 digits>", "region": "eu-west-1"} or "123456789012/eu-west-1", got ${JSON.stringify(entry)}` });
      return;
    }
    targets.push({ id: `EcrJanitor-${account}-${region}`, env: { account, region } });
  });
  const ids = new Set<string>();
  for (const t of targets) {
    if (ids.has(t.id)) problems.push({ field: 'accounts', message: `${t.id.replace('EcrJanitor-', '')} is listed twice` });
    ids.add(t.id);
  }
  if (targets.length === 0 && problems.length === 0) problems.push({ field: 'accounts', message: 'is empty; leave it out to deploy to the current account and region' });
  if (problems.length > 0) throw new ConfigError('cdk.json context "accounts"', problems);
  return targets;
}

/** `accounts` given as a string: JSON (a list, or one object) when it looks like JSON, otherwise a comma list. */
function accountsText(text: string): unknown[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return trimmed.split(',').map((s) => s.trim());
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new ConfigError('-c accounts', [{ field: 'accounts', message: `is not valid JSON (${(error as Error).message}); use ["123456789012/eu-west-1", ...] or 123456789012/eu-west-1,...` }]);
  }
  return Array.isArray(value) ? value : [value];
}

export interface BuildAppOptions {
  /** Tests: skip bundling. */
  code?: lambda.Code;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Object key prefix of the function code in a StackSet asset bucket. */
export const STACK_SET_ASSET_PREFIX = 'ecr-janitor/';

/**
 * Context `stackSetAssetBucket` (e.g. "my-org-janitor-assets-${AWS::Region}"): synthesize one account- and
 * region-agnostic template for a CloudFormation StackSet. Its function code is read from that bucket (one per region,
 * readable by the organization) instead of each account's CDK bootstrap bucket, and it needs no bootstrap at all.
 */
export function stackSetAssetBucket(app: App): string | undefined {
  const bucket = app.node.tryGetContext('stackSetAssetBucket') as unknown;
  if (bucket === undefined) return undefined;
  if (typeof bucket !== 'string' || !/^[a-z0-9.${}:A-Z-]{3,120}$/.test(bucket)) {
    throw new ConfigError('-c stackSetAssetBucket', [{ field: 'stackSetAssetBucket', message: `must be an S3 bucket name, "\${AWS::Region}" allowed, got ${JSON.stringify(bucket)}` }]);
  }
  if (app.node.tryGetContext('accounts') !== undefined) {
    throw new ConfigError('-c stackSetAssetBucket', [{ field: 'accounts', message: 'a StackSet template is account-agnostic; leave out accounts (the StackSet chooses the accounts)' }]);
  }
  return bucket;
}

/** Adds the janitor stacks and cdk-nag to `app`. Throws ConfigError on a bad config or accounts list. */
export function buildApp(app: App, options: BuildAppOptions = {}): EcrJanitorStack[] {
  const { config, source } = loadJanitorConfig(app, options.cwd);
  const alarmEmail = app.node.tryGetContext('alarmEmail') as unknown;
  if (alarmEmail !== undefined && (typeof alarmEmail !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(alarmEmail))) {
    throw new ConfigError('-c alarmEmail', [{ field: 'alarmEmail', message: `must be an e-mail address, got ${JSON.stringify(alarmEmail)}` }]);
  }
  const assetBucket = stackSetAssetBucket(app);
  const reportTopicArn = app.node.tryGetContext('reportTopicArn') as unknown;
  if (reportTopicArn !== undefined && (typeof reportTopicArn !== 'string' || !/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(reportTopicArn))) {
    throw new ConfigError('-c reportTopicArn', [{ field: 'reportTopicArn', message: `must be an SNS topic ARN, e.g. "arn:aws:sns:eu-west-1:123456789012:janitor-reports", got ${JSON.stringify(reportTopicArn)}` }]);
  }
  const scheduleTimeZone = app.node.tryGetContext('scheduleTimeZone') as unknown;
  if (scheduleTimeZone !== undefined && (typeof scheduleTimeZone !== 'string' || !/^[A-Za-z0-9_+\-/]{1,64}$/.test(scheduleTimeZone))) {
    throw new ConfigError('-c scheduleTimeZone', [{ field: 'scheduleTimeZone', message: `must be an IANA time zone such as "Europe/Berlin", got ${JSON.stringify(scheduleTimeZone)}` }]);
  }
  const access = accessContext(app);
  const orchestration = orchestrationContext(app);
  // cdk-nag v3 is a policy-validation plugin: violations fail `cdk synth` with a report (cdk.out/*validation*).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const targets: StackTarget[] = assetBucket ? [{ id: 'EcrJanitor' }] : stackTargets(app, options.env);
  checkRoleNameUnique(access.roleName, targets);
  return targets.map(
    (target) =>
      new EcrJanitorStack(app, target.id, {
        ...(target.env ? { env: target.env } : {}),
        ...(assetBucket
          ? { synthesizer: new CliCredentialsStackSynthesizer({ fileAssetsBucketName: assetBucket, bucketPrefix: STACK_SET_ASSET_PREFIX }) }
          : {}),
        config,
        configSource: source,
        ...(typeof alarmEmail === 'string' ? { alarmEmail } : {}),
        ...(typeof scheduleTimeZone === 'string' ? { scheduleTimeZone } : {}),
        ...(typeof reportTopicArn === 'string' ? { reportTopicArn } : {}),
        ...access,
        ...(orchestration !== undefined ? { orchestration } : {}),
        ...(options.code ? { code: options.code } : {}),
      }),
  );
}

/** Context `orchestration`: "lambda" (default) or "stepfunctions" (README "Scaling"). */
export function orchestrationContext(app: App): Orchestration | undefined {
  const value = app.node.tryGetContext('orchestration') as unknown;
  if (value === undefined) return undefined;
  try {
    return checkedOrchestration(value);
  } catch (error) {
    throw new ConfigError('-c orchestration', [{ field: 'orchestration', message: (error as Error).message.replace(/^orchestration /, '') }]);
  }
}

export interface AccessContext {
  rolePermissionsBoundary?: string;
  roleName?: string;
  stateBreakGlassRole?: string;
}

/**
 * Context for organizations with IAM guard rails: `permissionsBoundary` (managed policy name or ARN) on every role,
 * `roleName` (a fixed role name; `{region}` is replaced by the stack's region) and `stateBreakGlassRoleArn` (the one
 * role besides the function's that may write state/*).
 */
export function accessContext(app: App): AccessContext {
  const problems: { field: string; message: string }[] = [];
  const read = (name: string, pattern: RegExp, expected: string): string | undefined => {
    const value = app.node.tryGetContext(name) as unknown;
    if (value === undefined) return undefined;
    if (typeof value === 'string' && pattern.test(value)) return value;
    problems.push({ field: name, message: `must be ${expected}, got ${JSON.stringify(value)}` });
    return undefined;
  };
  const boundary = read('permissionsBoundary', /^(arn:aws[\w-]*:iam::\d{12}:policy\/)?[\w+=,.@/-]{1,128}$/, 'a managed policy name or ARN, e.g. "org-boundary"');
  const roleName = read('roleName', /^(?:[\w+=,.@-]|\{region\}){1,64}$/, 'an IAM role name (letters, digits, + = , . @ _ -; "{region}" allowed), e.g. "ecr-janitor-{region}"');
  const breakGlass = read('stateBreakGlassRoleArn', /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'an IAM role ARN, e.g. "arn:aws:iam::123456789012:role/break-glass"');
  if (problems.length > 0) throw new ConfigError('cdk.json context', problems);
  return {
    ...(boundary !== undefined ? { rolePermissionsBoundary: boundary } : {}),
    ...(roleName !== undefined ? { roleName } : {}),
    ...(breakGlass !== undefined ? { stateBreakGlassRole: breakGlass } : {}),
  };
}

/** IAM role names are global to an account: two stacks of one account need `{region}` in the name. */
function checkRoleNameUnique(roleName: string | undefined, targets: readonly StackTarget[]): void {
  if (roleName === undefined || roleName.includes('{region}')) return;
  const accounts = targets.map((t) => t.env?.account).filter((a): a is string => a !== undefined);
  const twice = accounts.find((account, i) => accounts.indexOf(account) !== i);
  if (twice !== undefined) {
    throw new ConfigError('-c roleName', [{ field: 'roleName', message: `account ${twice} gets several stacks and IAM role names are per account: put {region} in it, e.g. "${roleName}-{region}"` }]);
  }
}

/** The problems of a ConfigError, one per line, for the terminal. */
export function formatConfigError(error: ConfigError): string {
  return [`ecr-janitor: invalid config (${error.source}):`, ...error.problems.map((p) => `  - ${p.field}: ${p.message}`)].join('\n');
}
