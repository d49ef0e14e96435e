// Organization-wide pins (issue 10 point 2): the document format, stale publishers that are never forgotten, a
// publisher that releases a registry it no longer uses, and the two-account demo on the emulator.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendOrgPins, createDirectoryOrgPinStore, createOrgPinSource, createOrgPinWiring, ORG_PINS_STALE_AFTER_MS, publishOrgPins } from '../../lambda/adapters/pins-org.js';
import { protectOnEvent } from '../../lambda/app/protect-on-event.js';
import { parseConfig } from '../../lambda/domain/config.js';
import { parseUseEvent } from '../../lambda/domain/events.js';
import { ecsTaskEvent } from './support.js';
import { documentsToPublish, orgPinsKey, parsePublishedPins } from '../../lambda/domain/org-pins.js';
import { runOrgPinsDemo } from '../../scripts/demo-org-pins.js';

const A = { accountId: '111111111111', region: 'eu-west-1' };
const B = { accountId: '222222222222', region: 'eu-west-1' };
const C = { accountId: '333333333333', region: 'us-east-1' };
const DIGEST = `sha256:${'b'.repeat(64)}`;
const T = Date.UTC(2026, 0, 1);

describe('published pins', () => {
  it('groups a publisher\'s uses by registry, leaving out its own registry', () => {
    // Act
    const docs = documentsToPublish(B, [
      { registry: A, repository: 'api', digest: DIGEST, source: 'ecs:prod/api' },
      { registry: A, repository: 'api', digest: DIGEST, source: 'ecs:prod/api' },
      { registry: B, repository: 'own', tag: '1', source: 'ecs:prod/own' },
      { registry: C, repository: 'fn', tag: '2', source: 'lambda:fn' },
    ], T);

    // Assess
    expect(docs).toEqual([
      { version: 1, publisher: B, registry: A, publishedAt: T, references: [{ repository: 'api', digest: DIGEST, source: 'ecs:prod/api' }] },
      { version: 1, publisher: B, registry: C, publishedAt: T, references: [{ repository: 'fn', tag: '2', source: 'lambda:fn' }] },
    ]);
  });

  it.each([
    ['{', /is not valid JSON/],
    [JSON.stringify({ version: 2 }), /version must be 1/],
    [JSON.stringify({ version: 1, publisher: { accountId: 'x', region: 'r' } }), /publisher must be/],
    [JSON.stringify({ version: 1, publisher: B, registry: A, publishedAt: T, references: [{ repository: 'api', source: 's' }] }), /references\[0\] needs a digest or a tag/],
  ])('rejects a malformed document %#, naming the field', (text, message) => {
    // Act / Assess
    expect(() => parsePublishedPins(text, 'org pins k')).toThrow(message);
  });
});

describe('org pin store and source', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'org-pins-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a silent publisher\'s last pins and names it stale', async () => {
    // Prepare
    const store = createDirectoryOrgPinStore(dir);
    await publishOrgPins(store, B, [{ registry: A, repository: 'api', digest: DIGEST, source: 'ecs:prod/api' }], T);
    const stale: string[] = [];
    const source = createOrgPinSource(store, A, { now: () => T + ORG_PINS_STALE_AFTER_MS + 1, onStale: (s) => stale.push(...s.map((p) => p.publisher.accountId)) });

    // Act
    const references = await source.discover();

    // Assess
    expect(references).toEqual([{ repository: 'api', digest: DIGEST, source: `org:${B.accountId}/${B.region}:ecs:prod/api` }]);
    expect(stale).toEqual([B.accountId]);
  });

  it('releases a registry the publisher no longer uses with an empty document, and fails on a corrupt one', async () => {
    // Prepare
    const store = createDirectoryOrgPinStore(dir);
    await publishOrgPins(store, B, [{ registry: A, repository: 'api', digest: DIGEST, source: 'ecs:prod/api' }], T);

    // Act
    await publishOrgPins(store, B, [], T + 1);
    const released = await createOrgPinSource(store, A, { now: () => T + 2 }).discover();
    await store.write(orgPinsKey(A, C), '{"version": 1}');
    const corrupt = createOrgPinSource(store, A, { now: () => T + 2 }).discover();

    // Assess
    expect(released).toEqual([]);
    await expect(corrupt).rejects.toThrow(/org pins org-pins\/111111111111\/eu-west-1\/333333333333-us-east-1\.json: publisher must be/);
  });
});

describe('org pin wiring', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'org-wiring-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes what the watched sources saw, and nothing when one of them failed (a partial scan would release pins)', async () => {
    // Prepare
    const store = createDirectoryOrgPinStore(dir);
    await publishOrgPins(store, B, [{ registry: A, repository: 'api', digest: DIGEST, source: 'ecs:prod/old' }], T);
    const failing = createOrgPinWiring(store, B, { now: () => T + 1 });
    const ecs = failing.watch({ name: 'ecs', discover: async () => { failing.onForeignReference({ registry: A, repository: 'api', tag: 'new', source: 'ecs:prod/new' }); throw new Error('ThrottlingException'); } });
    const working = createOrgPinWiring(store, B, { now: () => T + 2 });
    const lambda = working.watch({ name: 'lambda', discover: async () => { working.onForeignReference({ registry: A, repository: 'fn', tag: '3', source: 'lambda:fn' }); return []; } });

    // Act
    await expect(ecs.discover()).rejects.toThrow(/Throttling/);
    await failing.source.discover();
    const afterFailure = await createOrgPinSource(store, A, { now: () => T + 3 }).discover();
    await lambda.discover();
    await working.source.discover();
    const afterSuccess = await createOrgPinSource(store, A, { now: () => T + 3 }).discover();

    // Assess
    expect(afterFailure.map((r) => r.source)).toEqual([`org:${B.accountId}/${B.region}:ecs:prod/old`]);
    expect(afterSuccess.map((r) => r.source)).toEqual([`org:${B.accountId}/${B.region}:lambda:fn`]);
  });
});

describe('a cross-account use announced by event', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'org-event-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is published at once for the registry's janitor, next to what the nightly scan published", async () => {
    // Prepare
    const store = createDirectoryOrgPinStore(dir);
    await publishOrgPins(store, B, [{ registry: A, repository: 'api', tag: '1', source: 'ecs:prod/old' }], T);
    const event = parseUseEvent(ecsTaskEvent([{ image: `${A.accountId}.dkr.ecr.${A.region}.amazonaws.com/api:ci-9`, imageDigest: DIGEST }]))!;
    const unused = () => {
      throw new Error('no registry call is expected for a foreign image');
    };
    const deps = {
      registry: { getManifests: unused, putTag: unused, repositoryTags: unused, describeImages: unused },
      stateStore: { load: unused, save: unused },
      clock: { now: () => T + 1 },
      log: { info: () => {}, warn: () => {}, error: () => {} },
      registryAddress: B,
      publishForeign: async (refs: Parameters<typeof appendOrgPins>[2]) => {
        await appendOrgPins(store, B, refs, T + 1);
      },
    };

    // Act
    const result = await protectOnEvent(deps, { config: parseConfig({}, 'test') }, event);
    const seenByA = await createOrgPinSource(store, A, { now: () => T + 2 }).discover();

    // Assess
    expect(result).toMatchObject({ failed: 0, publishedForeign: 1, repositories: [] });
    expect(seenByA).toEqual([
      { repository: 'api', tag: '1', source: `org:${B.accountId}/${B.region}:ecs:prod/old` },
      { repository: 'api', digest: DIGEST, tag: 'ci-9', source: `org:${B.accountId}/${B.region}:event:ecs:prod/service:api` },
    ]);
  });
});

describe('two-account demo on the emulator', () => {
  it("account A keeps the image account B runs, and loses it without the org pins", async () => {
    // Act
    const withOrgPins = await runOrgPinsDemo();
    const without = await runOrgPinsDemo({ withOrgPins: false });

    // Assess
    expect(withOrgPins).toMatchObject({ survived: true, publishedDocuments: 1 });
    expect(withOrgPins.expired).toBeGreaterThan(0);
    expect(without.survived).toBe(false);
  });
});
