// `ecr-janitor plan|run` in-process against the emulator, configured as a user would: AWS_ENDPOINT_URL_ECR, region
// and credentials from the environment, a --config file. plan --json prints the documented shape and changes nothing;
// a bad config exits 2 before touching anything; a failed repository exits 1 after the others finished.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { pushBuildxBuild, pushCacheManifest, pushSingleImage } from '../../emulator/workload.js';
import { runCli as cli, useEmulatorCliEnvironment } from '../support/cli-harness.js';
import { callsBetween, DAY, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app', 'web'] });

beforeEach(() => {
  // The CLI plans at the wall clock: the registry's history ends now.
  world.emulator.setClock(Date.now() - 10 * DAY);
});
useEmulatorCliEnvironment(world, 'warn');

async function configFile(name: string, config: unknown): Promise<string> {
  const path = join(world.stateDir, name);
  await writeFile(path, JSON.stringify(config), 'utf8');
  return path;
}

async function snapshot() {
  return {
    app: [...(await world.imagesOf('app'))].sort(),
    web: [...(await world.imagesOf('web'))].sort(),
    policies: [await world.policyOf('app'), await world.policyOf('web')],
  };
}

const WRITES = ['PutImage', 'PutLifecyclePolicy', 'BatchDeleteImage', 'DeleteLifecyclePolicy'];

describe('ecr-janitor plan --json', () => {
  it('prints every image with its decision and reason, the policy, the protection tags and totals, and changes nothing', async () => {
    // Prepare
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    const old = await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: 'old', layerBytes: SMALL });
    const current = await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: 'current', layerBytes: SMALL });
    const cache = await pushCacheManifest(world.client, 'web', { tag: 'buildcache', seed: 'cache', bytes: SMALL });
    world.emulator.setClock(Date.now());
    const config = await configFile('janitor.json', {
      pins: { ecs: false, lambda: false, digests: [{ repository: 'app', digest: pinned.digest }] },
      maxExpireShare: 1,
    });
    const stateDir = join(world.stateDir, 'cli-state');
    const before = await snapshot();
    const statsBefore = world.emulator.stats();

    // Act
    const { code, stdout } = await cli(['plan', '--json', '--config', config, '--state-dir', stateDir]);

    // Assess
    expect(code).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan.repositories.map((r: { name: string }) => r.name)).toEqual(['app', 'web']);
    for (const repository of plan.repositories) {
      for (const image of repository.images) {
        expect(Object.keys(image).sort()).toEqual(expect.arrayContaining(['bytes', 'decision', 'digest', 'reason', 'tags']));
        expect(image).toMatchObject({ digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), tags: expect.any(Array), bytes: expect.any(Number), reason: expect.any(String) });
        expect(['keep', 'protect', 'expire', 'pending']).toContain(image.decision);
      }
      expect(repository.policy).toMatchObject({ action: 'install', text: expect.stringContaining('"rules"') });
      expect(repository.protectTags).toEqual({ add: expect.any(Array), remove: [] });
      expect(repository.totals).toMatchObject({ images: repository.images.length, keep: expect.any(Object), protect: expect.any(Object), expire: expect.any(Object), pending: expect.any(Object) });
    }
    const [app, web] = plan.repositories;
    const decisionOf = (digest: string) => app.images.find((i: { digest: string }) => i.digest === digest);
    expect(app.images).toHaveLength(11);
    expect(decisionOf(old.indexDigest)).toMatchObject({ tags: [], decision: 'expire', rule: 4 });
    expect(decisionOf(current.indexDigest)).toMatchObject({ tags: ['main'], decision: 'keep' });
    expect(decisionOf(pinned.digest)).toMatchObject({ decision: 'protect', reason: 'pinned by config' });
    expect(app.protectTags.add).toEqual([{ digest: pinned.digest, tag: protectionTagFor(pinned.digest), reason: 'pinned by config' }]);
    expect(web.images).toEqual([{ digest: cache.digest, tags: ['buildcache'], bytes: SMALL, decision: 'protect', reason: 'tag buildcache matches protected pattern buildcache' }]);
    expect(plan.totals).toMatchObject({ repositories: 2, failed: 0, blocked: 0 });
    // Read-only: no write reached the registry, no state was saved.
    expect(Object.keys(callsBetween(statsBefore, world.emulator.stats())).filter((op) => WRITES.includes(op))).toEqual([]);
    expect(await snapshot()).toEqual(before);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('exits 2 on a config with an unknown key, naming it, before any call to the registry', async () => {
    // Prepare
    await pushSingleImage(world.client, 'app', { tags: [], seed: 'stray', bytes: SMALL });
    world.emulator.setClock(Date.now());
    const config = await configFile('typo.json', { untaggedExpireDay: 1, pins: { ecs: false, lambda: false } });
    const stateDir = join(world.stateDir, 'cli-state');
    const before = await snapshot();
    const statsBefore = world.emulator.stats();

    // Act
    const { code, stdout, stderr } = await cli(['run', '--config', config, '--state-dir', stateDir]);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/untaggedExpireDay: unknown key; did you mean "untaggedExpireDays"\?/);
    expect(world.emulator.stats()).toEqual(statsBefore);
    expect(await snapshot()).toEqual(before);
    expect(existsSync(stateDir)).toBe(false);
  });
});

describe('ecr-janitor run', () => {
  it('exits 1 when a repository fails after the others finished, and 0 once a re-run converges', async () => {
    // Prepare: run 1 protects app's pinned v1; by run 2 the pin is gone (grace 0) and ECR refuses to drop the tag.
    const v1 = await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await pushSingleImage(world.client, 'web', { tags: ['w1'], seed: 'w1', bytes: SMALL });
    world.emulator.setClock(Date.now());
    const stateDir = join(world.stateDir, 'cli-state');
    const pinnedConfig = await configFile('pinned.json', { pinGraceDays: 0, pins: { digests: [{ repository: 'app', digest: v1.digest }] } });
    const unpinnedConfig = await configFile('unpinned.json', { pinGraceDays: 0 });
    const args = (config: string) => ['run', '--json', '--pin-sources', 'config', '--config', config, '--state-dir', stateDir];
    const first = await cli(args(pinnedConfig));
    await new Promise((resolve) => setTimeout(resolve, 5)); // the pin's last sighting is strictly in the past
    world.emulator.setFaults({ failDeletesOf: [v1.digest] });

    // Act
    const failing = await cli(args(unpinnedConfig));
    world.emulator.clearFaults();
    const converged = await cli(args(unpinnedConfig));

    // Assess
    expect(first.code).toBe(0);
    expect(failing.code).toBe(1);
    const report = JSON.parse(failing.stdout);
    expect(report.repositories.map((r: { name: string; status: string }) => [r.name, r.status])).toEqual([['app', 'failed'], ['web', 'ok']]);
    expect(report.repositories[0].actions.failures).toEqual([{ digest: v1.digest, tag: protectionTagFor(v1.digest), code: 'ImageInaccessible', message: expect.any(String) }]);
    expect(converged.code).toBe(0);
    expect(JSON.parse(converged.stdout).repositories[0].actions.tagsRemoved).toBe(1);
    expect(await world.tagsOf('app', v1.digest)).toEqual(['v1']);
    expect(await world.policyOf('web')).toContain('ecr-janitor:');
  });
});

describe('ecr-janitor run: no silent failure (issue 9, points 5, 6, 8 and 9)', () => {
  it('exits 1 when a repository is refused (maxExpireShare), logging the reason at error, and still finishes the others', async () => {
    // Prepare: app would lose 4 of its 5 images at once; web is fine.
    for (let n = 0; n < 4; n++) await pushSingleImage(world.client, 'app', { tags: [], seed: `stray-${n}`, bytes: SMALL });
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await pushSingleImage(world.client, 'web', { tags: ['w1'], seed: 'w1', bytes: SMALL });
    world.emulator.setClock(Date.now());
    const config = await configFile('share.json', { maxExpireShare: 0.5, pins: { ecs: false, lambda: false } });

    // Act
    const { code, stdout, stderr } = await cli(['run', '--json', '--config', config, '--state-dir', join(world.stateDir, 'cli-state')]);

    // Assess
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.repositories.map((r: { name: string; status: string }) => [r.name, r.status])).toEqual([['app', 'refused'], ['web', 'ok']]);
    expect(report.repositories[0].refused).toMatch(/maxExpireShare/);
    expect(report.totals).toMatchObject({ refused: 1, blocked: 0, failed: 0 });
    expect(stderr).toMatch(/"level":"error".*repository app: refused: .*maxExpireShare/);
    expect(await world.policyOf('web')).toContain('ecr-janitor:');
  });

  it('exits 1 and says so when the config manages none of the repositories', async () => {
    // Prepare
    const config = await configFile('none.json', { repositories: { include: ['nothing-*'] }, pins: { ecs: false, lambda: false } });

    // Act
    const { code, stderr } = await cli(['run', '--config', config, '--state-dir', join(world.stateDir, 'cli-state')]);

    // Assess
    expect(code).toBe(1);
    expect(stderr).toMatch(/the config manages none of the registry's repositories \(include \["nothing-\*"\], exclude \[\]\): nothing was done/);
  });

  it('exits 2 before any call to the registry when --state-dir is not writable', async () => {
    // Prepare
    await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    const config = await configFile('plain.json', { pins: { ecs: false, lambda: false } });
    const statsBefore = world.emulator.stats();

    // Act
    const { code, stderr } = await cli(['run', '--config', config, '--state-dir', '/proc/ecr-janitor-state']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/--state-dir \/proc\/ecr-janitor-state is not writable/);
    expect(world.emulator.stats()).toEqual(statsBefore);
  });

  it('handles a repository named twice with --repository once', async () => {
    // Prepare
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    const config = await configFile('plain.json', { pins: { ecs: false, lambda: false }, maxExpireShare: 1 });

    // Act
    const { code, stdout } = await cli(['plan', '--json', '--config', config, '--repository', 'app', '--repository', 'app', '--state-dir', join(world.stateDir, 'cli-state')]);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout).repositories.map((r: { name: string }) => r.name)).toEqual(['app']);
  });
});

describe('ecr-janitor help, version and logs (issue 12)', () => {
  it.each(['plan', 'run', 'event', 'emulator', 'demo'])('prints help for %s on stdout with its options, defaults and exit codes, and exits 0', async (command) => {
    // Act
    const { code, stdout, stderr } = await cli([command, '--help']);

    // Assess
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(new RegExp(`^usage: ecr-janitor ${command} `));
    expect(stdout).toMatch(/\(default: /);
    expect(stdout).toMatch(/exit codes:\n {2}0 {2}done\n {2}1 {2}.*\n {2}2 {2}bad config or arguments/);
  });

  it('documents every plan option it accepts, with its default', async () => {
    // Act
    const { stdout } = await cli(['help', 'plan']);

    // Assess
    for (const flag of ['--config FILE', '--repository NAME', '--json', '--state-dir DIR', '--pin-sources LIST', '--log-format pretty|json', '--log-level LEVEL']) {
      expect(stdout).toContain(`  ${flag}`);
    }
    expect(stdout).toMatch(/--state-dir DIR +.*\(default: \.janitor-state\)/);
  });

  it('prints the package version for --version and -V', async () => {
    // Prepare
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };

    // Act
    const long = await cli(['--version']);
    const short = await cli(['-V']);

    // Assess
    expect([long.code, long.stdout, short.stdout]).toEqual([0, `${version}\n`, `${version}\n`]);
  });

  it('exits 2 on an unknown command or option, pointing at the help', async () => {
    // Act
    const unknownCommand = await cli(['purge']);
    const unknownOption = await cli(['plan', '--colour']);

    // Assess
    expect(unknownCommand).toMatchObject({ code: 2, stdout: '' });
    expect(unknownCommand.stderr).toMatch(/unknown command "purge"/);
    expect(unknownOption).toMatchObject({ code: 2, stdout: '' });
    expect(unknownOption.stderr).toMatch(/--colour[\s\S]*run "ecr-janitor plan --help" for the options/);
  });

  it('writes results to stdout and readable log lines to stderr with --log-format pretty', async () => {
    // Prepare
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    const config = await configFile('nothing.json', { repositories: { include: ['nothing-*'] }, pins: { ecs: false, lambda: false } });

    // Act
    const pretty = await cli(['plan', '--json', '--log-format', 'pretty', '--config', config, '--state-dir', join(world.stateDir, 'cli-state')]);
    const json = await cli(['plan', '--json', '--log-format', 'json', '--config', config, '--state-dir', join(world.stateDir, 'cli-state')]);

    // Assess: the same error line, once for a person and once for a machine; the result alone on stdout.
    expect(JSON.parse(pretty.stdout)).toMatchObject({ repositories: [] });
    expect(pretty.stderr).toMatch(/^\d\d:\d\d:\d\d ERROR the config manages none of the registry's repositories .* include=\["nothing-\*"\]/m);
    expect(json.stderr).toMatch(/^\{"level":"error".*"msg":"the config manages none/m);
    expect(await cli(['plan', '--log-format', 'xml'])).toMatchObject({ code: 2 });
  });
});
