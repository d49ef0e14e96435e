// RegistryPort over the ECR API: paginated reads, batched writes, failures[] read rather than counted away.
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  ListImageReferrersCommand,
  PutImageCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  paginateDescribeImages,
  paginateDescribeRepositories,
  type ECRClientConfig,
  type ImageDetail,
  type ImageFailure,
} from '@aws-sdk/client-ecr';
import type { ManifestFetch, PolicyPreview, RegistryPort, TagDeletion, WriteFailure } from '../app/ports.js';
import type { Digest, ImageRecord } from '../domain/types.js';
import { chunks } from './chunks.js';

export interface EcrClientOptions {
  region?: string;
  /** Otherwise the SDK reads AWS_ENDPOINT_URL_ECR (the emulator) or uses the regional endpoint. */
  endpoint?: string;
  maxAttempts?: number;
  credentials?: ECRClientConfig['credentials'];
  /** Tests pass a fake transport here. */
  requestHandler?: ECRClientConfig['requestHandler'];
}

/** ECR's per-account rates are shared with CI pushes: back off adaptively and retry generously. */
export function makeEcrClient(options: EcrClientOptions = {}): ECRClient {
  return new ECRClient({
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 8,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.requestHandler !== undefined ? { requestHandler: options.requestHandler } : {}),
  });
}

/** Every manifest format we understand; listing them all stops ECR from converting a manifest on the way out. */
export const ACCEPTED_MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

const BATCH_SIZE = 100; // BatchGetImage and BatchDeleteImage take at most 100 image ids
const DESCRIBE_PAGE_SIZE = 1000;
const REFERRERS_PAGE_SIZE = 50;

export interface ImageReferrerRecord {
  digest: Digest;
  mediaType?: string;
  artifactType?: string;
  sizeBytes?: number;
  annotations?: Record<string, string>;
}

export interface EcrRegistry extends RegistryPort {
  /** OCI 1.1 referrers of `subjectDigest` (ListImageReferrers, 50 per page). */
  listImageReferrers(repository: string, subjectDigest: Digest): Promise<ImageReferrerRecord[]>;
}

export interface EcrRegistryOptions {
  /** Talk to another account's registry; by default the caller's own. */
  registryId?: string;
  /** How long to wait for ECR's lifecycle preview, and between polls. */
  previewTimeoutMs?: number;
  previewPollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const PREVIEW_PAGE_SIZE = 100;

export function createEcrRegistry(client: ECRClient, options: EcrRegistryOptions = {}): EcrRegistry {
  const counts: Record<string, number> = {};
  // In the deserialize step, which runs once per attempt: retries are counted too.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      counts[operation] = (counts[operation] ?? 0) + 1;
      return next(args);
    },
    { step: 'deserialize', priority: 'high' },
  );

  const registryScope = options.registryId !== undefined ? { registryId: options.registryId } : {};
  let knownRegistryId: string | undefined = options.registryId;

  return {
    async registryId() {
      if (knownRegistryId !== undefined) return knownRegistryId;
      const repositories = await client.send(new DescribeRepositoriesCommand({ maxResults: 1 }));
      knownRegistryId = repositories.repositories?.[0]?.registryId;
      if (knownRegistryId === undefined) {
        // No repository to read it from. DescribeRegistry needs its own permission: without it, unknown.
        try {
          knownRegistryId = (await client.send(new DescribeRegistryCommand({}))).registryId;
        } catch {
          return undefined;
        }
      }
      return knownRegistryId;
    },

    async listRepositories() {
      const names: string[] = [];
      for await (const page of paginateDescribeRepositories({ client, pageSize: DESCRIBE_PAGE_SIZE }, { ...registryScope })) {
        for (const repository of page.repositories ?? []) {
          if (!repository.repositoryName) throw new Error('DescribeRepositories returned a repository without repositoryName');
          names.push(repository.repositoryName);
          knownRegistryId ??= repository.registryId;
        }
      }
      return names;
    },

    async describeImages(repository, onPage) {
      const byDigest = new Map<Digest, ImageRecord>();
      const pages = paginateDescribeImages(
        { client, pageSize: DESCRIBE_PAGE_SIZE },
        { ...registryScope, repositoryName: repository, maxResults: DESCRIBE_PAGE_SIZE },
      );
      for await (const page of pages) {
        for (const detail of page.imageDetails ?? []) {
          const record = toImageRecord(repository, detail);
          // An image can show up on two pages when pushes happen while we page; one record is enough.
          if (!byDigest.has(record.digest)) byDigest.set(record.digest, record);
        }
        onPage?.(byDigest.size);
      }
      return [...byDigest.values()];
    },

    async getManifests(repository, digests) {
      const result: ManifestFetch = { manifests: {}, failures: {} };
      for (const chunk of chunks([...new Set(digests)], BATCH_SIZE)) {
        const response = await client.send(
          new BatchGetImageCommand({
            ...registryScope,
            repositoryName: repository,
            imageIds: chunk.map((imageDigest) => ({ imageDigest })),
            acceptedMediaTypes: ACCEPTED_MANIFEST_MEDIA_TYPES,
          }),
        );
        for (const image of response.images ?? []) {
          const digest = image.imageId?.imageDigest;
          if (digest === undefined) continue;
          if (image.imageManifest === undefined) {
            result.failures[digest] = 'BatchGetImage returned the image without imageManifest';
            continue;
          }
          result.manifests[digest] = {
            text: image.imageManifest,
            ...(image.imageManifestMediaType !== undefined ? { mediaType: image.imageManifestMediaType } : {}),
          };
        }
        for (const failure of response.failures ?? []) {
          const digest = failure.imageId?.imageDigest;
          if (digest !== undefined && result.manifests[digest] === undefined) result.failures[digest] = describeFailure(failure);
        }
        // Neither returned nor listed as failed: still unknown, and the caller must treat it so.
        for (const digest of chunk) {
          if (result.manifests[digest] === undefined && result.failures[digest] === undefined) {
            result.failures[digest] = 'BatchGetImage returned neither the manifest nor a failure for it';
          }
        }
      }
      return result;
    },

    async getLifecyclePolicy(repository) {
      try {
        const response = await client.send(new GetLifecyclePolicyCommand({ ...registryScope, repositoryName: repository }));
        return response.lifecyclePolicyText ?? null;
      } catch (error) {
        if ((error as Error).name === 'LifecyclePolicyNotFoundException') return null;
        throw error;
      }
    },

    async previewLifecyclePolicy(repository, policyText): Promise<PolicyPreview> {
      const scope = { ...registryScope, repositoryName: repository };
      await client.send(new StartLifecyclePolicyPreviewCommand({ ...scope, lifecyclePolicyText: policyText }));
      const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
      const deadline = Date.now() + (options.previewTimeoutMs ?? 120_000);
      let page = await client.send(new GetLifecyclePolicyPreviewCommand({ ...scope, maxResults: PREVIEW_PAGE_SIZE }));
      while (page.status === 'IN_PROGRESS') {
        if (Date.now() > deadline) throw new Error(`the lifecycle policy preview of ${repository} did not complete in time`);
        await sleep(options.previewPollMs ?? 2_000);
        page = await client.send(new GetLifecyclePolicyPreviewCommand({ ...scope, maxResults: PREVIEW_PAGE_SIZE }));
      }
      if (page.status !== 'COMPLETE') throw new Error(`the lifecycle policy preview of ${repository} ended ${page.status ?? 'without a status'}`);
      // The preview must be the text we asked about: another preview started meanwhile would answer for its own.
      if (page.lifecyclePolicyText !== undefined && page.lifecyclePolicyText !== policyText) {
        throw new Error(`the lifecycle policy preview of ${repository} is for another policy text (a concurrent preview?)`);
      }
      const expiring: PolicyPreview['expiring'] = [];
      for (;;) {
        for (const result of page.previewResults ?? []) {
          if (result.action?.type !== 'EXPIRE') continue;
          if (!result.imageDigest) throw new Error(`GetLifecyclePolicyPreview for ${repository} returned a result without imageDigest`);
          expiring.push({ digest: result.imageDigest, ...(result.appliedRulePriority !== undefined ? { rulePriority: result.appliedRulePriority } : {}) });
        }
        if (!page.nextToken) break;
        page = await client.send(new GetLifecyclePolicyPreviewCommand({ ...scope, maxResults: PREVIEW_PAGE_SIZE, nextToken: page.nextToken }));
      }
      return { expiring };
    },

    async putLifecyclePolicy(repository, policyText) {
      await client.send(new PutLifecyclePolicyCommand({ ...registryScope, repositoryName: repository, lifecyclePolicyText: policyText }));
    },

    async putTag(repository, digest, manifest, tag) {
      try {
        await client.send(
          new PutImageCommand({
            ...registryScope,
            repositoryName: repository,
            // The exact bytes, so ECR computes the same digest and tags the existing image instead of a new one.
            imageManifest: manifest.text,
            ...(manifest.mediaType !== undefined ? { imageManifestMediaType: manifest.mediaType } : {}),
            imageTag: tag,
            imageDigest: digest,
          }),
        );
      } catch (error) {
        // ECR's answer when this exact manifest already carries this tag: what we wanted.
        if ((error as Error).name === 'ImageAlreadyExistsException') return;
        throw error;
      }
    },

    async deleteTags(repository, tags) {
      const deleted: TagDeletion[] = [];
      const failures: WriteFailure[] = [];
      for (const chunk of chunks(tags, BATCH_SIZE)) {
        try {
          const response = await client.send(
            new BatchDeleteImageCommand({
              ...registryScope,
              repositoryName: repository,
              imageIds: chunk.map(({ digest, tag }) => ({ imageDigest: digest, imageTag: tag })),
            }),
          );
          const confirmed = new Set<TagDeletion>();
          for (const id of response.imageIds ?? []) {
            const requested = chunk.find(
              (t) => !confirmed.has(t) && (id.imageTag === undefined || t.tag === id.imageTag) && (id.imageDigest === undefined || t.digest === id.imageDigest),
            );
            if (requested) confirmed.add(requested);
          }
          deleted.push(...chunk.filter((t) => confirmed.has(t)));
          for (const failure of response.failures ?? []) {
            failures.push({
              ...(failure.imageId?.imageDigest !== undefined ? { digest: failure.imageId.imageDigest } : {}),
              ...(failure.imageId?.imageTag !== undefined ? { tag: failure.imageId.imageTag } : {}),
              code: failure.failureCode ?? 'Unknown',
              message: failure.failureReason ?? 'no reason given',
            });
          }
        } catch (error) {
          // The whole call failed (access, throttling past every retry): each id in it failed, the others may not.
          const { name, message } = error as Error;
          for (const { digest, tag } of chunk) failures.push({ digest, tag, code: name, message });
        }
      }
      return { deleted, failures };
    },

    async listImageReferrers(repository, subjectDigest) {
      const referrers: ImageReferrerRecord[] = [];
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new ListImageReferrersCommand({
            ...registryScope,
            repositoryName: repository,
            subjectId: { imageDigest: subjectDigest },
            maxResults: REFERRERS_PAGE_SIZE,
            ...(nextToken !== undefined ? { nextToken } : {}),
          }),
        );
        for (const referrer of page.referrers ?? []) {
          if (!referrer.digest) throw new Error(`ListImageReferrers for ${repository}@${subjectDigest} returned a referrer without digest`);
          referrers.push({
            digest: referrer.digest,
            ...(referrer.mediaType !== undefined ? { mediaType: referrer.mediaType } : {}),
            ...(referrer.artifactType !== undefined ? { artifactType: referrer.artifactType } : {}),
            ...(referrer.size !== undefined ? { sizeBytes: referrer.size } : {}),
            ...(referrer.annotations !== undefined ? { annotations: referrer.annotations } : {}),
          });
        }
        nextToken = page.nextToken;
      } while (nextToken);
      return referrers;
    },

    callCounts() {
      return { ...counts };
    },
  };
}

/** Fails closed: a detail we cannot place in time or identify must stop the repository, not be guessed. */
export function toImageRecord(repository: string, detail: ImageDetail): ImageRecord {
  const digest = detail.imageDigest;
  if (!digest) throw new Error(`DescribeImages for ${repository} returned an image without imageDigest`);
  const pushedAt = detail.imagePushedAt?.getTime();
  if (pushedAt === undefined || !Number.isFinite(pushedAt)) {
    throw new Error(`DescribeImages for ${repository} returned image ${digest} without a valid imagePushedAt`);
  }
  const lastPulledAt = detail.lastRecordedPullTime?.getTime();
  return {
    digest,
    tags: detail.imageTags ?? [],
    pushedAt,
    // Only the report uses sizes: a missing one under-reports, it does not make anything unsafe.
    sizeBytes: detail.imageSizeInBytes ?? 0,
    ...(detail.imageManifestMediaType !== undefined ? { manifestMediaType: detail.imageManifestMediaType } : {}),
    ...(detail.artifactMediaType !== undefined ? { artifactMediaType: detail.artifactMediaType } : {}),
    ...(lastPulledAt !== undefined && Number.isFinite(lastPulledAt) ? { lastPulledAt } : {}),
    ...(detail.subjectManifestDigest !== undefined ? { subjectDigest: detail.subjectManifestDigest } : {}),
  };
}

function describeFailure(failure: ImageFailure): string {
  return `${failure.failureCode ?? 'Unknown'}: ${failure.failureReason ?? 'no reason given'}`;
}
