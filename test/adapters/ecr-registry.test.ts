import { afterEach, describe, expect, test } from 'vitest';
import { ACCEPTED_MANIFEST_MEDIA_TYPES, createEcrRegistry, makeEcrClient } from '../../lambda/adapters/ecr-registry.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { byOperation, digestOf, fakeTransport, jsonError, ok, type Responder, TEST_CREDENTIALS } from './fake-aws.js';

function registryWith(respond: Responder, options: { maxAttempts?: number } = {}) {
  const transport = fakeTransport(respond);
  const client = makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, ...options });
  return { registry: createEcrRegistry(client), transport };
}

function detail(label: string, extra: Record<string, unknown> = {}) {
  return { imageDigest: digestOf(label), imageTags: [label], imagePushedAt: 1_700_000_000, imageSizeInBytes: 1000, ...extra };
}

describe('describeImages', () => {
  test('follows nextToken across pages, asks for 1000 per page and reports progress', async () => {
    // Prepare
    const pages: Record<string, { imageDetails: unknown[]; nextToken?: string }> = {
      first: { imageDetails: [detail('a'), detail('b')], nextToken: 'page-2' },
      'page-2': { imageDetails: [detail('c'), detail('d')], nextToken: 'page-3' },
      'page-3': { imageDetails: [detail('e')] },
    };
    const { registry, transport } = registryWith(
      byOperation({ DescribeImages: (request) => ok(pages[(request.json.nextToken as string | undefined) ?? 'first']) }),
    );
    const progress: number[] = [];

    // Act
    const images = await registry.describeImages('team/app', (count) => progress.push(count));

    // Assess
    expect(images.map((i) => i.tags[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(transport.requests.map((r) => [r.json.repositoryName, r.json.maxResults, r.json.nextToken])).toEqual([
      ['team/app', 1000, undefined],
      ['team/app', 1000, 'page-2'],
      ['team/app', 1000, 'page-3'],
    ]);
    expect(progress).toEqual([2, 4, 5]);
    expect(registry.callCounts()).toEqual({ DescribeImages: 3 });
  });

  test('maps an ImageDetail to an ImageRecord with epoch-millisecond times', async () => {
    // Prepare
    const subject = digestOf('subject');
    const { registry } = registryWith(
      byOperation({
        DescribeImages: () =>
          ok({
            imageDetails: [
              detail('sig', {
                imageTags: undefined,
                imagePushedAt: 1_700_000_000.25,
                lastRecordedPullTime: 1_700_086_400,
                imageSizeInBytes: 4242,
                imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
                artifactMediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
                subjectManifestDigest: subject,
              }),
            ],
          }),
      }),
    );

    // Act
    const [image] = await registry.describeImages('app');

    // Assess
    expect(image).toEqual({
      digest: digestOf('sig'),
      tags: [],
      pushedAt: 1_700_000_000_250,
      lastPulledAt: 1_700_086_400_000,
      sizeBytes: 4242,
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactMediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      subjectDigest: subject,
    });
  });

  // DescribeImages returns ACTIVE images only unless its imageStatus filter says otherwise (API reference,
  // DescribeImagesFilter); archived images must be in the inventory, or a pin to one would look unresolved.
  test('asks for images of every status and maps the archive fields', async () => {
    // Prepare
    const { registry, transport } = registryWith(
      byOperation({
        DescribeImages: () =>
          ok({ imageDetails: [detail('old', { imageStatus: 'ARCHIVED', lastArchivedAt: 1_700_100_000, lastActivatedAt: 1_700_050_000 }), detail('new', { imageStatus: 'ACTIVE' })] }),
      }),
    );

    // Act
    const images = await registry.describeImages('app');

    // Assess
    expect(transport.requests.map((r) => r.json.filter)).toEqual([{ imageStatus: 'ANY' }]);
    expect(images.map((i) => [i.tags[0], i.imageStatus, i.lastArchivedAt, i.lastActivatedAt])).toEqual([
      ['old', 'ARCHIVED', 1_700_100_000_000, 1_700_050_000_000],
      ['new', 'ACTIVE', undefined, undefined],
    ]);
  });

  test('a registry that refuses the ANY filter is read once per status it knows', async () => {
    // Prepare: ANY refused; ARCHIVED known; ACTIVATING refused too (no restores there).
    const { registry, transport } = registryWith(
      byOperation({
        DescribeImages: (request) => {
          const status = (request.json.filter as { imageStatus?: string } | undefined)?.imageStatus;
          if (status === 'ANY' || status === 'ACTIVATING') return jsonError('InvalidParameterException', `Invalid parameter at 'filter.imageStatus'`);
          return ok({ imageDetails: status === 'ARCHIVED' ? [detail('old', { imageStatus: 'ARCHIVED' })] : [detail('new')] });
        },
      }),
    );

    // Act
    const images = await registry.describeImages('app');

    // Assess
    expect(transport.requests.map((r) => (r.json.filter as { imageStatus?: string } | undefined)?.imageStatus)).toEqual(['ANY', undefined, 'ARCHIVED', 'ACTIVATING']);
    expect(images.map((i) => i.tags[0])).toEqual(['new', 'old']);
  });

  test('an image listed on two pages is returned once', async () => {
    // Prepare
    const { registry } = registryWith(
      byOperation({
        DescribeImages: (request) =>
          ok(request.json.nextToken ? { imageDetails: [detail('a'), detail('b')] } : { imageDetails: [detail('a')], nextToken: 'n' }),
      }),
    );

    // Act
    const images = await registry.describeImages('app');

    // Assess
    expect(images.map((i) => i.digest)).toEqual([digestOf('a'), digestOf('b')]);
  });

  test.each([
    ['imagePushedAt', { imagePushedAt: undefined }],
    ['imageDigest', { imageDigest: undefined }],
  ])('an ImageDetail without %s fails the read, naming the field', async (field, broken) => {
    // Prepare
    const { registry } = registryWith(byOperation({ DescribeImages: () => ok({ imageDetails: [detail('good'), detail('bad', broken)] }) }));

    // Act
    const read = registry.describeImages('app');

    // Assess
    await expect(read).rejects.toThrow(new RegExp(`app.*${field}`));
  });

  test('a ThrottlingException is retried and both attempts are counted', async () => {
    // Prepare
    let attempts = 0;
    const { registry } = registryWith(
      byOperation({
        DescribeImages: () => (attempts++ === 0 ? jsonError('ThrottlingException', 'Rate exceeded') : ok({ imageDetails: [detail('a')] })),
      }),
    );

    // Act
    const images = await registry.describeImages('app');

    // Assess
    expect(images).toHaveLength(1);
    expect(registry.callCounts()).toEqual({ DescribeImages: 2 });
  });

  test('a repository that does not exist is an error, not an empty inventory', async () => {
    // Prepare
    const { registry } = registryWith(byOperation({ DescribeImages: () => jsonError('RepositoryNotFoundException', 'no such repository') }));

    // Act
    const read = registry.describeImages('gone');

    // Assess
    await expect(read).rejects.toMatchObject({ name: 'RepositoryNotFoundException' });
  });
});

describe('getManifests', () => {
  test('asks for 100 ids per BatchGetImage, accepts every manifest type and reads failures[]', async () => {
    // Prepare
    const digests = Array.from({ length: 250 }, (_, i) => digestOf(`index-${i}`));
    const failing = digests[120]!;
    const silent = digests[249]!;
    const { registry, transport } = registryWith(
      byOperation({
        BatchGetImage: (request) => {
          const ids = (request.json.imageIds as { imageDigest: string }[]).map((id) => id.imageDigest);
          return ok({
            images: ids
              .filter((d) => d !== failing && d !== silent)
              .map((d) => ({
                imageId: { imageDigest: d },
                imageManifest: `{"manifests":[],"digest":"${d}"}`,
                imageManifestMediaType: 'application/vnd.oci.image.index.v1+json',
              })),
            failures: ids.includes(failing)
              ? [{ imageId: { imageDigest: failing }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }]
              : [],
          });
        },
      }),
    );

    // Act
    const fetched = await registry.getManifests('app', [...digests, digests[0]!]);

    // Assess
    expect(transport.requests.map((r) => (r.json.imageIds as unknown[]).length)).toEqual([100, 100, 50]);
    expect(transport.requests[0]!.json.acceptedMediaTypes).toEqual(ACCEPTED_MANIFEST_MEDIA_TYPES);
    expect(ACCEPTED_MANIFEST_MEDIA_TYPES).toEqual(
      expect.arrayContaining([
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ]),
    );
    expect(Object.keys(fetched.manifests)).toHaveLength(248);
    expect(fetched.manifests[digests[0]!]).toEqual({
      text: `{"manifests":[],"digest":"${digests[0]}"}`,
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
    expect(fetched.failures).toEqual({
      [failing]: 'ImageNotFound: Requested image not found',
      [silent]: expect.stringContaining('neither'),
    });
  });

  test('no digests, no call', async () => {
    // Prepare
    const { registry, transport } = registryWith(byOperation({}));

    // Act
    const fetched = await registry.getManifests('app', []);

    // Assess
    expect(fetched).toEqual({ manifests: {}, failures: {} });
    expect(transport.requests).toHaveLength(0);
  });
});

describe('deleteTags', () => {
  const own = (label: string) => ({ digest: digestOf(label), tag: protectionTagFor(digestOf(label)) });

  test('sends the tag alone, 100 ids per BatchDeleteImage, and passes failures[] through', async () => {
    // Prepare
    const tags = Array.from({ length: 150 }, (_, i) => own(`img-${i}`));
    const failing = new Map([[tags[3]!.tag, 'ImageNotFound'], [tags[140]!.tag, 'KmsError']]);
    const { registry, transport } = registryWith(
      byOperation({
        BatchDeleteImage: (request) => {
          const ids = request.json.imageIds as { imageTag: string }[];
          return ok({
            // ECR answers with digest and tag of what it untagged.
            imageIds: ids.filter((id) => !failing.has(id.imageTag)).map((id) => ({ imageTag: id.imageTag, imageDigest: tags.find((t) => t.tag === id.imageTag)!.digest })),
            failures: ids.filter((id) => failing.has(id.imageTag)).map((id) => ({ imageId: { imageTag: id.imageTag }, failureCode: failing.get(id.imageTag), failureReason: 'no' })),
          });
        },
      }),
    );

    // Act
    const result = await registry.deleteTags('app', tags);

    // Assess: under moto's reading an id with digest AND tag deletes the whole image, so no id carries a digest.
    expect(transport.requests.map((r) => (r.json.imageIds as unknown[]).length)).toEqual([100, 50]);
    expect(transport.requests.flatMap((r) => r.json.imageIds as object[]).every((id) => Object.keys(id).join() === 'imageTag')).toBe(true);
    expect(transport.requests[0]!.json.imageIds).toContainEqual({ imageTag: tags[0]!.tag });
    expect(result.deleted).toHaveLength(148);
    expect(result.failures).toEqual([
      { digest: tags[3]!.digest, tag: tags[3]!.tag, code: 'ImageNotFound', message: 'no' },
      { digest: tags[140]!.digest, tag: tags[140]!.tag, code: 'KmsError', message: 'no' },
    ]);
  });

  test('never sends a tag that is not the protection tag of its own digest', async () => {
    // Prepare: the tag alone could name any image; only keep-sha256-<hex of the digest> is ours to remove.
    const { registry, transport } = registryWith(byOperation({ BatchDeleteImage: (request) => ok({ imageIds: request.json.imageIds, failures: [] }) }));
    const foreign = { digest: digestOf('a'), tag: 'latest' };
    const otherDigest = { digest: digestOf('a'), tag: protectionTagFor(digestOf('b')) };

    // Act
    const result = await registry.deleteTags('app', [foreign, otherDigest, own('c')]);

    // Assess
    expect(transport.requests.map((r) => r.json.imageIds)).toEqual([[{ imageTag: own('c').tag }]]);
    expect(result.deleted).toEqual([own('c')]);
    expect(result.failures.map((f) => [f.tag, f.code])).toEqual([
      ['latest', 'NotOwnProtectionTag'],
      [otherDigest.tag, 'NotOwnProtectionTag'],
    ]);
  });

  test('a tag ECR reports removed from another digest is a failure, not a deletion', async () => {
    // Prepare: someone re-pushed the tag onto another image between our inventory and the delete.
    const { registry } = registryWith(
      byOperation({ BatchDeleteImage: () => ok({ imageIds: [{ imageTag: own('a').tag, imageDigest: digestOf('intruder') }], failures: [] }) }),
    );

    // Act
    const result = await registry.deleteTags('app', [own('a')]);

    // Assess
    expect(result.deleted).toEqual([]);
    expect(result.failures).toEqual([{ ...own('a'), code: 'TagWasOnAnotherImage', message: expect.stringContaining(digestOf('intruder')) }]);
  });

  test('a call that fails outright is reported as a failure of each of its ids, and later chunks still go', async () => {
    // Prepare
    const tags = Array.from({ length: 101 }, (_, i) => own(`img-${i}`));
    let call = 0;
    const { registry } = registryWith(
      byOperation({
        BatchDeleteImage: (request) =>
          call++ === 0 ? jsonError('AccessDeniedException', 'not allowed') : ok({ imageIds: request.json.imageIds, failures: [] }),
      }),
    );

    // Act
    const result = await registry.deleteTags('app', tags);

    // Assess
    expect(result.failures).toHaveLength(100);
    expect(result.failures[0]).toEqual({ ...tags[0], code: 'AccessDeniedException', message: 'not allowed' });
    expect(result.deleted).toEqual([tags[100]]);
  });
});

describe('putTag', () => {
  const manifest = { text: '{"schemaVersion":2, "layers":[]}', mediaType: 'application/vnd.oci.image.manifest.v1+json' };

  test('puts the exact manifest bytes with media type, tag and digest', async () => {
    // Prepare
    const { registry, transport } = registryWith(byOperation({ PutImage: () => ok({ image: {} }) }));

    // Act
    await registry.putTag('app', digestOf('a'), manifest, 'keep-a');

    // Assess
    expect(transport.requests[0]!.json).toEqual({
      repositoryName: 'app',
      imageManifest: manifest.text,
      imageManifestMediaType: manifest.mediaType,
      imageTag: 'keep-a',
      imageDigest: digestOf('a'),
    });
  });

  test('a tag that is already there counts as done', async () => {
    // Prepare
    const { registry } = registryWith(byOperation({ PutImage: () => jsonError('ImageAlreadyExistsException', 'already exists') }));

    // Act
    const put = registry.putTag('app', digestOf('a'), manifest, 'keep-a');

    // Assess
    await expect(put).resolves.toBeUndefined();
  });

  test('any other error is thrown', async () => {
    // Prepare
    const { registry } = registryWith(byOperation({ PutImage: () => jsonError('ImageTagAlreadyExistsException', 'immutable tag') }));

    // Act
    const put = registry.putTag('app', digestOf('a'), manifest, 'keep-a');

    // Assess
    await expect(put).rejects.toMatchObject({ name: 'ImageTagAlreadyExistsException' });
  });
});

describe('lifecycle policy', () => {
  test('no policy reads as null', async () => {
    // Prepare
    const { registry } = registryWith(byOperation({ GetLifecyclePolicy: () => jsonError('LifecyclePolicyNotFoundException', 'none') }));

    // Act
    const text = await registry.getLifecyclePolicy('app');

    // Assess
    expect(text).toBeNull();
  });

  test('reads and writes the policy text', async () => {
    // Prepare
    const policy = '{"rules":[]}';
    const { registry, transport } = registryWith(
      byOperation({ GetLifecyclePolicy: () => ok({ lifecyclePolicyText: policy }), PutLifecyclePolicy: () => ok({}) }),
    );

    // Act
    const read = await registry.getLifecyclePolicy('app');
    await registry.putLifecyclePolicy('app', '{"rules":[1]}');

    // Assess
    expect(read).toBe(policy);
    expect(transport.requests[1]!.json).toEqual({ repositoryName: 'app', lifecyclePolicyText: '{"rules":[1]}' });
    expect(registry.callCounts()).toEqual({ GetLifecyclePolicy: 1, PutLifecyclePolicy: 1 });
  });
});

describe('repositories and registry id', () => {
  test('lists every repository across pages and learns the registry id on the way', async () => {
    // Prepare
    const { registry, transport } = registryWith(
      byOperation({
        DescribeRepositories: (request) =>
          ok(
            request.json.nextToken
              ? { repositories: [{ repositoryName: 'team/web', registryId: '111122223333' }] }
              : { repositories: [{ repositoryName: 'app', registryId: '111122223333' }], nextToken: 'more' },
          ),
      }),
    );

    // Act
    const names = await registry.listRepositories();
    const id = await registry.registryId();

    // Assess
    expect(names).toEqual(['app', 'team/web']);
    expect(id).toBe('111122223333');
    expect(transport.count('DescribeRepositories')).toBe(2);
  });

  test('falls back to DescribeRegistry when there is no repository, and remembers the answer', async () => {
    // Prepare
    const { registry, transport } = registryWith(
      byOperation({ DescribeRepositories: () => ok({ repositories: [] }), DescribeRegistry: () => ok({ registryId: '444455556666' }) }),
    );

    // Act
    const first = await registry.registryId();
    const second = await registry.registryId();

    // Assess
    expect([first, second]).toEqual(['444455556666', '444455556666']);
    expect(transport.requests.map((r) => r.operation)).toEqual(['DescribeRepositories', 'DescribeRegistry']);
  });

  test('unknown when neither call can tell', async () => {
    // Prepare
    const { registry } = registryWith(
      byOperation({ DescribeRepositories: () => ok({ repositories: [] }), DescribeRegistry: () => jsonError('AccessDeniedException', 'denied') }),
    );

    // Act
    const id = await registry.registryId();

    // Assess
    expect(id).toBeUndefined();
  });
});

describe('listImageReferrers', () => {
  test('pages through referrers 50 at a time', async () => {
    // Prepare
    const subject = digestOf('subject');
    const { registry, transport } = registryWith(
      byOperation({
        ListImageReferrers: (request) =>
          ok(
            request.json.nextToken
              ? { referrers: [{ digest: digestOf('sbom'), mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json', size: 12 }] }
              : { referrers: [{ digest: digestOf('sig'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10 }], nextToken: 't' },
          ),
      }),
    );

    // Act
    const referrers = await registry.listImageReferrers('app', subject);

    // Assess
    expect(referrers).toEqual([
      { digest: digestOf('sig'), mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: 10 },
      { digest: digestOf('sbom'), mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json', sizeBytes: 12 },
    ]);
    expect(transport.requests.map((r) => [r.json.subjectId, r.json.maxResults, r.json.nextToken])).toEqual([
      [{ imageDigest: subject }, 50, undefined],
      [{ imageDigest: subject }, 50, 't'],
    ]);
  });
});

describe('makeEcrClient', () => {
  const saved = process.env.AWS_ENDPOINT_URL_ECR;
  afterEach(() => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_ECR;
    else process.env.AWS_ENDPOINT_URL_ECR = saved;
  });

  test('retries adaptively, 8 attempts by default', async () => {
    // Prepare
    const client = makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS });

    // Act
    const [strategy, attempts] = await Promise.all([client.config.retryStrategy(), client.config.maxAttempts()]);

    // Assess
    expect(strategy).toMatchObject({ mode: 'adaptive' });
    expect(attempts).toBe(8);
  });

  test('reads the endpoint from AWS_ENDPOINT_URL_ECR when none is given', async () => {
    // Prepare
    process.env.AWS_ENDPOINT_URL_ECR = 'http://127.0.0.1:4566';
    const transport = fakeTransport(byOperation({ DescribeRepositories: () => ok({ repositories: [] }) }));
    const registry = createEcrRegistry(makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler }));

    // Act
    await registry.listRepositories();

    // Assess
    expect(transport.requests[0]!.hostname).toBe('127.0.0.1');
  });

  test('an explicit endpoint wins', async () => {
    // Prepare
    const transport = fakeTransport(byOperation({ DescribeRepositories: () => ok({ repositories: [] }) }));
    const client = makeEcrClient({ region: 'eu-west-1', endpoint: 'http://localhost:9999', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });

    // Act
    await createEcrRegistry(client).listRepositories();

    // Assess
    expect([transport.requests[0]!.hostname, transport.requests[0]!.headers.host]).toEqual(['localhost', 'localhost:9999']);
  });
});
