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
  ListTagsForResourceCommand,
  PutImageCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  paginateDescribeImages,
  paginateDescribeRepositories,
  paginateGetLifecyclePolicyPreview,
  type ECRClientConfig,
  type GetLifecyclePolicyPreviewCommandOutput,
  type ImageDetail,
  type ImageFailure,
  type ImageStatusFilter,
} from '@aws-sdk/client-ecr';
import { ACCEPTED_MANIFEST_MEDIA_TYPES as ACCEPTED_MEDIA_TYPES } from '../domain/media-types.js';
import { PreviewNotCompletedError, type ManifestFetch, type PolicyPreview, type RegistryPort, type TagDeletion, type WriteFailure } from '../app/ports.js';
import type { PreviewRead, PreviewSteps } from '../app/preview-pipeline.js';
import { protectionTagFor } from '../domain/patterns.js';
import { samePolicy } from '../domain/policy.js';
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
  /**
   * Replaces the adaptive retries below (maxAttempts included). Tests inject the SDK's own strategy with zero backoff:
   * the same errors are retried as often, without the waiting.
   */
  retryStrategy?: ECRClientConfig['retryStrategy'];
}

/** ECR's per-account rates are shared with CI pushes: back off adaptively and retry generously. */
export function makeEcrClient(options: EcrClientOptions = {}): ECRClient {
  return new ECRClient({
    ...(options.retryStrategy !== undefined ? { retryStrategy: options.retryStrategy } : { retryMode: 'adaptive', maxAttempts: options.maxAttempts ?? 8 }),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.requestHandler !== undefined ? { requestHandler: options.requestHandler } : {}),
  });
}

/** Every manifest format we understand (domain/media-types.ts), as the mutable list the SDK's input type wants. */
export const ACCEPTED_MANIFEST_MEDIA_TYPES: string[] = [...ACCEPTED_MEDIA_TYPES];

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

export interface EcrRegistry extends RegistryPort, PreviewSteps {
  /** OCI 1.1 referrers of `subjectDigest` (ListImageReferrers, 50 per page). */
  listImageReferrers(repository: string, subjectDigest: Digest): Promise<ImageReferrerRecord[]>;
}

export interface EcrRegistryOptions {
  /** Talk to another account's registry; by default the caller's own. */
  registryId?: string;
  /**
   * How long to wait, in all, for ECR's lifecycle preview (a running preview of someone else's included); default 60 s.
   * Past it the policy is not installed this run.
   */
  previewTimeoutMs?: number;
  /** First wait between polls; doubles up to previewMaxPollMs. */
  previewPollMs?: number;
  previewMaxPollMs?: number;
  /** Tests pass a fake clock and sleep. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const DEFAULT_PREVIEW_TIMEOUT_MS = 60_000;
const DEFAULT_PREVIEW_POLL_MS = 1_000;
const DEFAULT_PREVIEW_MAX_POLL_MS = 10_000;
/** Also bounds a wait whose delays are 0 (emulator runs): a preview that never completes must not spin forever. */
const MAX_PREVIEW_POLLS = 200;

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
  const repositoryArns = new Map<string, string>();

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
          if (repository.repositoryArn) repositoryArns.set(repository.repositoryName, repository.repositoryArn);
          knownRegistryId ??= repository.registryId;
        }
      }
      return names;
    },

    async repositoryTags(repository) {
      // DescribeRepositories returns no tags; ListTagsForResource wants the ARN, which the listing usually gave us.
      try {
        let arn = repositoryArns.get(repository);
        if (arn === undefined) {
          const described = await client.send(new DescribeRepositoriesCommand({ ...registryScope, repositoryNames: [repository] }));
          arn = described.repositories?.[0]?.repositoryArn;
          if (arn === undefined) throw new Error(`DescribeRepositories returned no ARN for ${repository}`);
          repositoryArns.set(repository, arn);
        }
        const { tags } = await client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
        return Object.fromEntries((tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      } catch (error) {
        if ((error as Error).name === 'RepositoryNotFoundException') return null;
        throw error;
      }
    },

    async describeImages(repository, onPage) {
      const byDigest = new Map<Digest, ImageRecord>();
      const read = async (imageStatus: ImageStatusFilter | undefined) => {
        const pages = paginateDescribeImages(
          { client, pageSize: DESCRIBE_PAGE_SIZE },
          { ...registryScope, repositoryName: repository, maxResults: DESCRIBE_PAGE_SIZE, ...(imageStatus ? { filter: { imageStatus } } : {}) },
        );
        for await (const page of pages) {
          for (const detail of page.imageDetails ?? []) {
            const record = toImageRecord(repository, detail);
            // An image can show up on two pages when pushes happen while we page; one record is enough.
            if (!byDigest.has(record.digest)) byDigest.set(record.digest, record);
          }
          onPage?.(byDigest.size);
        }
      };
      // DescribeImages returns ACTIVE images unless asked: archived ones too, or a pin to one would look unresolved.
      try {
        await read('ANY');
      } catch (error) {
        if (!isFilterRejected(error)) throw error;
        // A registry that does not know ANY: the default read, then each archive status it knows (none: no archive).
        byDigest.clear();
        await read(undefined);
        for (const status of ['ARCHIVED', 'ACTIVATING'] as const) {
          try {
            await read(status);
          } catch (inner) {
            if (!isFilterRejected(inner)) throw inner;
          }
        }
      }
      return [...byDigest.values()];
    },

    async getManifests(repository, digests, extraMediaTypes = []) {
      const result: ManifestFetch = { manifests: {}, failures: {} };
      // ECR answers UnsupportedImageType for a manifest whose type is not accepted (BatchGetImage, acceptedMediaTypes).
      const acceptedMediaTypes = [...new Set([...ACCEPTED_MANIFEST_MEDIA_TYPES, ...extraMediaTypes])];
      for (const chunk of chunks([...new Set(digests)], BATCH_SIZE)) {
        const response = await client.send(
          new BatchGetImageCommand({
            ...registryScope,
            repositoryName: repository,
            imageIds: chunk.map((imageDigest) => ({ imageDigest })),
            acceptedMediaTypes,
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
      // Own loop rather than waitUntilLifecyclePolicyPreviewComplete: that waiter sleeps at least 5 s on real timers,
      // retries EXPIRED and every error (AccessDenied included) until its deadline; here each of those ends at once.
      const scope = { ...registryScope, repositoryName: repository };
      const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
      const now = options.now ?? Date.now;
      const timeoutMs = options.previewTimeoutMs ?? DEFAULT_PREVIEW_TIMEOUT_MS;
      const deadline = now() + timeoutMs;
      const maxDelay = options.previewMaxPollMs ?? DEFAULT_PREVIEW_MAX_POLL_MS;
      const firstDelay = options.previewPollMs ?? DEFAULT_PREVIEW_POLL_MS;
      let delay = firstDelay;
      let polls = 0;
      const notTonight = (why: string) => new PreviewNotCompletedError(`the lifecycle policy preview of ${repository} ${why}; policy not installed this run`);
      const waitOrGiveUp = async (why: string) => {
        polls += 1;
        if (polls > MAX_PREVIEW_POLLS || now() + delay > deadline) throw notTonight(`${why} after ${Math.round(timeoutMs / 1000)} s`);
        await sleep(delay);
        delay = Math.min(maxDelay, delay * 2);
      };
      const poll = () => client.send(new GetLifecyclePolicyPreviewCommand({ ...scope, maxResults: PREVIEW_PAGE_SIZE }));

      for (;;) {
        try {
          await client.send(new StartLifecyclePolicyPreviewCommand({ ...scope, lifecyclePolicyText: policyText }));
          delay = firstDelay; // our own preview: poll it soon, whatever the wait for someone else's took
          break;
        } catch (error) {
          if ((error as Error).name !== 'LifecyclePolicyPreviewInProgressException') throw error;
          // Someone else's preview runs: wait for it to finish (polling it is what moves it on), then start ours.
          await waitOrGiveUp('could not start: another preview of the repository was still running');
          while ((await poll()).status === 'IN_PROGRESS') await waitOrGiveUp('could not start: another preview of the repository was still running');
        }
      }
      let page: GetLifecyclePolicyPreviewCommandOutput = await poll();
      while (page.status === 'IN_PROGRESS') {
        await waitOrGiveUp('was still IN_PROGRESS');
        page = await poll();
      }
      return readPreviewPages(client, scope, policyText, page, notTonight);
    },

    // The two halves of previewLifecyclePolicy, for the pipeline that starts many previews and polls them in one loop.
    async startLifecyclePolicyPreview(repository, policyText) {
      try {
        await client.send(new StartLifecyclePolicyPreviewCommand({ ...registryScope, repositoryName: repository, lifecyclePolicyText: policyText }));
        return 'started';
      } catch (error) {
        if ((error as Error).name === 'LifecyclePolicyPreviewInProgressException') return 'busy';
        throw error;
      }
    },

    async readLifecyclePolicyPreview(repository, policyText): Promise<PreviewRead> {
      const scope = { ...registryScope, repositoryName: repository };
      const page = await client.send(new GetLifecyclePolicyPreviewCommand({ ...scope, maxResults: PREVIEW_PAGE_SIZE }));
      // ECR may hand the text back normalised, so the meaning is compared, not the bytes.
      const ours = page.lifecyclePolicyText === undefined || samePolicy(page.lifecyclePolicyText, policyText);
      if (page.status === 'IN_PROGRESS') return { status: 'in-progress', ours };
      if (!ours) return { status: 'another-policy', detail: page.status ?? 'without a status' };
      const notTonight = (why: string) => new PreviewNotCompletedError(`the lifecycle policy preview of ${repository} ${why}; policy not installed this run`);
      return { status: 'complete', preview: await readPreviewPages(client, scope, policyText, page, notTonight) };
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
      // Only our own tags, each naming its digest: the tag alone is sent, so it must not be able to name another image.
      const ours = tags.filter((t) => {
        if (protectionTagFor(t.digest) === t.tag) return true;
        failures.push({ digest: t.digest, tag: t.tag, code: 'NotOwnProtectionTag', message: `not sent: only the tag ${protectionTagFor(t.digest)} is removed from ${t.digest}` });
        return false;
      });
      for (const chunk of chunks(ours, BATCH_SIZE)) {
        const byTag = new Map(chunk.map((t) => [t.tag, t]));
        try {
          const response = await client.send(
            new BatchDeleteImageCommand({
              ...registryScope,
              repositoryName: repository,
              // The tag alone: under moto's reading an id with digest and tag deletes the whole image.
              imageIds: chunk.map(({ tag }) => ({ imageTag: tag })),
            }),
          );
          for (const id of response.imageIds ?? []) {
            const requested = id.imageTag !== undefined ? byTag.get(id.imageTag) : undefined;
            if (!requested) continue;
            byTag.delete(requested.tag);
            if (id.imageDigest !== undefined && id.imageDigest !== requested.digest) {
              failures.push({ digest: requested.digest, tag: requested.tag, code: 'TagWasOnAnotherImage', message: `ECR removed ${requested.tag} from ${id.imageDigest}, not from ${requested.digest}` });
            } else deleted.push(requested);
          }
          for (const failure of response.failures ?? []) {
            const tag = failure.imageId?.imageTag;
            const requested = tag !== undefined ? chunk.find((t) => t.tag === tag) : undefined;
            failures.push({
              ...(requested ? { digest: requested.digest } : failure.imageId?.imageDigest !== undefined ? { digest: failure.imageId.imageDigest } : {}),
              ...(tag !== undefined ? { tag } : {}),
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
    ...(detail.imageStatus !== undefined ? { imageStatus: detail.imageStatus } : {}),
    ...timeField('lastArchivedAt', detail.lastArchivedAt),
    ...timeField('lastActivatedAt', detail.lastActivatedAt),
  };
}

function timeField<K extends string>(key: K, value: Date | undefined): { [P in K]?: number } {
  const ms = value?.getTime();
  return (ms !== undefined && Number.isFinite(ms) ? { [key]: ms } : {}) as { [P in K]?: number };
}

/** The registry refused the DescribeImages imageStatus filter value (an ECR, or a local one, without it). */
function isFilterRejected(error: unknown): boolean {
  const { name, message } = error as { name?: string; message?: string };
  return (name === 'InvalidParameterException' || name === 'ValidationException') && /imageStatus|filter/i.test(message ?? '');
}

function describeFailure(failure: ImageFailure): string {
  return `${failure.failureCode ?? 'Unknown'}: ${failure.failureReason ?? 'no reason given'}`;
}

/**
 * The results of a finished preview, every page. Each page must be COMPLETE and for the text we asked about (a
 * concurrent preview answers for its own; ECR may hand the text back normalised, so the meaning is compared, not the
 * bytes); an action we do not know means no verdict.
 */
async function readPreviewPages(
  client: ECRClient,
  scope: { registryId?: string; repositoryName: string },
  policyText: string,
  first: GetLifecyclePolicyPreviewCommandOutput,
  notTonight: (why: string) => PreviewNotCompletedError,
): Promise<PolicyPreview> {
  const preview: PolicyPreview = { expiring: [], transitioning: [] };
  const read = (current: GetLifecyclePolicyPreviewCommandOutput) => {
    if (current.status !== 'COMPLETE') throw notTonight(`ended ${current.status ?? 'without a status'}`);
    if (current.lifecyclePolicyText !== undefined && !samePolicy(current.lifecyclePolicyText, policyText)) {
      throw notTonight('is for another policy text (a concurrent preview?)');
    }
    for (const result of current.previewResults ?? []) {
      if (!result.imageDigest) throw new Error(`GetLifecyclePolicyPreview for ${scope.repositoryName} returned a result without imageDigest`);
      const entry = { digest: result.imageDigest, ...(result.appliedRulePriority !== undefined ? { rulePriority: result.appliedRulePriority } : {}) };
      if (result.action?.type === 'EXPIRE') preview.expiring.push(entry);
      else if (result.action?.type === 'TRANSITION') {
        const target = result.action.targetStorageClass;
        preview.transitioning.push({ ...entry, ...(target !== undefined ? { targetStorageClass: target } : {}) });
      } else throw notTonight(`listed ${result.imageDigest} with an action we do not know (${String(result.action?.type)})`);
    }
  };
  read(first);
  if (first.nextToken) {
    const rest = paginateGetLifecyclePolicyPreview({ client, pageSize: PREVIEW_PAGE_SIZE, startingToken: first.nextToken }, scope);
    for await (const next of rest) read(next);
  }
  return preview;
}
