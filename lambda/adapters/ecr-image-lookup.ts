// A few images by digest or tag (DescribeImages with imageIds): what the event path reads instead of a full listing.
// ECR fails the whole call with ImageNotFoundException when one id names nothing, so each id is its own call; an
// event names a handful of images. Source: Amazon ECR API Reference, "DescribeImages".
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import type { ImageLookupPort } from '../app/protect-on-event.js';
import type { ImageRecord } from '../domain/types.js';
import { toImageRecord } from './ecr-registry.js';

export function createEcrImageLookup(client: ECRClient): ImageLookupPort {
  return {
    async lookupImages(repository, ids) {
      const found = new Map<string, ImageRecord>();
      for (const id of ids) {
        try {
          const response = await client.send(
            new DescribeImagesCommand({
              repositoryName: repository,
              imageIds: [id.digest !== undefined ? { imageDigest: id.digest } : { imageTag: id.tag }],
            }),
          );
          for (const detail of response.imageDetails ?? []) {
            const record = toImageRecord(repository, detail);
            found.set(record.digest, record);
          }
        } catch (error) {
          const name = (error as Error).name;
          if (name === 'RepositoryNotFoundException') return null;
          if (name === 'ImageNotFoundException') continue;
          throw error;
        }
      }
      return [...found.values()];
    },
  };
}
