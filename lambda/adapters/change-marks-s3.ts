// Change marks in the state bucket: `changes/<repository>` holds the time of the newest ECR push or delete event seen
// for the repository ("Amazon ECR events and EventBridge", ECR user guide: ECR Image Action, action-type PUSH or
// DELETE). A mark only moves forward, so an event arriving twice or late changes nothing; two events racing are
// settled by conditional writes (S3 user guide, "Add preconditions to S3 operations with conditional requests":
// If-Match / If-None-Match, 412 PreconditionFailed, 409 ConditionalRequestConflict).
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ChangeMarksPort } from '../app/run-janitor.js';

const ATTEMPTS = 5;

export function createS3ChangeMarks(client: S3Client, bucket: string, prefix = 'changes/'): ChangeMarksPort {
  const keyOf = (repository: string) => `${prefix}${repository}`;

  /** The stored mark and its ETag; null when there is none. Throws on anything unreadable (the caller reads whole). */
  async function read(repository: string): Promise<{ time: number; etag: string | undefined } | null> {
    const key = keyOf(repository);
    let text: string;
    let etag: string | undefined;
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!response.Body) throw new Error(`s3://${bucket}/${key} returned no body`);
      text = await response.Body.transformToString('utf8');
      etag = response.ETag;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return null;
      throw error;
    }
    return { time: parseMark(text, `change mark s3://${bucket}/${key}`, repository), etag };
  }

  return {
    async latest(repository) {
      return (await read(repository))?.time ?? null;
    },

    async record(repository, time) {
      if (!Number.isFinite(time)) throw new Error(`change mark for ${repository}: time must be a number of epoch milliseconds`);
      for (let attempt = 1; ; attempt++) {
        const current = await read(repository);
        if (current && current.time >= time) return;
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: keyOf(repository),
              Body: `${JSON.stringify({ repository, time: new Date(time).toISOString() })}\n`,
              ContentType: 'application/json',
              // Only over the mark just read (or none): a newer mark written in between is never overwritten.
              ...(current ? (current.etag !== undefined ? { IfMatch: current.etag } : {}) : { IfNoneMatch: '*' }),
            }),
          );
          return;
        } catch (error) {
          const name = (error as Error).name;
          const raced = name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
          if (!raced || attempt >= ATTEMPTS) throw error;
        }
      }
    },
  };
}

/** `{"repository": "...", "time": "<ISO 8601>"}`; throws naming the object and the field. */
export function parseMark(text: string, where: string, repository: string): number {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected {"repository", "time"}`);
  const record = value as Record<string, unknown>;
  if (record.repository !== repository) throw new Error(`${where}: repository is ${JSON.stringify(record.repository)}, expected "${repository}"`);
  const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
  if (!Number.isFinite(time)) throw new Error(`${where}: time must be an ISO 8601 time such as "2026-12-01T02:00:00Z"`);
  return time;
}
