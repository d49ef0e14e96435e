// lib/app.ts, the wiring behind bin/ecr-janitor.ts: where the config comes from, one stack per account/region,
// config errors that name the field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../lambda/domain/config.js';
import { buildApp, formatConfigError, loadJanitorConfig, stackTargets } from '../../lib/app.js';
import { FAKE_CODE } from './support.js';

const NO_ENV = {};

function envConfig(app: App) {
  const fn = Object.values(Template.fromStack(buildApp(app, { code: FAKE_CODE, env: NO_ENV })[0]!).findResources('AWS::Lambda::Function'))[0] as {
    Properties: { Environment: { Variables: { JANITOR_CONFIG: string } } };
  };
  return parseConfigText(fn.Properties.Environment.Variables.JANITOR_CONFIG, 'test');
}

describe('loadJanitorConfig', () => {
  it('reads the janitor object from context (cdk.json)', () => {
    const app = new App({ context: { janitor: { untaggedExpireDays: 9, dryRun: true } } });
    const { config, source } = loadJanitorConfig(app);
    expect(config.untaggedExpireDays).toBe(9);
    expect(config.dryRun).toBe(true);
    expect(source).toMatch(/janitor/);
  });

  it('prefers -c configFile=path.json, relative to the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'janitor-config-'));
    writeFileSync(join(dir, 'janitor.json'), JSON.stringify({ untaggedExpireDays: 5 }));
    const app = new App({ context: { configFile: 'janitor.json', janitor: { untaggedExpireDays: 9 } } });
    expect(loadJanitorConfig(app, dir).config.untaggedExpireDays).toBe(5);
  });

  it('accepts -c janitor=<JSON text>', () => {
    const app = new App({ context: { janitor: '{"untaggedExpireDays": 4}' } });
    expect(loadJanitorConfig(app).config.untaggedExpireDays).toBe(4);
  });

  it('throws a ConfigError naming every bad field', () => {
    const app = new App({ context: { janitor: { untaggedExpireDays: 'soon', pins: { ecss: true } } } });
    let error: unknown;
    try {
      loadJanitorConfig(app);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = formatConfigError(error as ConfigError);
    expect(text).toMatch(/untaggedExpireDays/);
    expect(text).toMatch(/pins\.ecss/);
  });

  it('reports an unreadable config file as a ConfigError', () => {
    const app = new App({ context: { configFile: 'does-not-exist.json' } });
    expect(() => loadJanitorConfig(app, tmpdir())).toThrow(ConfigError);
  });
});

describe('stackTargets', () => {
  it('deploys one stack to the CLI account and region by default', () => {
    expect(stackTargets(new App(), { CDK_DEFAULT_ACCOUNT: '111111111111', CDK_DEFAULT_REGION: 'us-east-1' })).toEqual([
      { id: 'EcrJanitor', env: { account: '111111111111', region: 'us-east-1' } },
    ]);
    expect(stackTargets(new App(), {})).toEqual([{ id: 'EcrJanitor' }]);
  });

  it('deploys one stack per entry of context accounts', () => {
    const app = new App({ context: { accounts: [{ account: '111111111111', region: 'eu-west-1' }, '222222222222/us-east-2'] } });
    expect(stackTargets(app, {}).map((t) => t.id)).toEqual(['EcrJanitor-111111111111-eu-west-1', 'EcrJanitor-222222222222-us-east-2']);
  });

  it.each([
    ['a JSON list', '["222222222222/eu-west-1", {"account": "333333333333", "region": "us-east-1"}]'],
    ['a comma list', '222222222222/eu-west-1, 333333333333/us-east-1'],
  ])('reads -c accounts given as %s (the CDK CLI passes -c values as strings)', (_form, text) => {
    expect(stackTargets(new App({ context: { accounts: text } }), {}).map((t) => t.id)).toEqual(['EcrJanitor-222222222222-eu-west-1', 'EcrJanitor-333333333333-us-east-1']);
  });

  it('names the field when -c accounts is broken JSON', () => {
    expect(() => stackTargets(new App({ context: { accounts: '["222222222222/eu-west-1"' } }), {})).toThrow(/accounts: is not valid JSON/);
  });

  it('rejects a malformed or duplicated accounts list', () => {
    expect(() => stackTargets(new App({ context: { accounts: ['12345/eu-west-1'] } }), {})).toThrow(/accounts\[0\]/);
    expect(() => stackTargets(new App({ context: { accounts: ['111111111111/eu-west-1', '111111111111/eu-west-1'] } }), {})).toThrow(/twice/);
    expect(() => stackTargets(new App({ context: { accounts: [] } }), {})).toThrow(/empty/);
  });
});

describe('buildApp', () => {
  it('passes the context config to the function', () => {
    const app = new App({ context: { janitor: { untaggedExpireDays: 6 } } });
    expect(envConfig(app).untaggedExpireDays).toBe(6);
  });

  it('uses the checked-in cdk.json config (dry run until the operator flips it)', async () => {
    const { readFileSync } = await import('node:fs');
    const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };
    const config = envConfig(new App({ context: cdkJson.context }));
    expect(config.dryRun).toBe(true);
    expect(config.schedule).toBe('cron(0 3 * * ? *)');
  });

  it('subscribes -c alarmEmail to the alarms and rejects a non-address', () => {
    const app = new App({ context: { alarmEmail: 'ops@example.com' } });
    const [stack] = buildApp(app, { code: FAKE_CODE, env: NO_ENV });
    Template.fromStack(stack!).hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'ops@example.com' });
    expect(() => buildApp(new App({ context: { alarmEmail: 'ops' } }), { code: FAKE_CODE, env: NO_ENV })).toThrow(ConfigError);
  });

  it('adds the cdk-nag AwsSolutions plugin', () => {
    const app = new App();
    buildApp(app, { code: FAKE_CODE, env: NO_ENV });
    expect(() => app.synth()).not.toThrow();
  });
});

describe('StackSet mode (-c stackSetAssetBucket)', () => {
  it('synthesizes one account-agnostic template that reads its code from the organization asset bucket', () => {
    const app = new App({ context: { stackSetAssetBucket: 'my-org-janitor-assets-${AWS::Region}' } });
    // A directory asset (no bundling) so the template references the asset bucket.
    const dir = mkdtempSync(join(tmpdir(), 'janitor-code-'));
    writeFileSync(join(dir, 'index.mjs'), 'export const handler = async () => ({});');
    const stacks = buildApp(app, { code: lambda.Code.fromAsset(dir), env: { CDK_DEFAULT_ACCOUNT: '111111111111', CDK_DEFAULT_REGION: 'eu-west-1' } });
    expect(stacks).toHaveLength(1);
    expect(Token.isUnresolved(stacks[0]!.account)).toBe(true);
    expect(Token.isUnresolved(stacks[0]!.region)).toBe(true);
    const template = Template.fromStack(stacks[0]!);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Code: { S3Bucket: { 'Fn::Sub': 'my-org-janitor-assets-${AWS::Region}' }, S3Key: Match.stringLikeRegexp('^ecr-janitor/[a-f0-9]{64}\\.zip$') },
    });
    const json = template.toJSON() as { Parameters?: Record<string, unknown>; Rules?: Record<string, unknown> };
    // No CDK bootstrap in StackSet target accounts: no bootstrap version parameter or rule.
    expect(json.Parameters?.BootstrapVersion).toBeUndefined();
    expect(json.Rules?.CheckBootstrapVersion).toBeUndefined();
    expect(JSON.stringify(json)).not.toContain('111111111111');
  });

  it('cannot be combined with an accounts list', () => {
    const app = new App({ context: { stackSetAssetBucket: 'b-${AWS::Region}', accounts: ['111111111111/eu-west-1'] } });
    expect(() => buildApp(app, { code: FAKE_CODE, env: NO_ENV })).toThrow(/StackSet/);
  });
});
