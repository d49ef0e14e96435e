import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { stateToText } from '../../lambda/adapters/state-codec.js';
import { createS3StateStore } from '../../lambda/adapters/state-s3.js';
import { StateIntegrityError } from '../../lambda/app/ports.js';
import type { RepositoryState } from '../../lambda/domain/types.js';
import { digestOf, fakeTransport, type CannedResponse, type SentRequest, TEST_CREDENTIALS } from './fake-aws.js';

const BUCKET = 'janitor-state';

/** A one-bucket S3 that keeps objects by request path. */
function fakeBucket(objects = new Map<string, string>()) {
  const respond = (request: SentRequest): CannedResponse => {
    const key = decodeURIComponent(request.path.replace(/^\//, ''));
    if (request.method === 'GET' && request.query['list-type'] === '2') {
      const prefix = request.query.prefix ?? '';
      const contents = [...objects.keys()].filter((k) => k.startsWith(prefix)).map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`);
      return {
        status: 200,
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name><Prefix>${prefix}</Prefix><KeyCount>${contents.length}</KeyCount><IsTruncated>false</IsTruncated>${contents.join('')}</ListBucketResult>`,
      };
    }
    if (request.method === 'PUT') {
      objects.set(key, request.bodyText);
      return { status: 200, headers: { 'content-type': 'application/xml', etag: '"1"' }, body: '' };
    }
    const stored = objects.get(key);
    if (stored === undefined) {
      return {
        status: 404,
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key}</Key></Error>`,
      };
    }
    return { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(stored)) }, body: Readable.from([Buffer.from(stored)]) };
  };
  const transport = fakeTransport(respond);
  const client = new S3Client({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
  return { client, objects, transport };
}

const state: RepositoryState = {
  repository: 'team/web',
  pinsLastSeen: { [digestOf('pinned')]: 1_700_000_000_000 },
  lastInventory: { at: 1_700_000_000_000, digests: [digestOf('pinned')], bytes: [1234] },
};

describe('S3 state store', () => {
  test('saves to state/<repository>.json and loads it back', async () => {
    // Prepare
    const { client, objects, transport } = fakeBucket();
    const store = createS3StateStore(client, BUCKET);

    // Act
    await store.save(state);
    const loaded = await store.load('team/web');

    // Assess
    expect(loaded).toEqual(state);
    expect([...objects.keys()]).toEqual(['state/team/web.json']);
    expect(transport.requests[0]!.hostname).toBe(`${BUCKET}.s3.eu-west-1.amazonaws.com`);
    expect(transport.requests[0]!.headers['content-type']).toBe('application/json');
  });

  test('NoSuchKey means no state yet', async () => {
    // Prepare
    const { client } = fakeBucket();
    const store = createS3StateStore(client, BUCKET, 'custom/');

    // Act
    const loaded = await store.load('app');

    // Assess
    expect(loaded).toBeNull();
  });

  test('a corrupt object is an error naming the object', async () => {
    // Prepare
    const { client } = fakeBucket(new Map([['state/app.json', '{"repository":"app","pinsLastSeen":{"sha256:x":null}}']]));
    const store = createS3StateStore(client, BUCKET);

    // Act
    const load = store.load('app');

    // Assess
    await expect(load).rejects.toThrow('state object s3://janitor-state/state/app.json: pinsLastSeen["sha256:x"] must be a number');
  });

  test('an object copied from another repository, or edited, fails its integrity check', async () => {
    // Prepare
    const edited = JSON.parse(stateToText(state)) as { pinsLastSeen: Record<string, number> };
    edited.pinsLastSeen[digestOf('pinned')] = 0;
    const { client } = fakeBucket(
      new Map([
        ['state/app.json', stateToText({ ...state, repository: 'team/other' })],
        ['state/team/web.json', JSON.stringify(edited)],
      ]),
    );
    const store = createS3StateStore(client, BUCKET);

    // Act
    const copied = store.load('app');
    const changed = store.load('team/web');

    // Assess
    await expect(copied).rejects.toBeInstanceOf(StateIntegrityError);
    await expect(copied).rejects.toMatchObject({ reason: 'repository', message: expect.stringContaining('s3://janitor-state/state/app.json') });
    await expect(changed).rejects.toMatchObject({ reason: 'checksum', message: expect.stringContaining('s3://janitor-state/state/team/web.json') });
  });

  test('access denied is an error, not an empty state', async () => {
    // Prepare
    const transport = fakeTransport(() => ({
      status: 403,
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
    }));
    const client = new S3Client({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
    const store = createS3StateStore(client, BUCKET);

    // Act
    const load = store.load('app');

    // Assess
    await expect(load).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('listing', () => {
  test('names the repositories that have a state object under the prefix, and nothing else', async () => {
    // Prepare
    const { client, objects } = fakeBucket();
    const store = createS3StateStore(client, BUCKET);
    await store.save(state);
    await store.save({ ...state, repository: 'api' });
    objects.set('reports/2026-12-01.json', '{}');

    // Act
    const names = await store.repositories!();

    // Assess
    expect(names.sort()).toEqual(['api', 'team/web']);
  });
});
