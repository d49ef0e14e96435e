// Run state in the stack's S3 bucket: one object per repository, `state/<repository>.json`.
import { GetObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StateStore } from '../app/ports.js';
import { parseStateText, stateToText } from './state-codec.js';

export function createS3StateStore(client: S3Client, bucket: string, prefix = 'state/'): StateStore {
  const keyOf = (repository: string) => `${prefix}${repository}.json`;
  return {
    async load(repository) {
      const key = keyOf(repository);
      let text: string;
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!response.Body) throw new Error(`s3://${bucket}/${key} returned no body`);
        text = await response.Body.transformToString('utf8');
      } catch (error) {
        // NoSuchKey needs s3:ListBucket; without it S3 says AccessDenied and the repository stays blocked (fail closed).
        if ((error as Error).name === 'NoSuchKey') return null;
        throw error;
      }
      return parseStateText(text, `state object s3://${bucket}/${key}`, repository);
    },

    async save(state) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: keyOf(state.repository), Body: stateToText(state), ContentType: 'application/json' }),
      );
    },

    async repositories() {
      const names: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
        for (const { Key } of page.Contents ?? []) {
          if (Key?.endsWith('.json')) names.push(Key.slice(prefix.length, -'.json'.length));
        }
      }
      return names;
    },
  };
}
