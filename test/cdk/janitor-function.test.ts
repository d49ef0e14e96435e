// JanitorFunction bundles lambda/handler.ts for real with the local esbuild: the asset is small, loads in Node as
// ESM (pino's require() calls work) and maps stack traces back to the TypeScript sources.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, AssetStaging, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_ENTRY, LOCK_FILE } from '../../lib/ecr-janitor.js';
import { JanitorFunction } from '../../lib/janitor-function.js';
import { ENV } from './support.js';

const ONE_MB = 1024 * 1024;

describe('JanitorFunction (real esbuild bundle)', () => {
  let template: Template;
  let bundleDir: string;

  beforeAll(() => {
    // Prepare: bundle once for the file.
    const stack = new Stack(new App(), 'Fn', { env: ENV });
    const fn = new JanitorFunction(stack, 'Janitor', {
      entry: HANDLER_ENTRY,
      depsLockFilePath: LOCK_FILE,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      logRetention: logs.RetentionDays.THREE_MONTHS,
      environment: { JANITOR_CONFIG: '{}' },
    });
    const staging = fn.node.findAll().find((c): c is AssetStaging => c instanceof AssetStaging);
    if (!staging) throw new Error('no asset staging under the function');
    bundleDir = staging.absoluteStagedPath;
    template = Template.fromStack(stack);
  });

  it('bundles the handler as one ES module under 1 MB, SDK included', () => {
    const bundle = join(bundleDir, 'index.mjs');
    const size = statSync(bundle).size;
    expect(size).toBeLessThan(ONE_MB);
    const text = readFileSync(bundle, 'utf8');
    // externalModules: [] -> the SDK clients are in the bundle, not taken from the runtime.
    expect(text).toContain('ListImageReferrers');
    expect(text).not.toMatch(/from\s*["']@aws-sdk\//);
  });

  it('ships a source map that Node finds (sourceMappingURL comment, NODE_OPTIONS)', () => {
    expect(existsSync(join(bundleDir, 'index.mjs.map'))).toBe(true);
    expect(readFileSync(join(bundleDir, 'index.mjs'), 'utf8').trimEnd()).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map$/);
    const map = JSON.parse(readFileSync(join(bundleDir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith('lambda/handler.ts'))).toBe(true);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } } });
  });

  it('loads in Node and exports the handler, which refuses to run without a config', async () => {
    const saved = process.env.JANITOR_CONFIG;
    delete process.env.JANITOR_CONFIG;
    try {
      const mod = (await import(pathToFileURL(join(bundleDir, 'index.mjs')).href)) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
      expect(typeof mod.handler).toBe('function');
      await expect(mod.handler({}, { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:janitor' })).rejects.toThrow(/JANITOR_CONFIG is not set/);
    } finally {
      if (saved !== undefined) process.env.JANITOR_CONFIG = saved;
    }
  });

  it('is nodejs22.x on arm64 with handler index.handler, the given timeout and memory', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 900,
      MemorySize: 1024,
    });
  });

  it('owns its log group with the retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
  });
});
