// The Step Functions steps' hand-over objects (runs/<runId>/...) in the state bucket (lambda/app/run-steps.ts).
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RunStepStore } from '../app/run-steps.js';

export function createS3RunStore(client: Pick<S3Client, 'send'>, bucket: string): RunStepStore {
  return {
    bucket,
    async put(key, text) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: 'application/json' }));
    },
    async get(key) {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!response.Body) throw new Error(`s3://${bucket}/${key} returned no body`);
      return response.Body.transformToString('utf8');
    },
  };
}
