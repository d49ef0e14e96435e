// The CDK CLI path a platform engineer takes (README "Many accounts"): `cdk synth` with the repository's cdk.json. The
// CLI passes every `-c` value as a string, so the JSON-array form of `accounts` must be read as JSON and the comma
// form as a list; both synthesise one stack per account/region. The recommended feature flags are set, so synth
// prints no feature-flag notice. Bundling runs for real (once per synth), so this file is slow (npm run test:slow).
// The comma form goes through `cdk ls`, which runs the same app with the same -c value and writes the same templates
// to cdk.out, without bundling (the CLI bundles for synth and deploy only), and without aws-cdk-lib's built-in
// CloudFormation template validation (CDK_VALIDATION=false; two thirds of a synth's CPU). The JSON form, the README
// command, is a full `cdk synth` as shipped, where cdk.json's @aws-cdk/core:validateAgainstDefaultRules makes the
// validation's findings fail the synth.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'ecr-janitor-cdk-cli-'));
const STACKS = ['EcrJanitor-222222222222-eu-west-1', 'EcrJanitor-333333333333-us-east-1'];

interface Synth {
  code: number;
  output: string;
  templates: string[];
}

/**
 * `cdk synth -c accounts=<value>` (or another CDK CLI command) in a folder with the repository's cdk.json (app and
 * output paths made absolute).
 */
async function synth(name: string, accounts: string, options: { command?: 'synth' | 'ls'; env?: Record<string, string> } = {}): Promise<Synth> {
  const dir = join(work, name);
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as Record<string, unknown>;
  cdkJson.app = `${process.execPath} ${join(ROOT, 'node_modules/tsx/dist/cli.mjs')} ${join(ROOT, 'bin/ecr-janitor.ts')}`;
  cdkJson.output = join(dir, 'cdk.out');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cdk.json'), JSON.stringify(cdkJson));
  const env = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', AWS_EC2_METADATA_DISABLED: 'true', ...options.env };
  const command = options.command === 'ls' ? ['ls'] : ['synth', '--quiet'];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/aws-cdk/bin/cdk'), ...command, '-c', `accounts=${accounts}`], { cwd: dir, env, maxBuffer: 1 << 24 });
    return { code: 0, output: stdout + stderr, templates: readdirSync(join(dir, 'cdk.out')).filter((f) => f.endsWith('.template.json')).sort() };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`, templates: [] };
  }
}

let json: Synth;
let comma: Synth;
beforeAll(async () => {
  // Act: both forms of the README's many-accounts command, side by side.
  [json, comma] = await Promise.all([synth('json', '["222222222222/eu-west-1","333333333333/us-east-1"]'), synth('comma', '222222222222/eu-west-1,333333333333/us-east-1', { command: 'ls', env: { CDK_VALIDATION: 'false' } })]);
}, 240_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cdk synth through the CDK CLI', () => {
  it.each([
    ['the JSON-array form', () => json],
    ['the comma form', () => comma],
  ])('synthesises one stack per account with %s of -c accounts', (_name, result) => {
    const { code, output, templates } = result();
    expect(output).not.toMatch(/invalid config|must be/);
    expect(code).toBe(0);
    expect(templates).toEqual(STACKS.map((s) => `${s}.template.json`));
  });

  it('prints no feature-flag notice: the recommended flags are in cdk.json', () => {
    expect(json.output).not.toMatch(/feature flag/i);
    const context = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
    const recommended = JSON.parse(readFileSync(join(ROOT, 'node_modules/aws-cdk-lib/recommended-feature-flags.json'), 'utf8')) as Record<string, unknown>;
    for (const [flag, value] of Object.entries(recommended)) expect(context[flag], flag).toEqual(value);
  });
});
