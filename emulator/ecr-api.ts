// ECR's operations as the AWS JSON 1.1 protocol carries them: read the request body, act on the model, answer the
// shapes @aws-sdk/client-ecr deserializes (timestamps as epoch seconds). Field names follow the SDK's models_0.d.ts.
import { previewPolicy, validatePolicyText } from './lifecycle.js';
import { normalisePolicyText } from './profiles.js';
import {
  EcrApiError,
  TAG_MUTABILITIES,
  type ImageFailure,
  type ImageId,
  type LifecyclePreview,
  type PageCursor,
  type RegistryModel,
  type RepositoryStore,
  type StoredImage,
  type TagMutability,
  type TagMutabilityExclusionFilter,
  type TagStatusFilter,
  type ImageStatusFilter,
  matchesImageStatus,
} from './registry-model.js';

export interface OperationContext {
  /** Digests BatchDeleteImage reports as failures (fault injection). */
  refuseDeletes: ReadonlySet<string>;
  /** How previews started now end (fault injection); COMPLETE when absent. */
  previewOutcome?: 'EXPIRED' | 'FAILED';
}

/** A preview stays in progress for its polls, and at most an hour of model time (a janitor that stopped polling). */
const PREVIEW_MAX_MS = 3_600_000;

function previewInProgress(preview: LifecyclePreview, now: number): boolean {
  return (preview.pollsInProgress ?? 0) > 0 && now - (preview.startedAt ?? now) < PREVIEW_MAX_MS;
}

/** The status one GetLifecyclePolicyPreview poll sees; each poll while in progress uses one of the polls up. */
function previewStatus(preview: LifecyclePreview, now: number): 'IN_PROGRESS' | 'COMPLETE' | 'EXPIRED' | 'FAILED' {
  if (previewInProgress(preview, now)) {
    preview.pollsInProgress = (preview.pollsInProgress ?? 0) - 1;
    return 'IN_PROGRESS';
  }
  return preview.outcome ?? 'COMPLETE';
}

type Json = Record<string, unknown>;
export type OperationHandler = (model: RegistryModel, params: Params, context: OperationContext) => Json;

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
const TAG_STATUSES: readonly TagStatusFilter[] = ['TAGGED', 'UNTAGGED', 'ANY'];

function invalid(name: string, constraint: string): EcrApiError {
  return new EcrApiError('InvalidParameterException', `Invalid parameter at '${name}' failed to satisfy constraint: '${constraint}'`);
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Typed reads of a request body; a wrong type or range is InvalidParameterException, as ECR answers. */
export class Params {
  constructor(private readonly body: Json) {}

  static of(value: unknown): Params {
    if (!isRecord(value)) throw new EcrApiError('SerializationException', 'The request body must be a JSON object');
    return new Params(value);
  }

  has(name: string): boolean {
    return this.body[name] !== undefined && this.body[name] !== null;
  }

  string(name: string): string | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw invalid(name, 'Member must be a string');
    return value;
  }

  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw invalid(name, 'Member must not be null');
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw invalid(name, 'Member must be a boolean');
    return value;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(name, 'Member must be an integer');
    if (value < min) throw invalid(name, `Member must have value greater than or equal to ${min}`);
    if (value > max) throw invalid(name, `Member must have value less than or equal to ${max}`);
    return value;
  }

  stringList(name: string, max: number): string[] | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalid(name, 'Member must be a list of strings');
    if (value.length < 1 || value.length > max) throw invalid(name, `Member must have length between 1 and ${max}`);
    return value as string[];
  }

  /** A list of objects, 1..max entries. */
  list(name: string, max: number): Params[] | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => !isRecord(v))) throw invalid(name, 'Member must be a list of objects');
    if (value.length < 1 || value.length > max) throw invalid(name, `Member must have length less than or equal to ${max} and greater than or equal to 1`);
    return value.map((v) => new Params(v as Json));
  }

  object(name: string): Params | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (!isRecord(value)) throw invalid(name, 'Member must be an object');
    return new Params(value);
  }

  imageIds(name: string, max: number): ImageId[] | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw invalid(name, 'Member must be a list');
    if (value.length < 1 || value.length > max) throw invalid(name, `Member must have length less than or equal to ${max} and greater than or equal to 1`);
    return value.map((entry, i) => {
      if (!isRecord(entry)) throw invalid(`${name}.${i + 1}`, 'Member must be an object');
      const id = new Params(entry);
      const imageDigest = id.string('imageDigest');
      const imageTag = id.string('imageTag');
      return { ...(imageDigest !== undefined ? { imageDigest } : {}), ...(imageTag !== undefined ? { imageTag } : {}) };
    });
  }

  tagStatus(): TagStatusFilter {
    const status = this.object('filter')?.string('tagStatus') ?? 'ANY';
    if (!TAG_STATUSES.includes(status as TagStatusFilter)) throw invalid('filter.tagStatus', `Member must satisfy enum value set: [${TAG_STATUSES.join(', ')}]`);
    return status as TagStatusFilter;
  }
}

// ---- pagination tokens: opaque to clients, bound to the operation and repository they were issued for ----

interface TokenBody {
  op: string;
  scope: string;
  seq: number;
  skip: number;
}

function encodeToken(op: string, scope: string, cursor: PageCursor): string {
  const body: TokenBody = { op, scope, seq: cursor.seq, skip: cursor.skip };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

function decodeToken(token: string | undefined, op: string, scope: string): PageCursor | undefined {
  if (token === undefined) return undefined;
  try {
    const body: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isRecord(body) && body.op === op && body.scope === scope && Number.isInteger(body.seq) && Number.isInteger(body.skip)) {
      return { seq: body.seq as number, skip: body.skip as number };
    }
  } catch {
    // fall through: any unreadable token is the same client error
  }
  throw new EcrApiError('InvalidParameterException', 'Invalid parameter at \'nextToken\': the token is not one this operation issued');
}

const seconds = (ms: number): number => ms / 1000;

function imageIdOf(imageId: ImageId): Json {
  return { ...(imageId.imageDigest !== undefined ? { imageDigest: imageId.imageDigest } : {}), ...(imageId.imageTag !== undefined ? { imageTag: imageId.imageTag } : {}) };
}

function failureOf(failure: ImageFailure): Json {
  return { imageId: imageIdOf(failure.imageId), failureCode: failure.failureCode, failureReason: failure.failureReason };
}

function imageDetail(model: RegistryModel, store: RepositoryStore, image: StoredImage): Json {
  return {
    registryId: model.accountId,
    repositoryName: store.name,
    imageDigest: image.digest,
    ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
    imageSizeInBytes: store.sizeInBytes(image),
    imagePushedAt: seconds(image.pushedAt),
    imageManifestMediaType: image.manifestMediaType,
    ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
    ...(image.lastPulledAt !== undefined ? { lastRecordedPullTime: seconds(image.lastPulledAt) } : {}),
    ...(image.subjectDigest ? { subjectManifestDigest: image.subjectDigest } : {}),
    imageStatus: image.imageStatus ?? 'ACTIVE',
    ...(image.lastArchivedAt !== undefined ? { lastArchivedAt: seconds(image.lastArchivedAt) } : {}),
    ...(image.lastActivatedAt !== undefined ? { lastActivatedAt: seconds(image.lastActivatedAt) } : {}),
  };
}

function repositoryJson(model: RegistryModel, store: RepositoryStore): Json {
  return {
    repositoryArn: model.repositoryArn(store.name),
    registryId: model.accountId,
    repositoryName: store.name,
    repositoryUri: model.repositoryUri(store.name),
    createdAt: seconds(store.createdAt),
    imageTagMutability: store.imageTagMutability,
    ...(store.imageTagMutabilityExclusionFilters.length > 0 ? { imageTagMutabilityExclusionFilters: store.imageTagMutabilityExclusionFilters.map((f) => ({ ...f })) } : {}),
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
  };
}

function imageNotFound(model: RegistryModel, store: RepositoryStore, id: ImageId): EcrApiError {
  const shown = [id.imageDigest !== undefined ? `imageDigest=${id.imageDigest}` : '', id.imageTag !== undefined ? `imageTag=${id.imageTag}` : ''].filter(Boolean).join(', ');
  return new EcrApiError(
    'ImageNotFoundException',
    `The image with imageId {${shown}} does not exist within the repository with name '${store.name}' in the registry with id '${model.accountId}'`,
  );
}

function policyNotFound(model: RegistryModel, store: RepositoryStore): EcrApiError {
  return new EcrApiError(
    'LifecyclePolicyNotFoundException',
    `Lifecycle policy does not exist for the repository with name '${store.name}' in the registry with id '${model.accountId}'`,
  );
}

/** DescribeImages' and ListImages' filter.imageStatus: "If not specified, only images with ACTIVE status are returned." */
function imageStatusFilter(params: Params): ImageStatusFilter {
  const status = params.object('filter')?.string('imageStatus') ?? 'ACTIVE';
  if (!['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'].includes(status)) throw invalid('filter.imageStatus', 'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]');
  return status as ImageStatusFilter;
}

/**
 * imageTagMutability with its exclusion filters (CreateRepository / PutImageTagMutability, API reference): the filters
 * go with the _WITH_EXCLUSION settings and only with them.
 */
function tagMutabilityOf(params: Params, fallback: TagMutability | undefined): { mutability: TagMutability; filters: TagMutabilityExclusionFilter[] } {
  const given = params.string('imageTagMutability') ?? fallback;
  if (given === undefined) throw invalid('imageTagMutability', 'Member must not be null');
  if (!TAG_MUTABILITIES.includes(given as TagMutability)) throw invalid('imageTagMutability', `Member must satisfy enum value set: [${TAG_MUTABILITIES.join(', ')}]`);
  const mutability = given as TagMutability;
  const raw = params.list('imageTagMutabilityExclusionFilters', 5) ?? [];
  const filters = raw.map((entry, i) => {
    const filter = entry.string('filter');
    const filterType = entry.string('filterType');
    const at = `imageTagMutabilityExclusionFilters.${i + 1}`;
    if (filterType !== 'WILDCARD') throw invalid(`${at}.filterType`, 'Member must satisfy enum value set: [WILDCARD]');
    if (filter === undefined || !/^[0-9a-zA-Z._*-]{1,128}$/.test(filter)) throw invalid(`${at}.filter`, 'Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}');
    return { filterType, filter } as TagMutabilityExclusionFilter;
  });
  const withExclusion = mutability.endsWith('_WITH_EXCLUSION');
  if (withExclusion && filters.length === 0) {
    throw new EcrApiError('InvalidParameterException', `Invalid parameter: imageTagMutabilityExclusionFilters are required when imageTagMutability is ${mutability}`);
  }
  if (!withExclusion && filters.length > 0) {
    throw new EcrApiError('InvalidParameterException', `Invalid parameter: imageTagMutabilityExclusionFilters can only be used with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not ${mutability}`);
  }
  return { mutability, filters };
}

/** Tag list [{Key, Value}] of CreateRepository / TagResource as a record. */
function resourceTagsOf(params: Params): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [i, tag] of (params.list('tags', 200) ?? []).entries()) {
    const key = tag.string('Key');
    if (key === undefined || key === '') throw invalid(`tags.${i + 1}.Key`, 'Member must not be null');
    tags[key] = tag.string('Value') ?? '';
  }
  return tags;
}

/** The repository an ARN names (arn:aws:ecr:REGION:ACCOUNT:repository/NAME), or the error ECR answers. */
function repositoryOfArn(model: RegistryModel, arn: string): RepositoryStore {
  const prefix = `arn:aws:ecr:${model.region}:${model.accountId}:repository/`;
  if (!arn.startsWith(prefix)) throw invalid('resourceArn', `Invalid resource ARN: ${arn}`);
  return model.repository(arn.slice(prefix.length));
}

/** The policy text as the profile returns it: as submitted, or normalised. */
function policyTextOut(model: RegistryModel, text: string): string {
  return model.profile.policyText === 'normalised' ? normalisePolicyText(text) : text;
}

function scopeOf(model: RegistryModel, store: RepositoryStore): string {
  return `${model.accountId}/${store.name}/${store.seq}`;
}

export const ECR_OPERATIONS: Record<string, OperationHandler> = {
  DescribeRegistry: (model) => ({ registryId: model.accountId, replicationConfiguration: { rules: [] } }),

  CreateRepository: (model, params) => {
    const { mutability, filters } = tagMutabilityOf(params, 'MUTABLE');
    const tags = resourceTagsOf(params);
    const store = model.createRepository(params.requiredString('repositoryName'), {
      imageTagMutability: mutability,
      ...(filters.length > 0 ? { imageTagMutabilityExclusionFilters: filters } : {}),
    });
    store.resourceTags = tags;
    return { repository: repositoryJson(model, store) };
  },

  ListTagsForResource: (model, params) => {
    const store = repositoryOfArn(model, params.requiredString('resourceArn'));
    return { tags: Object.entries(store.resourceTags).map(([Key, Value]) => ({ Key, Value })) };
  },

  TagResource: (model, params) => {
    const store = repositoryOfArn(model, params.requiredString('resourceArn'));
    store.resourceTags = { ...store.resourceTags, ...resourceTagsOf(params) };
    return {};
  },

  UntagResource: (model, params) => {
    const store = repositoryOfArn(model, params.requiredString('resourceArn'));
    const keys = params.stringList('tagKeys', 200) ?? [];
    store.resourceTags = Object.fromEntries(Object.entries(store.resourceTags).filter(([key]) => !keys.includes(key)));
    return {};
  },

  PutImageTagMutability: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const { mutability, filters } = tagMutabilityOf(params, undefined);
    store.imageTagMutability = mutability;
    store.imageTagMutabilityExclusionFilters = filters;
    return {
      registryId: model.accountId,
      repositoryName: store.name,
      imageTagMutability: mutability,
      ...(filters.length > 0 ? { imageTagMutabilityExclusionFilters: filters.map((f) => ({ ...f })) } : {}),
    };
  },

  DeleteRepository: (model, params) => {
    const store = model.deleteRepository(params.requiredString('repositoryName'), params.boolean('force') ?? false);
    return { repository: repositoryJson(model, store) };
  },

  DescribeRepositories: (model, params) => {
    const names = params.stringList('repositoryNames', 100);
    const maxResults = params.integer('maxResults', 1, 1000);
    const token = params.string('nextToken');
    if (names) {
      if (maxResults !== undefined || token !== undefined) throw invalid('maxResults', 'maxResults and nextToken cannot be used with repositoryNames');
      return { repositories: names.map((name) => repositoryJson(model, model.repository(name))) };
    }
    const all = model.listRepositories();
    const cursor = decodeToken(token, 'DescribeRepositories', model.accountId);
    const start = cursor ? all.findIndex((store) => store.seq >= cursor.seq) : 0;
    const from = start === -1 ? all.length : start;
    const limit = maxResults ?? 100;
    const page = all.slice(from, from + limit);
    const next = all[from + limit];
    return {
      repositories: page.map((store) => repositoryJson(model, store)),
      ...(next ? { nextToken: encodeToken('DescribeRepositories', model.accountId, { seq: next.seq, skip: 0 }) } : {}),
    };
  },

  DescribeImages: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const ids = params.imageIds('imageIds', 100);
    const maxResults = params.integer('maxResults', 1, 1000);
    const token = params.string('nextToken');
    const tagStatus = params.tagStatus();
    const imageStatus = imageStatusFilter(params);
    if (ids) {
      if (maxResults !== undefined || token !== undefined) throw invalid('maxResults', 'maxResults and nextToken cannot be used with imageIds');
      const seen = new Set<string>();
      const details: Json[] = [];
      for (const id of ids) {
        if (id.imageDigest === undefined && id.imageTag === undefined) throw invalid('imageIds', 'an image id needs imageDigest or imageTag');
        const image = store.resolve(id);
        if (!image) throw imageNotFound(model, store, id);
        if (seen.has(image.digest)) continue;
        seen.add(image.digest);
        if (matchesImageStatus(image, imageStatus)) details.push(imageDetail(model, store, image));
      }
      return { imageDetails: details };
    }
    const op = `DescribeImages:${tagStatus}:${imageStatus}`;
    const cursor = decodeToken(token, op, scopeOf(model, store));
    const { entries, next } = store.page(cursor, maxResults ?? 100, tagStatus, false, imageStatus);
    return {
      imageDetails: entries.map((entry) => imageDetail(model, store, entry.image)),
      ...(next ? { nextToken: encodeToken(op, scopeOf(model, store), next) } : {}),
    };
  },

  ListImages: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const maxResults = params.integer('maxResults', 1, 1000);
    const tagStatus = params.tagStatus();
    const imageStatus = imageStatusFilter(params);
    const op = `ListImages:${tagStatus}:${imageStatus}`;
    const cursor = decodeToken(params.string('nextToken'), op, scopeOf(model, store));
    const { entries, next } = store.page(cursor, maxResults ?? 100, tagStatus, true, imageStatus);
    return {
      imageIds: entries.map((entry) => ({ imageDigest: entry.image.digest, ...(entry.tag !== undefined ? { imageTag: entry.tag } : {}) })),
      ...(next ? { nextToken: encodeToken(op, scopeOf(model, store), next) } : {}),
    };
  },

  // UpdateImageStorageClass (API reference): ARCHIVE archives at once; STANDARD restores (ACTIVATING, then ACTIVE after
  // RESTORE_DURATION_MS of model time). Lifecycle rules count from lastActivatedAt after a restore.
  UpdateImageStorageClass: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const target = params.requiredString('targetStorageClass');
    if (target !== 'STANDARD' && target !== 'ARCHIVE') throw invalid('targetStorageClass', 'Member must satisfy enum value set: [STANDARD, ARCHIVE]');
    const idParams = params.object('imageId');
    if (!idParams) throw invalid('imageId', 'Member must not be null');
    const imageDigest = idParams.string('imageDigest');
    const imageTag = idParams.string('imageTag');
    const id = { ...(imageDigest !== undefined ? { imageDigest } : {}), ...(imageTag !== undefined ? { imageTag } : {}) };
    if (imageDigest === undefined && imageTag === undefined) throw invalid('imageId', 'an image id needs imageDigest or imageTag');
    const image = store.resolve(id);
    if (!image) throw imageNotFound(model, store, id);
    const status = image.imageStatus ?? 'ACTIVE';
    const unsupported = (why: string) => new EcrApiError('ImageStorageClassUpdateNotSupportedException', `The requested image storage class update is not supported: ${why}`);
    if (target === 'ARCHIVE') {
      if (status !== 'ACTIVE') throw unsupported(`the image is ${status}`);
      if (store.parents(image.digest).some((parent) => store.image(parent)?.imageStatus !== 'ARCHIVED')) {
        throw unsupported('the image is referenced by a manifest list that is not archived');
      }
      store.archiveImage(image, model.now());
    } else {
      if (status !== 'ARCHIVED') throw unsupported(`the image is ${status}`);
      store.restoreImage(image, model.now());
    }
    return { registryId: model.accountId, repositoryName: store.name, imageId: { imageDigest: image.digest, ...(imageTag !== undefined ? { imageTag } : {}) }, imageStatus: image.imageStatus };
  },

  BatchGetImage: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const ids = params.imageIds('imageIds', 100);
    if (!ids) throw invalid('imageIds', 'Member must not be null');
    const { images, failures } = store.getImages(ids, params.stringList('acceptedMediaTypes', 100));
    return {
      images: images.map(({ imageId, image }) => ({
        registryId: model.accountId,
        repositoryName: store.name,
        imageId: imageIdOf(imageId),
        imageManifest: image.manifest,
        imageManifestMediaType: image.manifestMediaType,
      })),
      failures: failures.map(failureOf),
    };
  },

  PutImage: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const tag = params.string('imageTag');
    const mediaType = params.string('imageManifestMediaType');
    const digest = params.string('imageDigest');
    const image = store.putImage({
      manifest: params.requiredString('imageManifest'),
      ...(mediaType !== undefined ? { mediaType } : {}),
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
    });
    return {
      image: {
        registryId: model.accountId,
        repositoryName: store.name,
        imageId: { imageDigest: image.digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
        imageManifest: image.manifest,
        imageManifestMediaType: image.manifestMediaType,
      },
    };
  },

  BatchDeleteImage: (model, params, context) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const ids = params.imageIds('imageIds', 100);
    if (!ids) throw invalid('imageIds', 'Member must not be null');
    const { deleted, failures } = store.deleteImages(ids, context.refuseDeletes);
    return { imageIds: deleted.map(imageIdOf), failures: failures.map(failureOf) };
  },

  ListImageReferrers: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const subject = params.object('subjectId')?.string('imageDigest');
    if (subject === undefined || !DIGEST_PATTERN.test(subject)) throw invalid('subjectId.imageDigest', 'Member must be a sha256 digest');
    const artifactTypes = params.object('filter')?.stringList('artifactTypes', 100);
    const maxResults = params.integer('maxResults', 1, 50) ?? 50;
    const scope = `${scopeOf(model, store)}/${subject}`;
    const cursor = decodeToken(params.string('nextToken'), 'ListImageReferrers', scope);
    // filter.artifactStatus: "If not specified, only artifacts with ACTIVE status are returned" (API reference).
    const artifactStatus = params.object('filter')?.string('artifactStatus') ?? 'ACTIVE';
    if (!['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'].includes(artifactStatus)) throw invalid('filter.artifactStatus', 'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]');
    const all = store
      .referrers(subject)
      .filter((r) => !artifactTypes || (r.artifactType !== undefined && artifactTypes.includes(r.artifactType)))
      .filter((r) => matchesImageStatus(r, artifactStatus as ImageStatusFilter));
    const start = cursor ? all.findIndex((r) => r.seq >= cursor.seq) : 0;
    const from = start === -1 ? all.length : start;
    const page = all.slice(from, from + maxResults);
    const next = all[from + maxResults];
    return {
      referrers: page.map((r) => ({
        digest: r.digest,
        mediaType: r.manifestMediaType,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        size: Buffer.byteLength(r.manifest, 'utf8'),
        ...(r.annotations ? { annotations: r.annotations } : {}),
        artifactStatus: r.imageStatus ?? 'ACTIVE',
      })),
      ...(next ? { nextToken: encodeToken('ListImageReferrers', scope, { seq: next.seq, skip: 0 }) } : {}),
    };
  },

  GetLifecyclePolicy: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    if (store.policyText === undefined) throw policyNotFound(model, store);
    return {
      registryId: model.accountId,
      repositoryName: store.name,
      lifecyclePolicyText: policyTextOut(model, store.policyText),
      ...(store.lastEvaluatedAt !== undefined ? { lastEvaluatedAt: seconds(store.lastEvaluatedAt) } : {}),
    };
  },

  PutLifecyclePolicy: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const text = params.requiredString('lifecyclePolicyText');
    validatePolicyText(text);
    store.policyText = text;
    return { registryId: model.accountId, repositoryName: store.name, lifecyclePolicyText: policyTextOut(model, text) };
  },

  DeleteLifecyclePolicy: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const text = store.policyText;
    if (text === undefined) throw policyNotFound(model, store);
    delete store.policyText;
    return {
      registryId: model.accountId,
      repositoryName: store.name,
      lifecyclePolicyText: policyTextOut(model, text),
      ...(store.lastEvaluatedAt !== undefined ? { lastEvaluatedAt: seconds(store.lastEvaluatedAt) } : {}),
    };
  },

  StartLifecyclePolicyPreview: (model, params, context) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const text = params.string('lifecyclePolicyText') ?? store.policyText;
    if (text === undefined) throw policyNotFound(model, store);
    const now = model.now();
    const running = store.preview;
    if (running && model.profile.previewRefusesConcurrentStart && previewInProgress(running, now)) {
      throw new EcrApiError(
        'LifecyclePolicyPreviewInProgressException',
        `The previous lifecycle policy preview request has not completed for the repository with name '${store.name}' in the registry with id '${model.accountId}'`,
      );
    }
    const policy = validatePolicyText(text);
    // Computed at once over the images as they are now; the profile decides how many polls see IN_PROGRESS first.
    store.preview = {
      policyText: text,
      results: previewPolicy(store, policy, now, model.profile.lifecycle),
      pollsInProgress: model.profile.previewPollsInProgress,
      startedAt: now,
      outcome: context.previewOutcome ?? 'COMPLETE',
    };
    return { registryId: model.accountId, repositoryName: store.name, lifecyclePolicyText: policyTextOut(model, text), status: 'IN_PROGRESS' };
  },

  GetLifecyclePolicyPreview: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const preview = store.preview;
    if (!preview) {
      throw new EcrApiError(
        'LifecyclePolicyPreviewNotFoundException',
        `There is no dry run for the repository with name '${store.name}' in the registry with id '${model.accountId}'`,
      );
    }
    const ids = params.imageIds('imageIds', 100);
    const maxResults = params.integer('maxResults', 1, 100);
    const token = params.string('nextToken');
    if (ids && (maxResults !== undefined || token !== undefined)) throw invalid('maxResults', 'maxResults and nextToken cannot be used with imageIds');
    const status = previewStatus(preview, model.now());
    if (status !== 'COMPLETE') {
      // No results until it completes; an EXPIRED or FAILED preview never has any.
      return { registryId: model.accountId, repositoryName: store.name, lifecyclePolicyText: policyTextOut(model, preview.policyText), status };
    }
    const tagStatus = params.tagStatus();
    const wanted = ids ? new Set(ids.map((id) => store.resolve(id)?.digest ?? id.imageDigest)) : undefined;
    const selected = preview.results.filter(
      (entry) =>
        (!wanted || wanted.has(entry.digest)) &&
        (tagStatus === 'ANY' || (tagStatus === 'TAGGED') === entry.tags.length > 0),
    );
    const op = `GetLifecyclePolicyPreview:${tagStatus}`;
    const cursor = decodeToken(token, op, scopeOf(model, store));
    const from = cursor?.skip ?? 0;
    const limit = maxResults ?? 100;
    const page = ids ? selected : selected.slice(from, from + limit);
    const hasMore = !ids && from + limit < selected.length;
    const transitioning = preview.results.filter((entry) => entry.action === 'transition').length;
    return {
      registryId: model.accountId,
      repositoryName: store.name,
      lifecyclePolicyText: policyTextOut(model, preview.policyText),
      status: 'COMPLETE',
      previewResults: page.map((entry) => ({
        ...(entry.tags.length > 0 ? { imageTags: entry.tags } : {}),
        imageDigest: entry.digest,
        imagePushedAt: seconds(entry.pushedAt),
        action: entry.action === 'expire' ? { type: 'EXPIRE' } : { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' },
        appliedRulePriority: entry.rulePriority,
        storageClass: entry.storageClass ?? 'STANDARD',
      })),
      summary: {
        expiringImageTotalCount: preview.results.filter((entry) => entry.action === 'expire').length,
        ...(transitioning > 0 ? { transitioningImageTotalCounts: [{ targetStorageClass: 'ARCHIVE', imageTotalCount: transitioning }] } : {}),
      },
      ...(hasMore ? { nextToken: encodeToken(op, scopeOf(model, store), { seq: 0, skip: from + limit }) } : {}),
    };
  },
};
