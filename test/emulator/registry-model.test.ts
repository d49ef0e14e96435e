// The registry model on its own: ECR's rules for pushes, tags and deletions, without HTTP.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EcrApiError, RegistryModel, RESTORE_DURATION_MS, type RepositoryStore } from '../../emulator/registry-model.js';
import { imageManifest } from '../../emulator/workload.js';

const T0 = Date.UTC(2026, 0, 1);
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function indexOf(...children: { digest: string; text: string }[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: c.text.length })),
  });
}

function repository(): { model: RegistryModel; repo: RepositoryStore } {
  const model = new RegistryModel({ now: T0 });
  return { model, repo: model.createRepository('app') };
}

function thrownCode(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof EcrApiError ? error.code : `not an EcrApiError: ${String(error)}`;
  }
  return undefined;
}

describe('registry model: pushes', () => {
  it('names an image by the sha256 of its manifest text and stamps it with the clock', () => {
    // Prepare
    const { model, repo } = repository();
    const manifest = imageManifest('one', 1000);
    model.setClock(T0 + 5_000);

    // Act
    const image = repo.putImage({ manifest: manifest.text, tag: 'v1' });

    // Assess
    expect(image.digest).toBe(sha256(manifest.text));
    expect(image.pushedAt).toBe(T0 + 5_000);
    expect(repo.imageByTag('v1')?.digest).toBe(image.digest);
    expect(repo.sizeInBytes(image)).toBe(manifest.bytes);
  });

  it('moves a tag to the newly pushed image and leaves the old image untagged', () => {
    // Prepare
    const { repo } = repository();
    const first = repo.putImage({ manifest: imageManifest('a', 10).text, tag: 'latest' });

    // Act
    const second = repo.putImage({ manifest: imageManifest('b', 10).text, tag: 'latest' });

    // Assess
    expect(repo.imageByTag('latest')?.digest).toBe(second.digest);
    expect(repo.image(first.digest)?.tags).toEqual([]);
    expect(second.tags).toEqual(['latest']);
  });

  it('refuses the same manifest with a tag it already has, and adds a new tag to an existing image', () => {
    // Prepare
    const { repo } = repository();
    const text = imageManifest('a', 10).text;
    const image = repo.putImage({ manifest: text, tag: 'v1' });

    // Act
    const sameAgain = thrownCode(() => repo.putImage({ manifest: text, tag: 'v1' }));
    const untaggedAgain = thrownCode(() => repo.putImage({ manifest: text }));
    repo.putImage({ manifest: text, tag: 'keep-me' });

    // Assess
    expect(sameAgain).toBe('ImageAlreadyExistsException');
    expect(untaggedAgain).toBe('ImageAlreadyExistsException');
    expect(repo.image(image.digest)?.tags).toEqual(['v1', 'keep-me']);
    expect(repo.image(image.digest)?.pushedAt).toBe(image.pushedAt);
  });

  it('refuses an index whose listed manifests are not all in the repository', () => {
    // Prepare
    const { repo } = repository();
    const present = imageManifest('present', 10);
    const absent = imageManifest('absent', 10);
    repo.putImage({ manifest: present.text });

    // Act
    const code = thrownCode(() => repo.putImage({ manifest: indexOf(present, absent), tag: 'v1' }));

    // Assess
    expect(code).toBe('ReferencedImagesNotFoundException');
    expect(repo.imageCount).toBe(1);
  });

  it('reports the largest present child as the size of an index', () => {
    // Prepare
    const { repo } = repository();
    const small = imageManifest('small', 1_000);
    const large = imageManifest('large', 9_000);
    repo.putImage({ manifest: small.text });
    repo.putImage({ manifest: large.text });

    // Act
    const index = repo.putImage({ manifest: indexOf(small, large), tag: 'v1' });

    // Assess
    expect(repo.sizeInBytes(index)).toBe(large.bytes);
    expect(repo.parents(small.digest)).toEqual([index.digest]);
  });

  it('checks a declared digest and a declared media type against the manifest', () => {
    // Prepare
    const { repo } = repository();
    const text = imageManifest('a', 10).text;

    // Act
    const wrongDigest = thrownCode(() => repo.putImage({ manifest: text, digest: sha256('other') }));
    const wrongType = thrownCode(() => repo.putImage({ manifest: text, mediaType: OCI_INDEX }));
    const notJson = thrownCode(() => repo.putImage({ manifest: '{oops' }));

    // Assess
    expect(wrongDigest).toBe('ImageDigestDoesNotMatchException');
    expect(wrongType).toBe('InvalidParameterException');
    expect(notJson).toBe('InvalidParameterException');
  });

  it('keeps tags immutable in an IMMUTABLE repository', () => {
    // Prepare
    const model = new RegistryModel({ now: T0 });
    const repo = model.createRepository('frozen', { imageTagMutability: 'IMMUTABLE' });
    repo.putImage({ manifest: imageManifest('a', 10).text, tag: 'v1' });

    // Act
    const code = thrownCode(() => repo.putImage({ manifest: imageManifest('b', 10).text, tag: 'v1' }));

    // Assess
    expect(code).toBe('ImageTagAlreadyExistsException');
    expect(repo.imageCount).toBe(1);
  });
});

describe('registry model: BatchDeleteImage semantics', () => {
  it('by tag removes only the tag while the image has others, and the image with its last tag', () => {
    // Prepare
    const { repo } = repository();
    const text = imageManifest('a', 10).text;
    const image = repo.putImage({ manifest: text, tag: 'v1' });
    repo.putImage({ manifest: text, tag: 'latest' });

    // Act
    const first = repo.deleteImages([{ imageTag: 'v1' }]);
    const afterFirst = repo.image(image.digest)?.tags;
    const second = repo.deleteImages([{ imageTag: 'latest' }]);

    // Assess
    expect(first.deleted).toEqual([{ imageDigest: image.digest, imageTag: 'v1' }]);
    expect(afterFirst).toEqual(['latest']);
    expect(second.deleted).toEqual([{ imageDigest: image.digest, imageTag: 'latest' }]);
    expect(repo.image(image.digest)).toBeUndefined();
    expect(repo.imageByTag('latest')).toBeUndefined();
  });

  it('by digest removes the image with all its tags', () => {
    // Prepare
    const { repo } = repository();
    const text = imageManifest('a', 10).text;
    const image = repo.putImage({ manifest: text, tag: 'v1' });
    repo.putImage({ manifest: text, tag: 'latest' });

    // Act
    const result = repo.deleteImages([{ imageDigest: image.digest }]);

    // Assess
    expect(result.failures).toEqual([]);
    expect(result.deleted).toEqual([
      { imageDigest: image.digest, imageTag: 'v1' },
      { imageDigest: image.digest, imageTag: 'latest' },
    ]);
    expect(repo.imageCount).toBe(0);
    expect(repo.imageByTag('v1')).toBeUndefined();
  });

  it('reports each bad id in failures[] with ECR failure codes and carries on with the rest', () => {
    // Prepare
    const { repo } = repository();
    const a = repo.putImage({ manifest: imageManifest('a', 10).text, tag: 'a' });
    const b = repo.putImage({ manifest: imageManifest('b', 10).text, tag: 'b' });

    // Act
    const result = repo.deleteImages([
      {},
      { imageDigest: 'sha256:nothex' },
      { imageDigest: sha256('nobody') },
      { imageDigest: a.digest, imageTag: 'b' },
      { imageDigest: b.digest, imageTag: 'b' },
    ]);

    // Assess
    expect(result.failures.map((f) => f.failureCode)).toEqual(['MissingDigestAndTag', 'InvalidImageDigest', 'ImageNotFound', 'ImageTagDoesNotMatchDigest']);
    expect(result.deleted).toEqual([{ imageDigest: b.digest, imageTag: 'b' }]);
    expect(repo.image(a.digest)?.tags).toEqual(['a']);
  });

  it('refuses to delete a child of a present index, and allows it once the index is gone', () => {
    // Prepare
    const { repo } = repository();
    const child = imageManifest('child', 10);
    repo.putImage({ manifest: child.text });
    const index = repo.putImage({ manifest: indexOf(child), tag: 'v1' });

    // Act
    const whileListed = repo.deleteImages([{ imageDigest: child.digest }]);
    const indexGone = repo.deleteImages([{ imageTag: 'v1' }]);
    const afterwards = repo.deleteImages([{ imageDigest: child.digest }]);

    // Assess
    expect(whileListed.deleted).toEqual([]);
    expect(whileListed.failures).toEqual([
      expect.objectContaining({ imageId: { imageDigest: child.digest }, failureCode: 'ImageReferencedByManifestList' }),
    ]);
    expect(indexGone.deleted).toEqual([{ imageDigest: index.digest, imageTag: 'v1' }]);
    expect(afterwards.deleted).toEqual([{ imageDigest: child.digest }]);
    expect(repo.imageCount).toBe(0);
  });

  it('keeps the last tag of a listed child when deleting that tag is refused', () => {
    // Prepare
    const { repo } = repository();
    const child = imageManifest('child', 10);
    repo.putImage({ manifest: child.text, tag: 'amd64' });
    repo.putImage({ manifest: indexOf(child), tag: 'v1' });

    // Act
    const result = repo.deleteImages([{ imageTag: 'amd64' }]);

    // Assess
    expect(result.failures.map((f) => f.failureCode)).toEqual(['ImageReferencedByManifestList']);
    expect(repo.imageByTag('amd64')?.digest).toBe(child.digest);
  });

  it('fails the digests it is told to refuse with ImageInaccessible', () => {
    // Prepare
    const { repo } = repository();
    const image = repo.putImage({ manifest: imageManifest('a', 10).text, tag: 'v1' });

    // Act
    const result = repo.deleteImages([{ imageTag: 'v1' }], new Set([image.digest]));

    // Assess
    expect(result.failures.map((f) => f.failureCode)).toEqual(['ImageInaccessible']);
    expect(repo.image(image.digest)).toBeDefined();
  });
});

describe('registry model: pages and indexes', () => {
  it('pages every image exactly once, in push order, even when images are deleted between pages', () => {
    // Prepare
    const { repo } = repository();
    const digests = Array.from({ length: 25 }, (_, i) => repo.putImage({ manifest: imageManifest(`img-${i}`, 10).text }).digest);

    // Act
    const first = repo.page(undefined, 10, 'ANY', false);
    repo.removeImage(digests[3]!); // already listed
    repo.removeImage(digests[10]!); // the next page's first image
    const seen = first.entries.map((e) => e.image.digest);
    let next = first.next;
    while (next) {
      const page = repo.page(next, 10, 'ANY', false);
      seen.push(...page.entries.map((e) => e.image.digest));
      next = page.next;
    }

    // Assess
    expect(seen).toEqual(digests.filter((d) => d !== digests[10]));
  });

  it('lists one entry per tag and splits an image with many tags across pages', () => {
    // Prepare
    const { repo } = repository();
    const text = imageManifest('a', 10).text;
    for (const tag of ['t1', 't2', 't3']) repo.putImage({ manifest: text, tag });
    repo.putImage({ manifest: imageManifest('b', 10).text });

    // Act
    const first = repo.page(undefined, 2, 'ANY', true);
    const second = repo.page(first.next, 2, 'ANY', true);

    // Assess
    expect(first.entries.map((e) => e.tag)).toEqual(['t1', 't2']);
    expect(second.entries.map((e) => e.tag)).toEqual(['t3', undefined]);
    expect(second.next).toBeUndefined();
  });

  it('tracks referrers by subject and forgets them when they are deleted', () => {
    // Prepare
    const { repo } = repository();
    const subject = repo.putImage({ manifest: imageManifest('s', 10).text, tag: 'v1' });
    const referrerText = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.in-toto+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
      layers: [],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.manifest.length },
    });

    // Act
    const referrer = repo.putImage({ manifest: referrerText });
    const listed = repo.referrers(subject.digest).map((r) => r.digest);
    repo.deleteImages([{ imageDigest: referrer.digest }]);

    // Assess
    expect(referrer.subjectDigest).toBe(subject.digest);
    expect(referrer.artifactMediaType).toBe('application/vnd.in-toto+json');
    expect(listed).toEqual([referrer.digest]);
    expect(repo.referrers(subject.digest)).toEqual([]);
  });

  it('answers RepositoryNotFoundException and RepositoryAlreadyExistsException by name', () => {
    // Prepare
    const { model } = repository();

    // Act
    const missing = thrownCode(() => model.repository('nope'));
    const duplicate = thrownCode(() => model.createRepository('app'));
    const badName = thrownCode(() => model.createRepository('Bad Name'));

    // Assess
    expect(missing).toBe('RepositoryNotFoundException');
    expect(duplicate).toBe('RepositoryAlreadyExistsException');
    expect(badName).toBe('InvalidParameterException');
  });
});

// "Archiving an image" (ECR user guide, https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html) and
// UpdateImageStorageClass (API reference).
describe('registry model: archive storage class', () => {
  it('archives an image: not pullable (ImageNotFound, the 404), still listed with imageStatus ARCHIVED', () => {
    // Prepare
    const { repo } = repository();
    const image = repo.putImage({ manifest: imageManifest('arch', 100).text, tag: 'v1' });

    // Act
    repo.archiveImage(image, T0);
    const pull = repo.getImages([{ imageTag: 'v1' }]);
    const active = repo.page(undefined, 100, 'ANY', false, 'ACTIVE').entries;
    const archived = repo.page(undefined, 100, 'ANY', false, 'ARCHIVED').entries.map((e) => e.image.digest);

    // Assess
    expect(image).toMatchObject({ storageClass: 'ARCHIVE', imageStatus: 'ARCHIVED', lastArchivedAt: T0 });
    expect(pull.images).toEqual([]);
    expect(pull.failures).toEqual([expect.objectContaining({ failureCode: 'ImageNotFound', failureReason: expect.stringContaining('archived') })]);
    expect(image.lastPulledAt).toBeUndefined();
    expect(active).toEqual([]);
    expect(archived).toEqual([image.digest]);
  });

  it('restores over RESTORE_DURATION_MS of model time: ACTIVATING (still not pullable), then ACTIVE with lastActivatedAt', () => {
    // Prepare
    const { model, repo } = repository();
    const image = repo.putImage({ manifest: imageManifest('restore', 100).text, tag: 'v1' });
    repo.archiveImage(image, T0);

    // Act
    repo.restoreImage(image, T0 + 1_000);
    model.setClock(T0 + 1_000 + RESTORE_DURATION_MS - 1);
    const during = { status: repo.image(image.digest)!.imageStatus, pull: repo.getImages([{ imageTag: 'v1' }]).failures.length };
    model.setClock(T0 + 2 * RESTORE_DURATION_MS);
    const after = repo.getImages([{ imageTag: 'v1' }]);

    // Assess
    expect(during).toEqual({ status: 'ACTIVATING', pull: 1 });
    expect(after.images.map((i) => i.image.digest)).toEqual([image.digest]);
    expect(image).toMatchObject({ storageClass: 'STANDARD', imageStatus: 'ACTIVE', lastActivatedAt: T0 + 1_000 + RESTORE_DURATION_MS });
  });

  it('restores at once when the same manifest is pushed again ("or by re-pushing the image")', () => {
    // Prepare
    const { model, repo } = repository();
    const manifest = imageManifest('repush', 100);
    const image = repo.putImage({ manifest: manifest.text, tag: 'v1' });
    repo.archiveImage(image, T0);
    model.setClock(T0 + 5_000);

    // Act
    const again = repo.putImage({ manifest: manifest.text, tag: 'v1-again' });

    // Assess
    expect(again).toBe(image);
    expect(image).toMatchObject({ imageStatus: 'ACTIVE', storageClass: 'STANDARD', lastActivatedAt: T0 + 5_000, tags: ['v1', 'v1-again'] });
  });

  it('counts the 90-day archive minimum when an archived image is deleted early', () => {
    // Prepare
    const { model, repo } = repository();
    const image = repo.putImage({ manifest: imageManifest('early', 1_000).text, tag: 'v1' });
    const bytes = repo.sizeInBytes(image);
    repo.archiveImage(image, T0);
    model.setClock(T0 + 30 * 86_400_000);

    // Act
    repo.deleteImages([{ imageTag: 'v1' }]);

    // Assess: 60 of the 90 days are still billed
    expect(repo.archiveEarlyDeletionByteDays).toBeCloseTo(60 * bytes, 6);
  });
});
