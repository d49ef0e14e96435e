// Change marks in S3 (lambda/adapters/change-marks-s3.ts) over the real S3 client and a fake bucket that honours
// conditional writes as the S3 user guide describes them ("Add preconditions to S3 operations with conditional
// requests": If-None-Match "*" fails with 412 when the key exists, If-Match fails with 412 when the ETag differs).
import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createS3ChangeMarks } from '../../lambda/adapters/change-marks-s3.js';
import { type CannedResponse, fakeTransport, type SentRequest, TEST_CREDENTIALS } from './fake-aws.js';

const BUCKET = 'janitor-state';
const T = Date.UTC(2026, 0, 2, 14, 0, 0);

function s3Error(status: number, code: string): CannedResponse {
  return { status, headers: { 'content-type': 'application/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>` };
}

/** One bucket: objects with a version-numbered ETag; `beforePut` lets another writer act between our read and write. */
function fakeBucket() {
  const objects = new Map<string, { text: string; etag: string }>();
  let version = 0;
  const bucket = {
    objects,
    beforePut: undefined as (() => void) | undefined,
    write(key: string, text: string) {
      objects.set(key, { text, etag: `"v${++version}"` });
    },
  };
  const respond = (request: SentRequest): CannedResponse => {
    const key = decodeURIComponent(request.path.replace(/^\//, ''));
    const stored = objects.get(key);
    if (request.method === 'PUT') {
      const hook = bucket.beforePut;
      bucket.beforePut = undefined;
      hook?.();
      const current = objects.get(key);
      if (request.headers['if-none-match'] === '*' && current) return s3Error(412, 'PreconditionFailed');
      if (request.headers['if-match'] !== undefined && request.headers['if-match'] !== current?.etag) return s3Error(412, 'PreconditionFailed');
      bucket.write(key, request.bodyText);
      return { status: 200, headers: { etag: objects.get(key)!.etag }, body: '' };
    }
    if (!stored) return s3Error(404, 'NoSuchKey');
    return { status: 200, headers: { 'content-type': 'application/json', etag: stored.etag, 'content-length': String(Buffer.byteLength(stored.text)) }, body: Readable.from([Buffer.from(stored.text)]) };
  };
  const transport = fakeTransport(respond);
  const client = new S3Client({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
  return { client, bucket, transport };
}

const mark = (repository: string, time: number) => `${JSON.stringify({ repository, time: new Date(time).toISOString() })}\n`;

describe('S3 change marks', () => {
  test('no mark reads as null; a mark is written once under changes/<repository> and read back', async () => {
    // Prepare
    const { client, bucket, transport } = fakeBucket();
    const marks = createS3ChangeMarks(client, BUCKET);

    // Act
    const before = await marks.latest('team/web');
    await marks.record('team/web', T);
    const after = await marks.latest('team/web');

    // Assess
    expect(before).toBeNull();
    expect(after).toBe(T);
    expect([...bucket.objects.keys()]).toEqual(['changes/team/web']);
    const put = transport.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers['if-none-match']).toBe('*');
  });

  test('only moves forward: an event arriving twice or late writes nothing', async () => {
    // Prepare
    const { client, bucket, transport } = fakeBucket();
    bucket.write('changes/app', mark('app', T));
    const marks = createS3ChangeMarks(client, BUCKET);

    // Act
    await marks.record('app', T);
    await marks.record('app', T - 3_600_000);
    await marks.record('app', T + 60_000);

    // Assess
    expect(transport.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
    expect(transport.requests.find((r) => r.method === 'PUT')!.headers['if-match']).toBe('"v1"');
    expect(await marks.latest('app')).toBe(T + 60_000);
  });

  test('a newer mark written by another event between our read and write is never overwritten', async () => {
    // Prepare
    const { client, bucket } = fakeBucket();
    bucket.write('changes/app', mark('app', T));
    bucket.beforePut = () => bucket.write('changes/app', mark('app', T + 120_000));
    const marks = createS3ChangeMarks(client, BUCKET);

    // Act
    await marks.record('app', T + 60_000);

    // Assess
    expect(await marks.latest('app')).toBe(T + 120_000);
  });

  test('an unreadable mark throws naming the object and the field (the nightly run then reads whole)', async () => {
    // Prepare
    const { client, bucket } = fakeBucket();
    bucket.write('changes/app', '{"repository": "app", "time": "yesterday"}');
    bucket.write('changes/web', mark('other', T));
    const marks = createS3ChangeMarks(client, BUCKET);

    // Act
    const badTime = await marks.latest('app').catch((error: Error) => error.message);
    const otherRepository = await marks.latest('web').catch((error: Error) => error.message);

    // Assess
    expect(badTime).toMatch(/change mark s3:\/\/janitor-state\/changes\/app: time must be an ISO 8601 time/);
    expect(otherRepository).toMatch(/changes\/web: repository is "other", expected "web"/);
  });
});
