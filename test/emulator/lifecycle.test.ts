// Lifecycle policies in the emulator: the policy API through the SDK, the preview, and ECR's daily run driven by the
// clock and the control routes, decided by the emulator's own engine (emulator/lifecycle-engine.ts).
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  ImageNotFoundException,
  ImageStorageClassUpdateNotSupportedException,
  UpdateImageStorageClassCommand,
  DeleteLifecyclePolicyCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  InvalidParameterException,
  LifecyclePolicyNotFoundException,
  LifecyclePolicyPreviewNotFoundException,
  ListImageReferrersCommand,
  ListImagesCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import type { LifecycleRunResult } from '../../emulator/lifecycle.js';
import type { EmulatorHandle } from '../../emulator/server.js';
import { caught, useEmulator } from '../support/emulator-fixture.js';
import { IN_TOTO, pushBuildxBuild, pushCacheManifest, pushReferrer, pushSingleImage } from '../../emulator/workload.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Protect buildcache, keep the 2 newest ci-*, expire untagged after 3 days. */
const POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'protect buildcache',
      selection: { tagStatus: 'tagged', tagPatternList: ['buildcache'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 36500 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: 'keep the 2 newest ci builds',
      selection: { tagStatus: 'tagged', tagPatternList: ['ci-*'], countType: 'imageCountMoreThan', countNumber: 2 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 3,
      description: 'untagged after 3 days',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 },
      action: { type: 'expire' },
    },
  ],
});

// Faithful: these tests read policy text back byte for byte and the preview at once (profiles play the rest).
const fixture = useEmulator({ now: T0, profile: 'faithful' });
let emulator: EmulatorHandle;
let client: ECRClient;
beforeEach(() => {
  ({ emulator, client } = fixture);
});

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${emulator.endpoint}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
  });
  return { status: response.status, json: await response.json() };
}

describe('lifecycle policy API', () => {
  it('stores, returns and deletes a policy; a missing one is LifecyclePolicyNotFoundException', async () => {
    // Prepare
    const before = await caught(client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' })));

    // Act
    const put = await client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: POLICY }));
    const got = await client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' }));
    const deleted = await client.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'app' }));
    const after = await caught(client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' })));

    // Assess
    expect(before).toBeInstanceOf(LifecyclePolicyNotFoundException);
    expect(put.lifecyclePolicyText).toBe(POLICY);
    expect(got).toMatchObject({ registryId: '000000000000', repositoryName: 'app', lifecyclePolicyText: POLICY });
    expect(deleted.lifecyclePolicyText).toBe(POLICY);
    expect(after).toBeInstanceOf(LifecyclePolicyNotFoundException);
  });

  it('rejects a policy ECR would reject with InvalidParameterException naming the problem', async () => {
    // Prepare
    const taggedWithoutList = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'tagged rule with no pattern list at all',
          selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 5 },
          action: { type: 'expire' },
        },
      ],
    });

    // Act
    const badRule = await caught(client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: taggedWithoutList })));
    const notJson = await caught(client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: '{"rules": [' })));
    const stored = await caught(client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' })));

    // Assess
    expect(badRule).toBeInstanceOf(InvalidParameterException);
    expect((badRule as Error).message).toContain('rules[0].selection');
    expect(notJson).toBeInstanceOf(InvalidParameterException);
    expect(stored).toBeInstanceOf(LifecyclePolicyNotFoundException);
  });

  it('previews what the policy expires: old untagged images and ci builds beyond the newest 2', async () => {
    // Prepare
    const ci = [];
    for (let i = 1; i <= 4; i += 1) {
      ci.push(await pushSingleImage(client, 'app', { tags: [`ci-${i}`], seed: `ci-${i}`, bytes: 1_000 }));
      emulator.advanceDays(1);
    }
    const untagged = await pushSingleImage(client, 'app', { tags: [], seed: 'loose', bytes: 1_000 });
    emulator.advanceDays(4);

    // Act
    const started = await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: POLICY }));
    const preview = await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));

    // Assess
    expect(started.status).toBe('IN_PROGRESS');
    expect(preview.status).toBe('COMPLETE');
    expect(preview.previewResults).toEqual([
      { imageTags: ['ci-1'], imageDigest: ci[0]!.digest, imagePushedAt: new Date(T0), action: { type: 'EXPIRE' }, appliedRulePriority: 2, storageClass: 'STANDARD' },
      { imageTags: ['ci-2'], imageDigest: ci[1]!.digest, imagePushedAt: new Date(T0 + DAY), action: { type: 'EXPIRE' }, appliedRulePriority: 2, storageClass: 'STANDARD' },
      { imageDigest: untagged.digest, imagePushedAt: new Date(T0 + 4 * DAY), action: { type: 'EXPIRE' }, appliedRulePriority: 3, storageClass: 'STANDARD' },
    ]);
    expect(preview.summary).toEqual({ expiringImageTotalCount: 3 });
    expect(await client.send(new ListImagesCommand({ repositoryName: 'app' }))).toMatchObject({ imageIds: expect.arrayContaining([{ imageDigest: untagged.digest }]) });
  });

  it('has no preview before one is started', async () => {
    // Prepare: a fresh repository

    // Act
    const error = await caught(client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' })));

    // Assess
    expect(error).toBeInstanceOf(LifecyclePolicyPreviewNotFoundException);
  });
});

describe('clock and lifecycle run', () => {
  it('sets and reads the clock through the control route, as ISO, epoch ms or days forward', async () => {
    // Prepare
    const iso = '2026-03-01T12:00:00.000Z';

    // Act
    const setIso = await control('POST', '/_emulator/clock', { now: iso });
    const forward = await control('POST', '/_emulator/clock', { advanceDays: 2 });
    const setMs = await control('POST', '/_emulator/clock', { now: T0 });
    const read = await control('GET', '/_emulator/clock');
    const bad = await control('POST', '/_emulator/clock', { now: 'yesterday-ish' });

    // Assess
    expect(setIso.json).toEqual({ now: Date.parse(iso), iso });
    expect(forward.json).toEqual({ now: Date.parse(iso) + 2 * DAY, iso: '2026-03-03T12:00:00.000Z' });
    expect(setMs.json).toEqual({ now: T0, iso: new Date(T0).toISOString() });
    expect(read.json).toEqual(setMs.json);
    expect(bad.status).toBe(400);
    expect(emulator.now()).toBe(T0);
  });

  it('expires superseded cache manifests and orphaned build leftovers once old enough, never the children of a live index', async () => {
    // Prepare
    const live = await pushBuildxBuild(client, 'app', { tags: ['v1'], seed: 'v1', layerBytes: 10_000 });
    const dropped = await pushBuildxBuild(client, 'app', { tags: ['v2'], seed: 'v2', layerBytes: 10_000 });
    const oldCache = await pushCacheManifest(client, 'app', { tag: 'buildcache', seed: 'cache-1', bytes: 50_000 });
    const currentCache = await pushCacheManifest(client, 'app', { tag: 'buildcache', seed: 'cache-2', bytes: 50_000 });
    await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v2' }] })); // its last tag: the index goes
    await client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: POLICY }));

    // Act
    const tooSoon = await control('POST', '/_emulator/lifecycle/run');
    await control('POST', '/_emulator/clock', { advanceDays: 4 });
    const run = await control('POST', '/_emulator/lifecycle/run');
    const policy = await client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' }));

    // Assess
    expect(tooSoon.json).toEqual({ expired: [], referrersRemoved: [], transitioned: [], referrersArchived: [], refused: [] });
    const result = run.json as LifecycleRunResult;
    expect(result.expired.map((e) => e.digest).sort()).toEqual([...dropped.childDigests, ...dropped.attestationDigests, oldCache.digest].sort());
    expect(result.expired.every((e) => e.repository === 'app' && e.rulePriority === 3 && e.tags.length === 0)).toBe(true);
    expect(result.expired.find((e) => e.digest === oldCache.digest)?.bytes).toBe(oldCache.bytes);
    const repo = emulator.model.repository('app');
    for (const digest of [live.indexDigest, ...live.childDigests, ...live.attestationDigests, currentCache.digest]) expect(repo.image(digest)).toBeDefined();
    expect(policy.lastEvaluatedAt).toEqual(new Date(T0 + 4 * DAY));
  });

  it('removes OCI referrers whose subject is gone, even in a repository without a policy', async () => {
    // Prepare
    const kept = await pushSingleImage(client, 'app', { tags: ['kept'], seed: 'kept', bytes: 1_000 });
    const gone = await pushSingleImage(client, 'app', { tags: ['gone'], seed: 'gone', bytes: 1_000 });
    const subjectOf = (m: { digest: string; text: string }) => ({
      subjectDigest: m.digest,
      subjectMediaType: 'application/vnd.oci.image.manifest.v1+json',
      subjectSize: Buffer.byteLength(m.text),
    });
    const keptSbom = await pushReferrer(client, 'app', { ...subjectOf(kept), artifactType: IN_TOTO, seed: 'sbom-kept' });
    const goneSbom = await pushReferrer(client, 'app', { ...subjectOf(gone), artifactType: IN_TOTO, seed: 'sbom-gone' });
    await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'gone' }] }));

    // Act
    const result = emulator.runLifecycle();

    // Assess
    expect(result).toMatchObject({ expired: [], transitioned: [], refused: [], referrersRemoved: [{ repository: 'app', digest: goneSbom.digest, subjectDigest: gone.digest }] });
    expect(emulator.model.repository('app').image(keptSbom.digest)).toBeDefined();
    expect(emulator.model.repository('app').image(goneSbom.digest)).toBeUndefined();
  });

  it('expires an index by a count rule but leaves its children for a later run, as ECR does', async () => {
    // Prepare
    const builds = [];
    for (let i = 1; i <= 3; i += 1) {
      builds.push(await pushBuildxBuild(client, 'app', { tags: [`ci-${i}`], seed: `ci-${i}`, attestations: false, layerBytes: 1_000 }));
      emulator.advanceDays(1);
    }
    await client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: POLICY }));

    // Act
    const first = emulator.runLifecycle();
    emulator.advanceDays(1);
    const second = emulator.runLifecycle();

    // Assess
    expect(first.expired.map((e) => e.digest)).toEqual([builds[0]!.indexDigest]);
    expect(first.expired[0]!.bytes).toBeGreaterThan(0);
    expect(second.expired.map((e) => e.digest).sort()).toEqual([...builds[0]!.childDigests].sort());
    expect(emulator.model.repository('app').image(builds[1]!.indexDigest)?.manifestMediaType).toBe(OCI_INDEX);
  });
});

// UpdateImageStorageClass (API reference): ARCHIVE | STANDARD; ImageStorageClassUpdateNotSupportedException for what
// cannot move ("cannot be expired or archived without the manifest list being deleted or archived first", user guide).
describe('UpdateImageStorageClass', () => {
  it('archives an image (BatchGetImage then fails), refuses an index child and a restore of an active image', async () => {
    // Prepare
    const single = await pushSingleImage(client, 'app', { tags: ['solo'], seed: 'solo', bytes: 1_000 });
    const build = await pushBuildxBuild(client, 'app', { tags: ['multi'], seed: 'multi', attestations: false, layerBytes: 1_000 });

    // Act
    const archived = await client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageTag: 'solo' }, targetStorageClass: 'ARCHIVE' }));
    const pull = await client.send(new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'solo' }] }));
    const child = await caught(client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageDigest: build.childDigests[0]! }, targetStorageClass: 'ARCHIVE' })));
    const restoreActive = await caught(client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageTag: 'multi' }, targetStorageClass: 'STANDARD' })));
    const missing = await caught(client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageTag: 'nope' }, targetStorageClass: 'ARCHIVE' })));

    // Assess
    expect(archived).toMatchObject({ imageId: { imageDigest: single.digest, imageTag: 'solo' }, imageStatus: 'ARCHIVED' });
    expect(pull.images).toEqual([]);
    expect(pull.failures).toEqual([expect.objectContaining({ failureCode: 'ImageNotFound' })]);
    expect(child).toBeInstanceOf(ImageStorageClassUpdateNotSupportedException);
    expect(restoreActive).toBeInstanceOf(ImageStorageClassUpdateNotSupportedException);
    expect(missing).toBeInstanceOf(ImageNotFoundException);
  });
});

describe('referrers of an archived subject', () => {
  it('are archived by the next lifecycle run and listed by ListImageReferrers only with filter.artifactStatus ARCHIVED or ANY', async () => {
    // Prepare: user guide, "Lifecycle policy evaluation rules": referrers are archived "within 24 hours of the ... archival
    // of the subject image"; API reference, ListImageReferrers: "If not specified, only artifacts with ACTIVE status".
    const subject = await pushSingleImage(client, 'app', { tags: ['v1'], seed: 'subject', bytes: 1_000 });
    const sbom = await pushReferrer(client, 'app', { subjectDigest: subject.digest, subjectMediaType: 'application/vnd.oci.image.manifest.v1+json', subjectSize: Buffer.byteLength(subject.text), artifactType: IN_TOTO, seed: 'sbom' });
    await client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageTag: 'v1' }, targetStorageClass: 'ARCHIVE' }));

    // Act
    const run = emulator.runLifecycle();
    const byDefault = await client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: subject.digest } }));
    const any = await client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: subject.digest }, filter: { artifactStatus: 'ANY' } }));

    // Assess
    expect(run.referrersArchived).toEqual([{ repository: 'app', digest: sbom.digest, subjectDigest: subject.digest }]);
    expect(byDefault.referrers).toEqual([]);
    expect(any.referrers).toEqual([expect.objectContaining({ digest: sbom.digest, artifactStatus: 'ARCHIVED' })]);
  });
});
