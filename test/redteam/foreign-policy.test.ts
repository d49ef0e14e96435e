// Red team: a team's own lifecycle policy (merge mode) written the ways teams write them, a policy with a key the
// janitor does not know, a hold edited by hand, and archive rules against pinned images.
import { DescribeImagesCommand, PutLifecyclePolicyCommand, UpdateImageStorageClassCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app'] });

const NEVER = { countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3650 };
const putPolicy = (rules: unknown[]) => world.client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: JSON.stringify({ rules }) }));

describe('a team policy in merge mode', () => {
  it('keeps a release that also carries an old ci tag, with rules in odd priority order, a prefix list and an any rule', async () => {
    // Prepare: priorities 30 / 7 / 90, "release" as a prefix, the any rule keeping the 200 newest of everything.
    await putPolicy([
      { rulePriority: 30, description: 'team: 2 newest nightly', selection: { tagStatus: 'tagged', tagPrefixList: ['nightly'], countType: 'imageCountMoreThan', countNumber: 2 }, action: { type: 'expire' } },
      { rulePriority: 7, description: 'team: never expire releases', selection: { tagStatus: 'tagged', tagPrefixList: ['release'], ...NEVER }, action: { type: 'expire' } },
      { rulePriority: 90, description: 'team: 200 newest', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 200 }, action: { type: 'expire' } },
    ]);
    const release = await pushSingleImage(world.client, 'app', { tags: ['ci-1', 'release-1.0'], seed: 'release', bytes: SMALL });
    for (let i = 2; i <= 4; i++) await pushSingleImage(world.client, 'app', { tags: [`ci-${i}`], seed: `ci-${i}`, bytes: SMALL });
    const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }] });

    // Act
    const report = await world.run(config);
    const lifecycle = world.nextNight();

    // Assess: either merged with the release shielded, or refused; never the release lost.
    expect(['ok', 'refused']).toContain(repositoryReport(report, 'app').status);
    expect(lifecycle.expired.map((e) => e.digest)).not.toContain(release.digest);
    expect(await world.resolvable('app', [release.digest])).toEqual(new Set([release.digest]));
  });

  it('does not silently stop cleaning when the installed policy has a key the janitor does not know', async () => {
    // Prepare: a key from a future ECR (or a typo ECR accepted): the janitor cannot read the policy.
    await putPolicy([
      { rulePriority: 1, description: 'team: untagged', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } },
    ]);
    const policy = JSON.parse((await world.policyOf('app'))!) as { rules: Record<string, unknown>[] };
    policy.rules[0]!.selection = { ...(policy.rules[0]!.selection as object), tagPatternLists: ['x'] };
    world.emulator.setProfile('faithful');
    const withUnknownKey = JSON.stringify(policy);
    await pushSingleImage(world.client, 'app', { tags: ['ci-1'], seed: 'ci-1', bytes: SMALL });
    const config = janitorConfig();
    const readPolicy = world.newRegistry();
    readPolicy.getLifecyclePolicy = async () => withUnknownKey;

    // Act
    const { runJanitor } = await import('../../lambda/app/run-janitor.js');
    const report = await runJanitor({ registry: readPolicy, pinSources: [world.ecs], stateStore: world.stateStore, clock: world.clock, log: world.log }, { config, mode: 'run' });

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app.status).not.toBe('ok');
    expect(world.logs.some((l) => l.level === 'error' && /not one we can read/.test(JSON.stringify(l)))).toBe(true);
  });
});

describe('a hold edited by hand', () => {
  it("keeps the team's carried rules when someone adds a rule of their own to the hold", async () => {
    // Prepare: the team's "never expire v*" is merged, then carried in a hold (the pin's tag could not go in).
    await putPolicy([{ rulePriority: 1, description: 'team: never expire releases', selection: { tagStatus: 'tagged', tagPatternList: ['v*'], ...NEVER }, action: { type: 'expire' } }]);
    const release = await pushSingleImage(world.client, 'app', { tags: ['ci-1', 'v1.0'], seed: 'v1', bytes: SMALL });
    for (let i = 2; i <= 4; i++) await pushSingleImage(world.client, 'app', { tags: [`ci-${i}`], seed: `ci-${i}`, bytes: SMALL });
    const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }] });
    await world.run(config);
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'pinned', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
    world.emulator.setFaults({ serverErrorEveryN: 1, operations: ['PutImage'] });
    await world.run(config);
    world.emulator.clearFaults();
    const hold = JSON.parse((await world.policyOf('app'))!) as { rules: { rulePriority: number }[] };
    const last = Math.max(...hold.rules.map((r) => r.rulePriority));
    hold.rules.push({ rulePriority: last + 1, description: 'ops: drop old untagged', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: { type: 'expire' } } as never);
    await world.client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: JSON.stringify(hold) }));

    // Act
    const next = await world.run(config);
    const installed = await world.policyOf('app');
    const lifecycle = [...world.nextNight().expired, ...world.nextNight().expired];

    // Assess
    expect(repositoryReport(next, 'app').status).not.toBe('failed');
    expect(lifecycle.map((e) => e.digest)).not.toContain(release.digest);
    expect(installed, JSON.stringify(repositoryReport(next, 'app').plan?.policy)).toMatch(/team: never expire releases|on hold/);
    expect(await world.resolvable('app', [release.digest, pinned.digest])).toEqual(new Set([release.digest, pinned.digest]));
  });
});

describe('archive', () => {
  const TRANSITION_UNPULLED = {
    rulePriority: 1,
    description: 'team: archive what nobody pulled for 30 days',
    selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 },
    action: { type: 'transition', targetStorageClass: 'archive' },
  };

  it('shields a pinned image from a foreign transition rule that would archive it', async () => {
    // Prepare
    await putPolicy([TRANSITION_UNPULLED]);
    const pinned = await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    world.emulator.advanceDays(40);
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];

    // Act
    const report = await world.run(janitorConfig());
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(report, 'app').actions.tagsAdded).toBe(1);
    expect(lifecycle.transitioned ?? []).toEqual([]);
    expect(await world.resolvable('app', [pinned.digest])).toEqual(new Set([pinned.digest]));
  });

  it('keeps a pin to an already archived image through the archive expiry rule, and says so', async () => {
    // Prepare: archived 100 days ago; the team's archive rule deletes after 90 days in archive.
    await putPolicy([
      { rulePriority: 1, description: 'team: drop archived after 90 days', selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: { type: 'expire' } },
    ]);
    const pinned = await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    await world.client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageDigest: pinned.digest }, targetStorageClass: 'ARCHIVE' }));
    world.emulator.advanceDays(100);
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];

    // Act
    const report = await world.run(janitorConfig());
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(report, 'app').plan?.warnings.join(' ')).toMatch(/archived/);
    const listed = await world.client.send(new DescribeImagesCommand({ repositoryName: 'app', filter: { imageStatus: 'ANY' } }));
    expect(lifecycle.expired).toEqual([]);
    expect(listed.imageDetails?.map((d) => d.imageDigest)).toContain(pinned.digest);
    expect(repositoryReport(report, 'app').status).not.toBe('ok');
  });
});

describe('an archived index', () => {
  it('does not block the repository for good once the run state that cached its manifest is lost', async () => {
    // Prepare: a multi-arch build archived (UpdateImageStorageClass); its manifest cannot be read any more
    // ("Archived images cannot be pulled"), and no run state has it cached.
    const { pushBuildxBuild } = await import('../../emulator/workload.js');
    const old = await pushBuildxBuild(world.client, 'app', { tags: ['v0'], seed: 'old', layerBytes: SMALL });
    await world.client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageDigest: old.indexDigest }, targetStorageClass: 'ARCHIVE' }));
    world.emulator.advanceDays(1);
    await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: 'new', layerBytes: SMALL });

    // Act
    const report = await world.run(janitorConfig());

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app.status, app.blocked).not.toBe('blocked');
    expect(app.actions.policyInstalled).toBe(true);
  });
});

describe('a pin to an archived image, no rule acting on the archive', () => {
  it('still installs the policy: the protection tag it cannot put is not needed', async () => {
    // Prepare: the deployment pins an image someone archived by hand; no policy acts on the archive class.
    const pinned = await pushSingleImage(world.client, 'app', { tags: [], seed: 'archived-pin', bytes: SMALL });
    await world.client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageDigest: pinned.digest }, targetStorageClass: 'ARCHIVE' }));
    await pushSingleImage(world.client, 'app', { tags: ['ci-1'], seed: 'ci-1', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];

    // Act
    const report = await world.run(janitorConfig());
    const lifecycle = world.nextNight(5);

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app.actions.policyInstalled, JSON.stringify(app.actions)).toBe(true);
    expect(app.plan?.warnings.join(' ')).toMatch(/archived/);
    expect(lifecycle.expired.map((e) => e.digest)).not.toContain(pinned.digest);
  });
});

describe('a team "any" count rule over multi-arch builds (children counted by the pessimistic reading)', () => {
  it('installs the merged policy and keeps the newest builds whole', async () => {
    // Prepare: the team keeps the 3 newest of everything; 6 buildx builds (index + 2 platforms + attestations each).
    await putPolicy([{ rulePriority: 1, description: 'team: 3 newest', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 3 }, action: { type: 'expire' } }]);
    const { pushBuildxBuild } = await import('../../emulator/workload.js');
    const builds = [];
    for (let i = 0; i < 6; i++) {
      world.emulator.advanceDays(0.1);
      builds.push(await pushBuildxBuild(world.client, 'app', { tags: [`ci-${i}`], seed: `b${i}`, layerBytes: SMALL }));
    }
    world.ecs.references = [{ repository: 'app', digest: builds[1]!.indexDigest, source: 'ecs:prod/api' }];

    // Act
    const report = await world.run(janitorConfig());
    world.nextNight();
    world.nextNight();

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app.actions.policyInstalled, JSON.stringify(app.actions.failures)).toBe(true);
    const live = [builds[1]!, ...builds.slice(3)].flatMap((b) => [b.indexDigest, ...b.childDigests, ...b.attestationDigests]);
    expect(await world.resolvable('app', live)).toEqual(new Set(live));
  });
});
