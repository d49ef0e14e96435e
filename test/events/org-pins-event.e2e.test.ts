// A new cross-account use reaches the registry's janitor within minutes: account B's event path publishes it to the
// organization pins bucket, the bucket's S3 event is forwarded to account A, and A's event path protects the image in
// A's registry (emulator, pessimistic profile) before ECR's lifecycle can expire it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { appendOrgPins, createDirectoryOrgPinStore } from '../../lambda/adapters/pins-org.js';
import { protectOnEvent } from '../../lambda/app/protect-on-event.js';
import { parseUseEvent } from '../../lambda/domain/events.js';
import { orgPinsKey } from '../../lambda/domain/org-pins.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { janitorConfig, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';
import { ACCOUNT, REGION } from './support.js';

const A = { accountId: ACCOUNT, region: REGION };
const B = { accountId: '222222222222', region: REGION };
const BUCKET = 'org-pins-bucket';

function objectCreated(bucket: string, key: string) {
  return { version: '0', id: 'e1', 'detail-type': 'Object Created', source: 'aws.s3', account: '999999999999', time: '2026-01-02T14:00:00Z', region: REGION, resources: [], detail: { version: '0', bucket: { name: bucket }, object: { key, size: 100 }, reason: 'PutObject' } };
}

describe('organization pins by event', () => {
  const world = useJanitorWorld({ repositories: ['platform/api'] });
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'org-event-e2e-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function deps(store: ReturnType<typeof createDirectoryOrgPinStore>) {
    return { registry: world.newRegistry(), stateStore: world.stateStore, clock: world.clock, log: world.log, registryAddress: A, readOrgObject: (key: string) => store.read(key) };
  }

  it("protects in A's registry the image B's service just started, from B's published document", async () => {
    // Prepare
    const image = await pushSingleImage(world.client, 'platform/api', { tags: ['ci-3'], seed: 'api-3', bytes: SMALL });
    const store = createDirectoryOrgPinStore(dir);
    await appendOrgPins(store, B, [{ registry: A, repository: 'platform/api', digest: image.digest, tag: 'ci-3', source: 'event:ecs:prod/service:api' }], world.clock.now());
    const event = parseUseEvent(objectCreated(BUCKET, orgPinsKey(A, B)))!;

    // Act
    const result = await protectOnEvent(deps(store), { config: janitorConfig({ pins: { ecs: false, lambda: false, orgBucket: BUCKET } }) }, event);

    // Assess
    expect(result).toMatchObject({ kind: 'org-pins', failed: 0, repositories: [{ repository: 'platform/api', tagged: [image.digest] }] });
    expect(await world.tagsOf('platform/api', image.digest)).toEqual(['ci-3', protectionTagFor(image.digest)].sort());
  });

  it('ignores another bucket and another registry\'s prefix without reading them', async () => {
    // Prepare
    const store = createDirectoryOrgPinStore(dir);
    const config = janitorConfig({ pins: { ecs: false, lambda: false, orgBucket: BUCKET } });

    // Act
    const otherBucket = await protectOnEvent(deps(store), { config }, parseUseEvent(objectCreated('someone-elses', orgPinsKey(A, B)))!);
    const otherPrefix = await protectOnEvent(deps(store), { config }, parseUseEvent(objectCreated(BUCKET, orgPinsKey({ accountId: '333333333333', region: REGION }, B)))!);

    // Assess
    expect(otherBucket.ignored[0]?.reason).toMatch(/is not the organization pins bucket/);
    expect(otherPrefix.ignored[0]?.reason).toMatch(/not under this registry's prefix org-pins\/000000000000\/us-east-1\//);
  });
});
