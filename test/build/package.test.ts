// The published package, as a platform team installs it: `npm pack` (which runs `npm run build` as prepack), the
// tarball unpacked into a fresh CDK app's node_modules, and a stack with EcrJanitor synthesised by plain Node. The
// app's node_modules links the project's own installed packages (no network), except esbuild and tsx: the construct
// must deploy the prebuilt handler, and the CLI must run from dist/.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const NOT_LINKED = new Set(['.bin', '.package-lock.json', 'ecr-janitor', 'esbuild', '@esbuild', 'tsx', 'typescript', '@typescript']);

/**
 * dist/ is at least as new as every source it is built from (the stamp bin/ecr-janitor-cli.mjs checks): .ci/run builds
 * right before the tests, so packing need not build again. Otherwise `npm pack` runs prepack (`npm run build`).
 */
function distIsFresh(): boolean {
  const stamp = join(ROOT, 'dist/build-info.json');
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  const inputs = ['package.json', 'tsconfig.build.json', 'scripts/build.ts', 'scripts/build-bundle.ts', ...['cli', 'lambda', 'lib', 'emulator'].flatMap((folder) =>
    (readdirSync(join(ROOT, folder), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(folder, f)))];
  return inputs.every((file) => statSync(join(ROOT, file)).mtimeMs <= built);
}

let work: string;
let app: string;
let packed: string[];

beforeAll(() => {
  // Prepare: pack (prepack builds dist/ unless it is fresh), then a consumer app with the tarball unpacked as
  // node_modules/ecr-janitor.
  work = mkdtempSync(join(tmpdir(), 'ecr-janitor-pack-'));
  const pack = ['pack', '--json', '--pack-destination', work, ...(distIsFresh() ? ['--ignore-scripts'] : [])];
  const out = execFileSync('npm', pack, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(out.slice(out.indexOf('[\n'))) as [{ filename: string; files: { path: string }[] }];
  packed = info.files.map((f) => f.path);
  app = join(work, 'app');
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'ecr-janitor'), { recursive: true });
  execFileSync('tar', ['-xzf', join(work, info.filename), '-C', join(modules, 'ecr-janitor'), '--strip-components=1']);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (!NOT_LINKED.has(name)) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'platform-app', private: true, type: 'module' }));
}, 180_000);
afterAll(() => { if (!process.env.KEEP_PACK) rmSync(work, { recursive: true, force: true }); });

describe('the npm package', () => {
  it('ships the built JavaScript, .d.ts, the handler bundle with its SBOM and the config schema, and no sources or tests', () => {
    // Assess
    for (const file of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/ecr-janitor.d.ts', 'dist/cli/cli.js', 'dist/bundle/lambda/index.mjs', 'dist/bundle/lambda.cdx.json', 'bin/ecr-janitor-cli.mjs', 'dist/schema/janitor-config.schema.json', 'package.json']) {
      expect(packed).toContain(file);
    }
    expect(packed.filter((f) => /^(test|scripts|emulator|lambda|lib|cli)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/ecr-janitor/package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys(manifest.peerDependencies!)).toEqual(['aws-cdk-lib', 'constructs']);
    expect(manifest.dependencies).not.toHaveProperty('aws-cdk-lib');
    expect(manifest.dependencies).not.toHaveProperty('tsx');
  });

  it('synthesises a stack with EcrJanitor in a fresh CDK app, deploying the prebuilt handler without esbuild', () => {
    // Prepare
    writeFileSync(
      join(app, 'app.mjs'),
      `import { App, Stack } from 'aws-cdk-lib';
import { EcrJanitor } from 'ecr-janitor';
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Platform', { env: { account: '111111111111', region: 'eu-west-1' } });
const janitor = new EcrJanitor(stack, 'Janitor', { config: { dryRun: true, ciTags: [{ pattern: 'ci-*', keep: 10 }] } });
const template = app.synth().getStackByName('Platform').template;
const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler');
console.log(JSON.stringify({ handler: fn?.Properties.Handler, runtime: fn?.Properties.Runtime, hasBucket: !!janitor.stateBucket }));
`,
    );

    // Act: without aws-cdk-lib's built-in template validation (CDK_VALIDATION=false), whose findings are warnings in an
    // app without @aws-cdk/core:validateAgainstDefaultRules; test/cdk/cdk-cli.test.ts runs it on the same construct.
    const result = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, CDK_VALIDATION: 'false' } });

    // Assess
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ handler: 'index.handler', runtime: 'nodejs22.x', hasBucket: true });
    const assets = readdirSync(join(app, 'cdk.out')).filter((name) => name.startsWith('asset.'));
    expect(assets.some((asset) => existsSync(join(app, 'cdk.out', asset, 'index.mjs')))).toBe(true);
  });

  it('runs its CLI from dist: --version and plan --help exit 0', () => {
    // Act
    const cli = join(app, 'node_modules/ecr-janitor/bin/ecr-janitor-cli.mjs');
    const version = spawnSync(process.execPath, [cli, '--version'], { cwd: app, encoding: 'utf8' });
    const help = spawnSync(process.execPath, [cli, 'plan', '--help'], { cwd: app, encoding: 'utf8' });
    const demo = spawnSync(process.execPath, [cli, 'demo'], { cwd: app, encoding: 'utf8' });

    // Assess
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(version.status).toBe(0);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--state-dir DIR .*\(default: \.janitor-state\)/);
    expect(help.stdout).toMatch(/exit codes:\n {2}0 {2}done/);
    // The emulator and demo are development tools, not shipped: a clear exit 2, not a stack trace.
    expect(demo.status).toBe(2);
    expect(demo.stderr).toMatch(/^ecr-janitor: demo needs a development checkout/);
  });

  it('gives a TypeScript consumer the construct\'s types from the .d.ts', () => {
    // Prepare: a type error on purpose (dryRun is a boolean) must be reported against the shipped types.
    writeFileSync(
      join(app, 'check.ts'),
      `import { App, Stack } from 'aws-cdk-lib';
import { EcrJanitor, type JanitorConfigFile } from 'ecr-janitor';
const config: JanitorConfigFile = { untaggedExpireDays: 5 };
new EcrJanitor(new Stack(new App(), 'S'), 'J', { config });
new EcrJanitor(new Stack(new App(), 'T'), 'J', { config: { dryRun: 'yes' } });
`,
    );
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['check.ts'] }));

    // Act
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });

    // Assess: exactly the one planted error, so the package's own types resolved.
    const errors = tsc.stdout.split('\n').filter((line) => /error TS/.test(line));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^check\.ts\(5,.*'string' is not assignable to type 'boolean/);
  });

  it('runs from a checkout through bin/ecr-janitor-cli.mjs, whichever of dist/ or tsx it picks', () => {
    // Act
    const help = spawnSync(process.execPath, [join(ROOT, 'bin/ecr-janitor-cli.mjs'), 'run', '--help'], { cwd: ROOT, encoding: 'utf8' });
    const bad = spawnSync(process.execPath, [join(ROOT, 'bin/ecr-janitor-cli.mjs'), 'plan', '--no-such-option'], { cwd: ROOT, encoding: 'utf8' });

    // Assess
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: ecr-janitor run \[options\]/);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/--no-such-option/);
  });
});
