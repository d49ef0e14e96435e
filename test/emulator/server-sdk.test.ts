// The emulator through the real @aws-sdk/client-ecr over HTTP: shapes the SDK deserializes, pagination, ECR's
// deletion rules, typed errors, and injected faults the SDK retries.
import { createHash } from 'node:crypto';
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ImageAlreadyExistsException,
  ImageNotFoundException,
  InvalidParameterException,
  ListImageReferrersCommand,
  ListImagesCommand,
  paginateDescribeImages,
  PutImageCommand,
  ReferencedImagesNotFoundException,
  RepositoryNotFoundException,
  ServerException,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeEmulatorClient, type EmulatorHandle } from '../../emulator/server.js';
import { caught, useEmulator } from '../support/emulator-fixture.js';
import { imageManifest, IN_TOTO, pushReferrer } from '../../emulator/workload.js';

const T0 = Date.UTC(2026, 0, 1);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

const fixture = useEmulator({ now: T0 });
let emulator: EmulatorHandle;
let client: ECRClient;
beforeEach(() => {
  ({ emulator, client } = fixture);
});

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

async function put(text: string, tag?: string, mediaType = OCI_MANIFEST): Promise<string> {
  const response = await client.send(
    new PutImageCommand({ repositoryName: 'app', imageManifest: text, imageManifestMediaType: mediaType, ...(tag ? { imageTag: tag } : {}) }),
  );
  return response.image!.imageId!.imageDigest!;
}

function indexText(...children: { digest: string; text: string }[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: Buffer.byteLength(c.text) })),
  });
}

describe('emulator over HTTP: images', () => {
  it('answers PutImage with the sha256 of the manifest bytes exactly as sent, whitespace included', async () => {
    // Prepare
    const text = `{ "schemaVersion": 2,\n  "mediaType": "${OCI_MANIFEST}", "config": {"mediaType": "x", "digest": "${sha256('c')}", "size": 7}, "layers": [] }`;

    // Act
    const digest = await put(text, 'v1');

    // Assess
    expect(digest).toBe(sha256(text));
  });

  it('describes an image with every ImageDetail field the SDK deserializes, times as Dates', async () => {
    // Prepare
    const manifest = imageManifest('detail', 4_000);
    const digest = await put(manifest.text, 'v1');
    emulator.setClock(T0 + 3_600_000);
    await client.send(new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] }));

    // Act
    const response = await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));

    // Assess
    expect(response.imageDetails).toEqual([
      {
        registryId: '000000000000',
        repositoryName: 'app',
        imageDigest: digest,
        imageTags: ['v1'],
        imageSizeInBytes: manifest.bytes,
        imagePushedAt: new Date(T0),
        imageManifestMediaType: OCI_MANIFEST,
        artifactMediaType: 'application/vnd.oci.image.config.v1+json',
        lastRecordedPullTime: new Date(T0 + 3_600_000),
        imageStatus: 'ACTIVE',
      },
    ]);
    expect(response.nextToken).toBeUndefined();
  });

  it('pages DescribeImages over 2,500 images with honest nextTokens and maxResults limits', async () => {
    // Prepare
    const repo = emulator.model.repository('app');
    const pushed = Array.from({ length: 2_500 }, (_, i) => repo.putImage({ manifest: imageManifest(`bulk-${i}`, 100).text, ...(i % 2 === 0 ? { tag: `t${i}` } : {}) }).digest);

    // Act
    const pageSizes: number[] = [];
    const seen: string[] = [];
    for await (const page of paginateDescribeImages({ client, pageSize: 1000 }, { repositoryName: 'app', maxResults: 1000 })) {
      pageSizes.push(page.imageDetails!.length);
      seen.push(...page.imageDetails!.map((d) => d.imageDigest!));
    }
    const defaultPage = await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));
    const tooMany = await caught(client.send(new DescribeImagesCommand({ repositoryName: 'app', maxResults: 1001 })));

    // Assess
    expect(pageSizes).toEqual([1000, 1000, 500]);
    expect(seen).toEqual(pushed);
    expect(defaultPage.imageDetails).toHaveLength(100);
    expect(defaultPage.nextToken).toEqual(expect.any(String));
    expect(tooMany).toBeInstanceOf(InvalidParameterException);
  });

  it('filters DescribeImages and ListImages by tag status across pages', async () => {
    // Prepare
    const repo = emulator.model.repository('app');
    for (let i = 0; i < 30; i += 1) repo.putImage({ manifest: imageManifest(`f-${i}`, 10).text, ...(i % 3 === 0 ? { tag: `t${i}` } : {}) });

    // Act
    const untagged: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new DescribeImagesCommand({ repositoryName: 'app', maxResults: 7, filter: { tagStatus: 'UNTAGGED' }, nextToken: token }));
      untagged.push(...page.imageDetails!.map((d) => d.imageDigest!));
      token = page.nextToken;
    } while (token);
    const tagged = await client.send(new ListImagesCommand({ repositoryName: 'app', filter: { tagStatus: 'TAGGED' } }));

    // Assess
    expect(untagged).toHaveLength(20);
    expect(tagged.imageIds).toHaveLength(10);
    expect(tagged.imageIds!.every((id) => id.imageTag !== undefined)).toBe(true);
  });

  it('rejects a nextToken issued for another repository', async () => {
    // Prepare
    const repo = emulator.model.repository('app');
    for (let i = 0; i < 3; i += 1) repo.putImage({ manifest: imageManifest(`x-${i}`, 10).text });
    await client.send(new CreateRepositoryCommand({ repositoryName: 'other' }));
    const first = await client.send(new DescribeImagesCommand({ repositoryName: 'app', maxResults: 1 }));

    // Act
    const error = await caught(client.send(new DescribeImagesCommand({ repositoryName: 'other', nextToken: first.nextToken })));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
  });

  it('moves a tag to the image pushed with it, leaving the previous image untagged', async () => {
    // Prepare
    const old = await put(imageManifest('old', 10).text, 'latest');

    // Act
    const fresh = await put(imageManifest('new', 10).text, 'latest');
    const details = await client.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageDigest: old }, { imageTag: 'latest' }] }));

    // Assess
    const byDigest = new Map(details.imageDetails!.map((d) => [d.imageDigest, d]));
    expect(byDigest.get(old)?.imageTags).toBeUndefined();
    expect(byDigest.get(fresh)?.imageTags).toEqual(['latest']);
  });

  it('deletes by tag (only the tag while others remain) and by digest (the image and its tags)', async () => {
    // Prepare
    const text = imageManifest('multi', 10).text;
    const digest = await put(text, 'v1');
    await put(text, 'latest');
    const other = await put(imageManifest('other', 10).text, 'x');

    // Act
    const byTag = await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] }));
    const stillThere = await client.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageDigest: digest }] }));
    const byDigest = await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: digest }, { imageDigest: other }] }));
    const left = await client.send(new ListImagesCommand({ repositoryName: 'app' }));

    // Assess
    expect(byTag.imageIds).toEqual([{ imageDigest: digest, imageTag: 'v1' }]);
    expect(stillThere.imageDetails![0]!.imageTags).toEqual(['latest']);
    expect(byDigest.imageIds).toEqual([
      { imageDigest: digest, imageTag: 'latest' },
      { imageDigest: other, imageTag: 'x' },
    ]);
    expect(byDigest.failures).toEqual([]);
    expect(left.imageIds).toEqual([]);
  });

  it('reports ImageReferencedByManifestList in failures[] for a child of a live index, and deletes it once the index is gone', async () => {
    // Prepare
    const child = imageManifest('child', 10);
    await put(child.text);
    const index = await put(indexText(child), 'v1', OCI_INDEX);

    // Act
    const refused = await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: child.digest }] }));
    await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: index }] }));
    const allowed = await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: child.digest }] }));

    // Assess
    expect(refused.imageIds).toEqual([]);
    expect(refused.failures).toEqual([
      { imageId: { imageDigest: child.digest }, failureCode: 'ImageReferencedByManifestList', failureReason: expect.stringContaining(index) },
    ]);
    expect(allowed.imageIds).toEqual([{ imageDigest: child.digest }]);
    expect(allowed.failures).toEqual([]);
  });

  it('answers BatchGetImage with manifests and failures[], and refuses an index with absent children', async () => {
    // Prepare
    const child = imageManifest('child', 10);
    const absent = imageManifest('absent', 10);
    await put(child.text);
    const index = await put(indexText(child), 'v1', OCI_INDEX);

    // Act
    const got = await client.send(
      new BatchGetImageCommand({
        repositoryName: 'app',
        imageIds: [{ imageDigest: index }, { imageTag: 'nope' }],
        acceptedMediaTypes: [OCI_INDEX, OCI_MANIFEST],
      }),
    );
    const incomplete = await caught(put(indexText(child, absent), 'v2', OCI_INDEX));

    // Assess
    expect(got.images).toEqual([
      { registryId: '000000000000', repositoryName: 'app', imageId: { imageDigest: index }, imageManifest: indexText(child), imageManifestMediaType: OCI_INDEX },
    ]);
    expect(got.failures).toEqual([{ imageId: { imageTag: 'nope' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }]);
    expect(incomplete).toBeInstanceOf(ReferencedImagesNotFoundException);
  });

  it('reports the largest present child as the imageSizeInBytes of an index', async () => {
    // Prepare
    const small = imageManifest('small', 1_000);
    const large = imageManifest('large', 50_000);
    await put(small.text);
    await put(large.text);

    // Act
    const index = await put(indexText(small, large), 'v1', OCI_INDEX);
    const described = await client.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageDigest: index }] }));

    // Assess
    expect(described.imageDetails![0]!.imageSizeInBytes).toBe(large.bytes);
  });
});

describe('emulator over HTTP: referrers', () => {
  it('lists OCI 1.1 referrers of a subject and reports subjectManifestDigest on them', async () => {
    // Prepare
    const subject = imageManifest('subject', 10);
    await put(subject.text, 'v1');
    const referrer = await pushReferrer(client, 'app', {
      subjectDigest: subject.digest,
      subjectMediaType: OCI_MANIFEST,
      subjectSize: Buffer.byteLength(subject.text),
      artifactType: IN_TOTO,
      seed: 'provenance',
    });

    // Act
    const listed = await client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: subject.digest } }));
    const described = await client.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageDigest: referrer.digest }] }));

    // Assess
    expect(listed.referrers).toEqual([
      {
        digest: referrer.digest,
        mediaType: OCI_MANIFEST,
        artifactType: IN_TOTO,
        size: Buffer.byteLength(referrer.text),
        annotations: { 'org.opencontainers.image.revision': 'provenance' },
        artifactStatus: 'ACTIVE',
      },
    ]);
    expect(described.imageDetails![0]!.subjectManifestDigest).toBe(subject.digest);
    expect(described.imageDetails![0]!.imageTags).toBeUndefined();
  });

  it('pages ListImageReferrers at most 50 a page', async () => {
    // Prepare
    const subject = imageManifest('subject', 10);
    await put(subject.text, 'v1');
    const repo = emulator.model.repository('app');
    for (let i = 0; i < 60; i += 1) {
      repo.putImage({
        manifest: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: IN_TOTO,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
          layers: [{ mediaType: IN_TOTO, digest: sha256(`layer-${i}`), size: 10 }],
          subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: 10 },
        }),
      });
    }

    // Act
    const first = await client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: subject.digest } }));
    const second = await client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: subject.digest }, nextToken: first.nextToken }));
    const tooMany = await caught(client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: subject.digest }, maxResults: 51 })));

    // Assess
    expect(first.referrers).toHaveLength(50);
    expect(second.referrers).toHaveLength(10);
    expect(second.nextToken).toBeUndefined();
    expect(new Set([...first.referrers!, ...second.referrers!].map((r) => r.digest)).size).toBe(60);
    expect(tooMany).toBeInstanceOf(InvalidParameterException);
  });
});

describe('emulator over HTTP: errors and faults', () => {
  it('delivers ECR errors as the SDK typed exceptions with HTTP 400', async () => {
    // Prepare
    const text = imageManifest('dup', 10).text;
    await put(text, 'v1');

    // Act
    const noRepository = await caught(client.send(new DescribeImagesCommand({ repositoryName: 'missing' })));
    const noImage = await caught(client.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'nope' }] })));
    const duplicate = await caught(put(text, 'v1'));
    const tooManyIds = await caught(
      client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` })) })),
    );

    // Assess
    expect(noRepository).toBeInstanceOf(RepositoryNotFoundException);
    expect((noRepository as RepositoryNotFoundException).$metadata.httpStatusCode).toBe(400);
    expect((noRepository as Error).message).toContain("'missing'");
    expect(noImage).toBeInstanceOf(ImageNotFoundException);
    expect(duplicate).toBeInstanceOf(ImageAlreadyExistsException);
    expect(tooManyIds).toBeInstanceOf(InvalidParameterException);
  });

  it('answers an unknown operation with 400 UnknownOperationException', async () => {
    // Prepare
    const request = {
      method: 'POST',
      headers: { 'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.MakeCoffee', 'Content-Type': 'application/x-amz-json-1.1' },
      body: '{}',
    };

    // Act
    const response = await fetch(`${emulator.endpoint}/`, request);

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await response.json()).toEqual({ __type: 'UnknownOperationException', message: expect.stringContaining('MakeCoffee') });
  });

  it('throttles every Nth call with ThrottlingException, which the SDK retries until the call succeeds', async () => {
    // Prepare
    emulator.setFaults({ throttleEveryN: 2, operations: ['DescribeRepositories'] });

    // Act
    const answers = [];
    for (let i = 0; i < 3; i += 1) answers.push(await client.send(new DescribeRepositoriesCommand({})));
    const stats = emulator.stats();

    // Assess
    expect(answers.map((a) => a.repositories!.map((r) => r.repositoryName))).toEqual([['app'], ['app'], ['app']]);
    expect(stats.throttled).toBeGreaterThanOrEqual(2);
    expect(stats.calls.DescribeRepositories).toBe(3 + stats.throttled);
    expect(answers.some((a) => (a.$metadata.attempts ?? 1) > 1)).toBe(true);
  });

  it('injects 500 ServerException: retried by default, surfaced as a typed exception with one attempt', async () => {
    // Prepare
    const oneShot = makeEmulatorClient(emulator.endpoint, { maxAttempts: 1 });
    emulator.setFaults({ serverErrorEveryN: 1, operations: ['DescribeRegistry'] });

    // Act
    const failed = await caught(oneShot.send(new DescribeRegistryCommand({})));
    emulator.setFaults({ serverErrorEveryN: 2, operations: ['DescribeRegistry'] });
    await client.send(new DescribeRegistryCommand({}));
    const retried = await client.send(new DescribeRegistryCommand({}));
    oneShot.destroy();

    // Assess
    expect(failed).toBeInstanceOf(ServerException);
    expect((failed as ServerException).$metadata.httpStatusCode).toBe(500);
    expect(retried.registryId).toBe('000000000000');
    expect(retried.$metadata.attempts).toBe(2);
  });

  it('reports the digests it is told to refuse in BatchDeleteImage failures[]', async () => {
    // Prepare
    const keep = await put(imageManifest('keep', 10).text, 'a');
    const go = await put(imageManifest('go', 10).text, 'b');
    emulator.setFaults({ failDeletesOf: [keep] });

    // Act
    const result = await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: keep }, { imageDigest: go }] }));

    // Assess
    expect(result.imageIds).toEqual([{ imageDigest: go, imageTag: 'b' }]);
    expect(result.failures).toEqual([{ imageId: { imageDigest: keep }, failureCode: 'ImageInaccessible', failureReason: expect.any(String) }]);
  });

  it('counts calls per operation', async () => {
    // Prepare
    emulator.reset();
    await client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));

    // Act
    await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));
    await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));
    await caught(client.send(new DescribeImagesCommand({ repositoryName: 'missing' })));

    // Assess
    expect(emulator.stats()).toEqual({ calls: { CreateRepository: 1, DescribeImages: 3 }, total: 4, throttled: 0, serverErrors: 0, contractViolations: 0, rateLimited: 0 });
  });
});
