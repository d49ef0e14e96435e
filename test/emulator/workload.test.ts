// The workload pusher: buildx-shaped builds, cache manifests, referrers and plain images pushed through the SDK, and
// what the emulator learns of them (children, attestations, subjects, sizes).
import { readFileSync } from 'node:fs';
import { BatchGetImageCommand, DescribeImagesCommand, ListImageReferrersCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../emulator/server.js';
import { useEmulator } from '../support/emulator-fixture.js';
import {
  BUILDKIT_CACHE_CONFIG,
  IN_TOTO,
  pushBuildxBuild,
  pushCacheManifest,
  pushReferrer,
  pushSingleImage,
  SIGSTORE_BUNDLE,
} from '../../emulator/workload.js';

const T0 = Date.UTC(2026, 0, 1);
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  platform: { os: string; architecture: string };
  annotations?: Record<string, string>;
}

const fixture = useEmulator({ now: T0 });
let emulator: EmulatorHandle;
let client: ECRClient;
beforeEach(() => {
  ({ emulator, client } = fixture);
});

async function manifestOf(digest: string): Promise<Record<string, unknown>> {
  const got = await client.send(new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: digest }] }));
  return JSON.parse(got.images![0]!.imageManifest!) as Record<string, unknown>;
}

describe('pushBuildxBuild', () => {
  it('pushes platform images and attestations untagged, then the index under every tag', async () => {
    // Prepare
    const options = { tags: ['v1', 'latest'], seed: 'build-1', layerBytes: 20_000 };

    // Act
    const build = await pushBuildxBuild(client, 'app', options);
    const described = await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));

    // Assess
    const byDigest = new Map(described.imageDetails!.map((d) => [d.imageDigest!, d]));
    expect(byDigest.size).toBe(5);
    expect(byDigest.get(build.indexDigest)).toMatchObject({ imageTags: ['v1', 'latest'], imageManifestMediaType: OCI_INDEX });
    for (const digest of [...build.childDigests, ...build.attestationDigests]) expect(byDigest.get(digest)?.imageTags).toBeUndefined();
    const repo = emulator.model.repository('app');
    for (const digest of [...build.childDigests, ...build.attestationDigests]) expect(repo.parents(digest)).toEqual([build.indexDigest]);
    const childSizes = [...build.childDigests, ...build.attestationDigests].map((d) => byDigest.get(d)!.imageSizeInBytes!);
    expect(byDigest.get(build.indexDigest)!.imageSizeInBytes).toBe(Math.max(...childSizes));
    expect(build.bytes).toBe([...build.childDigests, ...build.attestationDigests].reduce((sum, d) => sum + byDigest.get(d)!.imageSizeInBytes!, 0));
  });

  it('shapes the index like a real buildx index: platform entries, then attestations pointing at them', async () => {
    // Prepare
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/buildx-index-with-attestations.json', import.meta.url), 'utf8')) as { manifests: IndexEntry[] };

    // Act
    const build = await pushBuildxBuild(client, 'app', { tags: ['v1'], seed: 'shape', platforms: ['linux/amd64', 'linux/arm64'] });
    const index = (await manifestOf(build.indexDigest)) as { mediaType: string; manifests: IndexEntry[] };

    // Assess
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests.map((m) => Object.keys(m).sort())).toEqual(fixture.manifests.map((m) => Object.keys(m).sort()));
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'unknown', architecture: 'unknown' },
      { os: 'unknown', architecture: 'unknown' },
    ]);
    expect(index.manifests.slice(2).map((m) => m.annotations)).toEqual(
      build.childDigests.map((child) => ({ 'vnd.docker.reference.digest': child, 'vnd.docker.reference.type': 'attestation-manifest' })),
    );
    expect(index.manifests.map((m) => m.digest)).toEqual([...build.childDigests, ...build.attestationDigests]);
    const attestation = (await manifestOf(build.attestationDigests[0]!)) as { layers: { mediaType: string; annotations: Record<string, string> }[] };
    expect(attestation.layers.map((l) => [l.mediaType, l.annotations['in-toto.io/predicate-type']])).toEqual([
      [IN_TOTO, 'https://spdx.dev/Document'],
      [IN_TOTO, 'https://slsa.dev/provenance/v1'],
    ]);
  });

  it('is deterministic per seed: the same seed pushes the same digests again without error, another seed new ones', async () => {
    // Prepare
    const first = await pushBuildxBuild(client, 'app', { tags: ['a'], seed: 'same' });

    // Act
    const again = await pushBuildxBuild(client, 'app', { tags: ['a'], seed: 'same' });
    const other = await pushBuildxBuild(client, 'app', { tags: ['b'], seed: 'other' });

    // Assess
    expect(again).toEqual(first);
    expect(other.indexDigest).not.toBe(first.indexDigest);
    expect(other.childDigests.filter((d) => first.childDigests.includes(d))).toEqual([]);
    expect(emulator.model.repository('app').imageCount).toBe(10);
  });

  it('can push a single-platform build without attestations', async () => {
    // Prepare
    const options = { tags: ['slim'], seed: 'slim', platforms: ['linux/arm64/v8'], attestations: false };

    // Act
    const build = await pushBuildxBuild(client, 'app', options);
    const index = (await manifestOf(build.indexDigest)) as { manifests: IndexEntry[] };

    // Assess
    expect(build.attestationDigests).toEqual([]);
    expect(index.manifests.map((m) => m.platform)).toEqual([{ os: 'linux', architecture: 'arm64', variant: 'v8' }]);
  });
});

describe('other pushers', () => {
  it('pushCacheManifest moves the cache tag and leaves the superseded cache manifest untagged', async () => {
    // Prepare
    const first = await pushCacheManifest(client, 'app', { tag: 'buildcache', seed: 'c1', bytes: 80_000 });

    // Act
    const second = await pushCacheManifest(client, 'app', { tag: 'buildcache', seed: 'c2', bytes: 80_000 });
    const described = await client.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageDigest: first.digest }, { imageDigest: second.digest }] }));

    // Assess
    const byDigest = new Map(described.imageDetails!.map((d) => [d.imageDigest!, d]));
    expect(byDigest.get(first.digest)?.imageTags).toBeUndefined();
    expect(byDigest.get(second.digest)).toMatchObject({ imageTags: ['buildcache'], artifactMediaType: BUILDKIT_CACHE_CONFIG, imageSizeInBytes: 80_000 });
    expect(second.bytes).toBe(80_000);
  });

  it('pushReferrer pushes an untagged artifact with a subject that ListImageReferrers finds', async () => {
    // Prepare
    const build = await pushBuildxBuild(client, 'app', { tags: ['v1'], seed: 'signed', attestations: false });
    const indexText = JSON.stringify(await manifestOf(build.indexDigest));
    const subject = { subjectDigest: build.indexDigest, subjectMediaType: OCI_INDEX, subjectSize: Buffer.byteLength(indexText) };

    // Act
    const signature = await pushReferrer(client, 'app', { ...subject, artifactType: SIGSTORE_BUNDLE, seed: 'sig' });
    const sbom = await pushReferrer(client, 'app', { ...subject, artifactType: IN_TOTO, seed: 'sbom' });
    const referrers = await client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: build.indexDigest } }));
    const details = await client.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageDigest: signature.digest }] }));

    // Assess
    expect(referrers.referrers!.map((r) => [r.digest, r.artifactType])).toEqual([
      [signature.digest, SIGSTORE_BUNDLE],
      [sbom.digest, IN_TOTO],
    ]);
    expect(details.imageDetails![0]).toMatchObject({ subjectManifestDigest: build.indexDigest, imageManifestMediaType: OCI_MANIFEST });
    expect(details.imageDetails![0]!.imageTags).toBeUndefined();
    expect(((await manifestOf(sbom.digest)) as { subject: unknown }).subject).toEqual({ mediaType: OCI_INDEX, digest: build.indexDigest, size: subject.subjectSize });
  });

  it('pushSingleImage pushes one manifest under every tag with the requested size', async () => {
    // Prepare
    const options = { tags: ['1.0', 'stable'], seed: 'single', bytes: 123_456 };

    // Act
    const image = await pushSingleImage(client, 'app', options);
    const described = await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));

    // Assess
    expect(described.imageDetails).toHaveLength(1);
    expect(described.imageDetails![0]).toMatchObject({ imageDigest: image.digest, imageTags: ['1.0', 'stable'], imageSizeInBytes: 123_456 });
  });
});
