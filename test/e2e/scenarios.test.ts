// The planner's scenarios replayed end to end: images pushed as buildx/BuildKit push them, through the real SDK to the
// local ECR emulator; the janitor runs as the Lambda does; then ECR's lifecycle runs and we look at what is left.
// Every scenario runs under both emulator profiles (emulator/profiles.ts): pessimistic plays the worst plausible reading
// of what AWS leaves open (index children ranked and listed by the preview, digest+tag deletes the image, asynchronous
// preview, normalised policy text, pull time refreshed daily, ties ranked the other way), faithful the plain one.
import { describe, expect, it } from 'vitest';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import {
  IN_TOTO,
  NOTARY_SIGNATURE,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBuildxBuild,
  pushCacheManifest,
  pushReferrer,
  pushSingleImage,
} from '../../emulator/workload.js';
import { decisionOf, janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

describe.each(['pessimistic', 'faithful'] as const)('end to end against the ECR emulator (%s profile)', (profile) => {
  const world = useJanitorWorld({ repositories: ['app'], profile });

  it('keeps a tagged multi-arch index with its untagged children and attestations past the untagged expiry', async () => {
    // Prepare
    const build = await pushBuildxBuild(world.client, 'app', { tags: ['v1.0.0'], seed: 'release', layerBytes: SMALL });
    const stray = await pushSingleImage(world.client, 'app', { tags: [], seed: 'stray', bytes: SMALL });
    world.emulator.advanceDays(10);

    // Act
    const report = await world.run(janitorConfig());
    const lifecycle = world.nextNight();

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app).toMatchObject({ status: 'ok', actions: { policyInstalled: true, failures: [] } });
    for (const child of build.childDigests) expect(decisionOf(report, 'app', child)).toMatchObject({ decision: 'keep', reason: expect.stringMatching(/^part of kept index/) });
    for (const att of build.attestationDigests) expect(decisionOf(report, 'app', att)).toMatchObject({ decision: 'keep', kind: 'attestation' });
    expect(decisionOf(report, 'app', stray.digest).decision).toBe('expire');
    expect(lifecycle.expired.map((e) => e.digest)).toEqual([stray.digest]);
    const live = [build.indexDigest, ...build.childDigests, ...build.attestationDigests];
    expect([...(await world.imagesOf('app')).keys()].sort()).toEqual([...live].sort());
    expect(await world.resolvable('app', live)).toEqual(new Set(live));
  });

  it('reaps the old index when its tag moves to a new build, then its children the next night', async () => {
    // Prepare
    const old = await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: 'old', layerBytes: SMALL });
    world.emulator.advanceDays(5);
    const current = await pushBuildxBuild(world.client, 'app', { tags: ['main'], seed: 'current', layerBytes: SMALL });
    world.emulator.advanceDays(5);
    const oldChildren = [...old.childDigests, ...old.attestationDigests];

    // Act
    const night1 = await world.run(janitorConfig());
    const lifecycle1 = world.nextNight();
    const night2 = await world.run(janitorConfig());
    const lifecycle2 = world.nextNight();

    // Assess
    expect(decisionOf(night1, 'app', old.indexDigest)).toMatchObject({ decision: 'expire', rule: 4 });
    for (const child of oldChildren) expect(decisionOf(night1, 'app', child)).toMatchObject({ decision: 'pending', reason: expect.stringMatching(/which expires now/) });
    expect(lifecycle1.expired.map((e) => e.digest)).toEqual([old.indexDigest]);
    for (const child of oldChildren) expect(decisionOf(night2, 'app', child).decision).toBe('expire');
    expect(repositoryReport(night2, 'app').reaped.images).toBe(1);
    expect(new Set(lifecycle2.expired.map((e) => e.digest))).toEqual(new Set(oldChildren));
    const live = [current.indexDigest, ...current.childDigests, ...current.attestationDigests];
    expect(new Set((await world.imagesOf('app')).keys())).toEqual(new Set(live));
    expect(await world.resolvable('app', live)).toEqual(new Set(live));
    expect(await world.tagsOf('app', current.indexDigest)).toEqual(['main']);
  });

  it('keeps only the current :buildcache of 10 superseded cache manifests', async () => {
    // Prepare
    const caches = [];
    for (let day = 0; day < 11; day++) {
      caches.push(await pushCacheManifest(world.client, 'app', { tag: 'buildcache', seed: `cache-${day}`, bytes: SMALL }));
      world.emulator.advanceDays(1);
    }
    world.emulator.advanceDays(3);
    const current = caches.at(-1)!;

    // Act
    const report = await world.run(janitorConfig());
    const lifecycle = world.nextNight();

    // Assess
    expect(decisionOf(report, 'app', current.digest)).toMatchObject({ decision: 'protect', kind: 'cache', reason: 'tag buildcache matches protected pattern buildcache' });
    for (const superseded of caches.slice(0, -1)) expect(decisionOf(report, 'app', superseded.digest)).toMatchObject({ decision: 'expire', kind: 'cache' });
    expect(lifecycle.expired).toHaveLength(10);
    expect([...(await world.imagesOf('app'))]).toEqual([[current.digest, ['buildcache']]]);
    expect(await world.unresolvable('app')).toEqual([]);
  });

  it('does not let 100 PR images push a protected or a pinned image out', async () => {
    // Prepare
    const pinned = await pushSingleImage(world.client, 'app', { tags: ['pr-1'], seed: 'pr-1', bytes: SMALL });
    const released = await pushSingleImage(world.client, 'app', { tags: ['pr-2', 'release-2026.01'], seed: 'pr-2', bytes: SMALL });
    world.emulator.advanceDays(1);
    for (let n = 0; n < 100; n++) await pushSingleImage(world.client, 'app', { tags: [`pr-${100 + n}`], seed: `pr-${100 + n}`, bytes: SMALL });
    world.emulator.advanceDays(1);
    world.ecs.references = [{ repository: 'app', digest: pinned.digest, source: 'ecs:prod/api' }];
    const config = janitorConfig({ ciTags: [{ pattern: 'pr-*', keep: 20 }], protectedTags: ['release-*'] });

    // Act
    const report = await world.run(config);
    const lifecycle = world.nextNight();

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app.plan!.protectTags.add).toEqual([{ digest: pinned.digest, tag: protectionTagFor(pinned.digest), reason: 'pinned by ecs:prod/api' }]);
    expect(app.actions).toMatchObject({ tagsAdded: 1, policyInstalled: true, failures: [] });
    expect(decisionOf(report, 'app', released.digest)).toMatchObject({ decision: 'protect', reason: expect.stringMatching(/release-\*/) });
    expect(app.plan!.totals.expire.images).toBe(80);
    expect(lifecycle.expired).toHaveLength(80);
    const left = await world.imagesOf('app');
    expect(left.size).toBe(22);
    expect(left.get(pinned.digest)).toEqual([protectionTagFor(pinned.digest), 'pr-1'].sort());
    expect(left.get(released.digest)).toEqual(['pr-2', 'release-2026.01']);
    expect(await world.unresolvable('app')).toEqual([]);
  });

  it('with keep 20 of 26 images expires exactly the 4 oldest rankable, not ranking index children', async () => {
    // Prepare: 23 single images and one index (one platform and its attestation) pushed 10th: 26 images, 24 rankable.
    const singles: string[] = [];
    let build: Awaited<ReturnType<typeof pushBuildxBuild>> | undefined;
    for (let n = 0; n < 24; n++) {
      if (n === 9) build = await pushBuildxBuild(world.client, 'app', { tags: [`ci-${n}`], seed: `ci-${n}`, platforms: ['linux/amd64'], layerBytes: SMALL });
      else singles.push((await pushSingleImage(world.client, 'app', { tags: [`ci-${n}`], seed: `ci-${n}`, bytes: SMALL })).digest);
      world.emulator.advanceDays(1);
    }
    world.emulator.advanceDays(6);

    // Act
    const report = await world.run(janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 20 }] }));
    const lifecycle = world.nextNight();

    // Assess
    expect(repositoryReport(report, 'app').plan!.images).toHaveLength(26);
    expect(new Set(lifecycle.expired.map((e) => e.digest))).toEqual(new Set(singles.slice(0, 4)));
    const left = await world.imagesOf('app');
    expect(left.size).toBe(22);
    for (const digest of [build!.indexDigest, ...build!.childDigests, ...build!.attestationDigests]) expect(left.has(digest)).toBe(true);
    expect(await world.unresolvable('app')).toEqual([]);
  });

  it('removes a lapsed protection tag and nothing else: the image and its own tag stay', async () => {
    // Prepare: night 1 protects a pinned image; then the pin goes and its 1-day grace passes. Under the pessimistic
    // reading an id with digest and tag deletes the whole image (moto), so only an id with the tag alone is safe.
    const image = await pushSingleImage(world.client, 'app', { tags: ['release-1'], seed: 'release-1', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: image.digest, source: 'ecs:prod/api' }];
    const config = janitorConfig({ pinGraceDays: 1, protectedTags: ['release-*'] });
    await world.run(config);
    world.ecs.references = [];
    world.nextNight(3);

    // Act
    const report = await world.run(config);

    // Assess
    expect(repositoryReport(report, 'app').actions).toMatchObject({ tagsRemoved: 1, failures: [] });
    expect(await world.tagsOf('app', image.digest)).toEqual(['release-1']);
    expect(await world.resolvable('app', [image.digest])).toEqual(new Set([image.digest]));
  });

  it('keeps the OCI referrer of a live image and lets the referrer of a reaped image go with it', async () => {
    // Prepare
    const release = await pushBuildxBuild(world.client, 'app', { tags: ['v2'], seed: 'v2', layerBytes: SMALL });
    const signature = await pushReferrer(world.client, 'app', {
      subjectDigest: release.indexDigest,
      subjectMediaType: OCI_INDEX,
      subjectSize: 1_024,
      artifactType: NOTARY_SIGNATURE,
      seed: 'sig',
    });
    const orphanSubject = await pushSingleImage(world.client, 'app', { tags: [], seed: 'orphan', bytes: SMALL });
    const orphanSbom = await pushReferrer(world.client, 'app', {
      subjectDigest: orphanSubject.digest,
      subjectMediaType: OCI_MANIFEST,
      subjectSize: Buffer.byteLength(orphanSubject.text),
      artifactType: IN_TOTO,
      seed: 'sbom',
    });
    world.emulator.advanceDays(10);

    // Act
    const report = await world.run(janitorConfig());
    const lifecycle = world.nextNight();

    // Assess
    expect(decisionOf(report, 'app', signature.digest)).toMatchObject({ decision: 'protect', reason: `OCI referrer of kept image ${release.indexDigest}` });
    expect(decisionOf(report, 'app', orphanSbom.digest)).toMatchObject({ decision: 'pending', reason: expect.stringMatching(/follows its subject/) });
    expect(lifecycle.expired.map((e) => e.digest)).toEqual([orphanSubject.digest]);
    expect(lifecycle.referrersRemoved).toEqual([{ repository: 'app', digest: orphanSbom.digest, subjectDigest: orphanSubject.digest }]);
    const left = await world.imagesOf('app');
    expect(left.get(signature.digest)).toEqual([protectionTagFor(signature.digest)]);
    expect(left.has(orphanSbom.digest)).toBe(false);
    const live = [release.indexDigest, ...release.childDigests, ...release.attestationDigests, signature.digest];
    expect(new Set(left.keys())).toEqual(new Set(live));
    expect(await world.resolvable('app', live)).toEqual(new Set(live));
  });
});
