import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { buildImageGraph, manifestDigestsToFetch } from '../../lambda/domain/graph.js';
import { planRepository } from '../../lambda/domain/planner.js';
import type { Digest, ImageRecord, RepositoryInventory } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, MB, sha256, T0 } from '../support/inventory-builder.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

// The shared fixture (a copy of /work/shared/fixtures/buildx-index-with-attestations.json): a buildx index listing
// two platform manifests and one attestation manifest per platform. Child digests are the ones the index lists.
const FIXTURE_INDEX_TEXT = readFileSync(new URL('../fixtures/buildx-index-with-attestations.json', import.meta.url), 'utf8');
const FIXTURE_INDEX = sha256(FIXTURE_INDEX_TEXT);
const AMD64 = 'sha256:b87c274ecf7efee1877c8c5a4788c428f42eea3c5cfd33079272c597160802a1';
const ARM64 = 'sha256:996d2122e4e4899ca976fde7f774932365d29d5cc56ba44ec6cc25c10097a9f0';
const AMD64_ATTESTATION = 'sha256:808d6200741269a215925b71c363f9082e72982f851783816dc778affcd1430d';
const ARM64_ATTESTATION = 'sha256:50b8a2cdb9c727c477ff358585ec87448f4135e5a73b402b33bc131c2f8db993';

function record(digest: Digest, overrides: Partial<ImageRecord> = {}): ImageRecord {
  return { digest, tags: [], pushedAt: T0 - DAY, sizeBytes: 50 * MB, manifestMediaType: OCI_MANIFEST, artifactMediaType: OCI_CONFIG, ...overrides };
}

/** The fixture index (tagged v1) plus the listed manifests that `present` names, as DescribeImages would report them. */
function fixtureInventory(present: Digest[] = [AMD64, ARM64, AMD64_ATTESTATION, ARM64_ATTESTATION]): RepositoryInventory {
  const sizes: Record<Digest, number> = { [AMD64]: 60 * MB, [ARM64]: 58 * MB, [AMD64_ATTESTATION]: 4_400_000, [ARM64_ATTESTATION]: 4_400_000 };
  return {
    repository: 'postgres',
    images: [record(FIXTURE_INDEX, { tags: ['v1'], sizeBytes: 60 * MB, manifestMediaType: OCI_INDEX, artifactMediaType: undefined }), ...present.map((d) => record(d, { sizeBytes: sizes[d]! }))],
    manifests: { [FIXTURE_INDEX]: FIXTURE_INDEX_TEXT },
  };
}

describe('buildImageGraph: buildx index with attestations (shared fixture)', () => {
  it('classifies platform manifests as images and attestation manifests as attestations of their annotated subject', () => {
    // Prepare
    const inventory = fixtureInventory();

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    const node = (d: Digest) => graph.nodes.get(d)!;
    expect(node(FIXTURE_INDEX).kind).toBe('index');
    expect(node(FIXTURE_INDEX).children).toEqual([AMD64, ARM64, AMD64_ATTESTATION, ARM64_ATTESTATION]);
    expect(node(FIXTURE_INDEX).missingChildren).toEqual([]);
    expect(node(FIXTURE_INDEX).billableBytes).toBe(0);
    expect(graph.problems).toEqual([]);
    expect(graph.childrenUncertain).toBe(false);
    expect(
      [AMD64, ARM64, AMD64_ATTESTATION, ARM64_ATTESTATION].map((d) => ({ digest: d, kind: node(d).kind, subject: node(d).subject, parents: node(d).parents })),
    ).toEqual([
      { digest: AMD64, kind: 'image', subject: undefined, parents: [FIXTURE_INDEX] },
      { digest: ARM64, kind: 'image', subject: undefined, parents: [FIXTURE_INDEX] },
      { digest: AMD64_ATTESTATION, kind: 'attestation', subject: AMD64, parents: [FIXTURE_INDEX] },
      { digest: ARM64_ATTESTATION, kind: 'attestation', subject: ARM64, parents: [FIXTURE_INDEX] },
    ]);
  });

  it('bills children at their own size and the index at 0 (ECR reports the index at its largest child)', () => {
    // Prepare
    const inventory = fixtureInventory();

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    const billed = [...graph.nodes.values()].reduce((sum, n) => sum + n.billableBytes, 0);
    expect(billed).toBe(60 * MB + 58 * MB + 2 * 4_400_000);
  });

  it.each([
    { missing: AMD64, kind: 'the amd64 platform manifest' },
    { missing: ARM64_ATTESTATION, kind: 'the arm64 attestation' },
  ])('puts a listed manifest absent from the repository ($kind) in missingChildren', ({ missing }) => {
    // Prepare
    const present = [AMD64, ARM64, AMD64_ATTESTATION, ARM64_ATTESTATION].filter((d) => d !== missing);
    const inventory = fixtureInventory(present);

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    const index = graph.nodes.get(FIXTURE_INDEX)!;
    expect(index.missingChildren).toEqual([missing]);
    expect(index.children).toEqual(present);
    expect(graph.nodes.has(missing)).toBe(false);
    expect(graph.childrenUncertain).toBe(false);
  });

  it('keeps an attestation an attestation when its subject is absent', () => {
    // Prepare
    const inventory = fixtureInventory([ARM64, AMD64_ATTESTATION, ARM64_ATTESTATION]);

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    expect(graph.nodes.get(AMD64_ATTESTATION)).toMatchObject({ kind: 'attestation', subject: AMD64, parents: [FIXTURE_INDEX] });
  });

  it('records every index that lists a shared child as its parent', () => {
    // Prepare: a second index (a re-tag build) lists the same amd64 manifest
    const second = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: AMD64, size: 1946 }] });
    const inventory = fixtureInventory();
    inventory.images.push(record(sha256(second), { tags: ['amd64-only'], manifestMediaType: OCI_INDEX, artifactMediaType: undefined }));
    inventory.manifests[sha256(second)] = second;

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    expect(graph.nodes.get(AMD64)!.parents).toEqual([FIXTURE_INDEX, sha256(second)]);
    expect(graph.nodes.get(ARM64)!.parents).toEqual([FIXTURE_INDEX]);
  });
});

describe('buildImageGraph: kinds', () => {
  it('classifies a BuildKit registry cache manifest as cache', () => {
    // Prepare
    const builder = new InventoryBuilder();
    const cache = builder.cache({ pushedAt: T0 });

    // Act
    const graph = buildImageGraph(builder.inventory());

    // Assess
    expect(graph.nodes.get(cache)).toMatchObject({ kind: 'cache', problems: [], billableBytes: 200 * MB });
    expect(graph.nodes.get(cache)!.record.tags).toEqual(['buildcache']);
  });

  it('classifies an OCI 1.1 referrer as referrer and lists it in its subject', () => {
    // Prepare
    const builder = new InventoryBuilder();
    const subject = builder.single({ tags: ['v1'], pushedAt: T0 - 2 * DAY });
    const sbom = builder.referrer({ subject, pushedAt: T0 - DAY });
    const signature = builder.referrer({ subject, pushedAt: T0 });

    // Act
    const graph = buildImageGraph(builder.inventory());

    // Assess
    expect(graph.nodes.get(sbom)).toMatchObject({ kind: 'referrer', subject, parents: [] });
    expect(graph.nodes.get(signature)).toMatchObject({ kind: 'referrer', subject });
    expect(graph.nodes.get(subject)).toMatchObject({ kind: 'image', referrers: [sbom, signature] });
  });

  it('keeps a referrer whose subject is absent a referrer, listed nowhere', () => {
    // Prepare
    const builder = new InventoryBuilder();
    const gone = sha256('deleted subject');
    const orphan = builder.referrer({ subject: gone, pushedAt: T0 });

    // Act
    const graph = buildImageGraph(builder.inventory());

    // Assess
    expect(graph.nodes.get(orphan)).toMatchObject({ kind: 'referrer', subject: gone });
    expect(graph.problems).toEqual([]);
  });

  it.each([
    { name: 'OCI image manifest', mediaType: OCI_MANIFEST, kind: 'image' },
    { name: 'Docker v2 manifest', mediaType: DOCKER_MANIFEST, kind: 'image' },
    { name: 'Docker v1 signed manifest', mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', kind: 'image' },
    { name: 'Helm chart', mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', kind: 'unknown' },
    { name: 'no media type reported', mediaType: undefined, kind: 'unknown' },
  ])('classifies $name as $kind', ({ mediaType, kind }) => {
    // Prepare
    const digest = sha256(`image ${mediaType}`);
    const inventory: RepositoryInventory = { repository: 'app', images: [record(digest, { manifestMediaType: mediaType })], manifests: {} };

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    expect(graph.nodes.get(digest)!.kind).toBe(kind);
    if (kind === 'unknown') {
      expect(graph.nodes.get(digest)!.problems).toEqual([expect.stringMatching(/^unknown media type .*: kept$/)]);
      expect(graph.problems).toEqual([{ digest, message: graph.nodes.get(digest)!.problems[0] }]);
    } else {
      expect(graph.problems).toEqual([]);
    }
    expect(graph.childrenUncertain).toBe(false);
  });

  it('names the unknown media type in the problem', () => {
    // Prepare
    const builder = new InventoryBuilder();
    const weird = builder.unknown({ tags: ['chart'], pushedAt: T0 });

    // Act
    const graph = buildImageGraph(builder.inventory());

    // Assess
    expect(graph.nodes.get(weird)!.problems).toEqual(['unknown media type application/vnd.example.weird+json: kept']);
  });
});

describe('buildImageGraph: unreadable indexes', () => {
  const child = sha256('child manifest');
  const index = sha256('the index');
  const inventoryWith = (manifest: string | undefined, failure?: string): RepositoryInventory => ({
    repository: 'app',
    images: [record(index, { tags: ['v1'], manifestMediaType: OCI_INDEX, artifactMediaType: undefined }), record(child)],
    manifests: manifest === undefined ? {} : { [index]: manifest },
    ...(failure ? { manifestFailures: { [index]: failure } } : {}),
  });

  it.each([
    { name: 'manifest not fetched', manifest: undefined, failure: undefined, problem: /^index manifest not read: its children are unknown$/ },
    { name: 'BatchGetImage failure', manifest: undefined, failure: 'ImageNotFound: gone', problem: /^index manifest not read \(ImageNotFound: gone\): its children are unknown$/ },
    { name: 'not JSON', manifest: '{"manifests": [', failure: undefined, problem: /^index manifest unreadable: not JSON/ },
    { name: 'no manifests list', manifest: '{"schemaVersion": 2}', failure: undefined, problem: /^index manifest unreadable: no "manifests" list$/ },
    { name: 'null JSON', manifest: 'null', failure: undefined, problem: /no "manifests" list/ },
    {
      name: 'manifests[0].digest not sha256',
      manifest: JSON.stringify({ manifests: [{ mediaType: OCI_MANIFEST, digest: 'sha256:XYZ' }] }),
      failure: undefined,
      problem: /^index manifest unreadable: manifests\[0\]\.digest is not a sha256 digest$/,
    },
    {
      name: 'manifests[1].digest missing',
      manifest: JSON.stringify({ manifests: [{ digest: child }, { mediaType: OCI_MANIFEST }] }),
      failure: undefined,
      problem: /manifests\[1\]\.digest is not a sha256 digest/,
    },
  ])('$name: a problem on the index and children uncertain', ({ manifest, failure, problem }) => {
    // Prepare
    const inventory = inventoryWith(manifest, failure);

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    const node = graph.nodes.get(index)!;
    expect(node.problems).toEqual([expect.stringMatching(problem)]);
    expect(graph.problems).toEqual([{ digest: index, message: node.problems[0] }]);
    expect(graph.childrenUncertain).toBe(true);
    expect(node.children).toEqual([]);
    expect(graph.nodes.get(child)!.parents).toEqual([]);
  });

  it('reads a Docker manifest list like an OCI index', () => {
    // Prepare
    const text = JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ mediaType: DOCKER_MANIFEST, digest: child, platform: { architecture: 'amd64', os: 'linux' } }] });
    const list = sha256(text);
    const inventory: RepositoryInventory = {
      repository: 'app',
      images: [record(list, { tags: ['v1'], manifestMediaType: DOCKER_LIST, artifactMediaType: undefined }), record(child, { manifestMediaType: DOCKER_MANIFEST })],
      manifests: { [list]: text },
    };

    // Act
    const graph = buildImageGraph(inventory);

    // Assess
    expect(graph.nodes.get(list)).toMatchObject({ kind: 'index', children: [child], billableBytes: 0 });
    expect(graph.nodes.get(child)).toMatchObject({ kind: 'image', parents: [list] });
  });
});

describe('manifestDigestsToFetch', () => {
  it('returns only image indexes (OCI index and Docker manifest list), in inventory order', () => {
    // Prepare
    const builder = new InventoryBuilder();
    const buildx = builder.buildx({ tags: ['v1'], pushedAt: T0 });
    builder.single({ tags: ['v0'], pushedAt: T0 });
    builder.cache({ pushedAt: T0 });
    builder.referrer({ subject: buildx.platforms[0]!, pushedAt: T0 });
    builder.unknown({ tags: ['chart'], pushedAt: T0 });
    const list = sha256('docker manifest list');
    const images = [...builder.inventory().images, record(list, { manifestMediaType: DOCKER_LIST }), record(sha256('docker v2'), { manifestMediaType: DOCKER_MANIFEST })];

    // Act
    const digests = manifestDigestsToFetch(images);

    // Assess
    expect(digests).toEqual([buildx.index, list]);
  });

  it('returns nothing for a repository without indexes', () => {
    // Prepare
    const images = [record(sha256('a')), record(sha256('b'), { manifestMediaType: DOCKER_MANIFEST })];

    // Act / Assess
    expect(manifestDigestsToFetch(images)).toEqual([]);
  });

  it('covers every index buildImageGraph needs: fetching them leaves no problem', () => {
    // Prepare
    const builder = new InventoryBuilder();
    builder.buildx({ tags: ['v1'], pushedAt: T0 });
    builder.buildx({ tags: ['v2'], pushedAt: T0, platforms: 4 });
    const full = builder.inventory();
    const fetched = Object.fromEntries(manifestDigestsToFetch(full.images).map((d) => [d, full.manifests[d]!]));

    // Act
    const graph = buildImageGraph({ ...full, manifests: fetched });

    // Assess
    expect(graph.problems).toEqual([]);
    expect(graph.childrenUncertain).toBe(false);
    expect([...graph.nodes.values()].filter((n) => n.parents.length === 0).map((n) => n.kind)).toEqual(['index', 'index']);
  });
});

describe('buildImageGraph: node ids', () => {
  it('numbers the nodes 0 to size - 1, also when DescribeImages lists a digest twice, and the planner reads outcomes by them', () => {
    // Prepare: an old untagged image listed twice (its last record counts), and a newer one
    const repo = new InventoryBuilder();
    const old = repo.single({ tags: [], pushedAt: T0 });
    const young = repo.single({ tags: [], pushedAt: T0 + 9 * DAY });
    const inventory = repo.inventory();
    const twice: RepositoryInventory = { ...inventory, images: [inventory.images[0]!, ...inventory.images] };

    // Act
    const graph = buildImageGraph(twice);
    const plan = planRepository({ inventory: twice, config: parseConfig({ maxExpireShare: 1 }, 'test'), pins: { known: true, digests: new Map() }, state: null, currentPolicyText: null, now: T0 + 10 * DAY });

    // Assess
    expect([...graph.nodes.values()].map((node) => node.id).sort()).toEqual([0, 1]);
    expect(plan.images.map((image) => [image.digest, image.decision])).toEqual([
      [young, 'pending'],
      [old, 'expire'],
    ]);
  });
});
