// ECR's operations as the AWS JSON 1.1 protocol carries them: read the request body, act on the model, answer the
// shapes @aws-sdk/client-ecr deserializes (timestamps as epoch seconds). Field names follow the SDK's models_0.d.ts.
import { previewPolicy, validatePolicyText } from './lifecycle.js';
import {
  EcrApiError,
  type ImageFailure,
  type ImageId,
  type PageCursor,
  type RegistryModel,
  type RepositoryStore,
  type StoredImage,
  type TagStatusFilter,
} from './registry-model.js';

export interface OperationContext {
  /** Digests BatchDeleteImage reports as failures (fault injection). */
  refuseDeletes: ReadonlySet<string>;
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
    imageStatus: 'ACTIVE',
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

/** Only ACTIVE images exist here: asking for archived ones finds none. */
function wantsActive(params: Params): boolean {
  const status = params.object('filter')?.string('imageStatus') ?? 'ACTIVE';
  if (!['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'].includes(status)) throw invalid('filter.imageStatus', 'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]');
  return status === 'ACTIVE' || status === 'ANY';
}

function scopeOf(model: RegistryModel, store: RepositoryStore): string {
  return `${model.accountId}/${store.name}/${store.seq}`;
}

export const ECR_OPERATIONS: Record<string, OperationHandler> = {
  DescribeRegistry: (model) => ({ registryId: model.accountId, replicationConfiguration: { rules: [] } }),

  CreateRepository: (model, params) => {
    const mutability = params.string('imageTagMutability') ?? 'MUTABLE';
    if (mutability !== 'MUTABLE' && mutability !== 'IMMUTABLE') throw invalid('imageTagMutability', 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]');
    const store = model.createRepository(params.requiredString('repositoryName'), { imageTagMutability: mutability });
    return { repository: repositoryJson(model, store) };
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
    const active = wantsActive(params);
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
        details.push(imageDetail(model, store, image));
      }
      return { imageDetails: active ? details : [] };
    }
    const op = `DescribeImages:${tagStatus}`;
    const cursor = decodeToken(token, op, scopeOf(model, store));
    if (!active) return { imageDetails: [] };
    const { entries, next } = store.page(cursor, maxResults ?? 100, tagStatus, false);
    return {
      imageDetails: entries.map((entry) => imageDetail(model, store, entry.image)),
      ...(next ? { nextToken: encodeToken(op, scopeOf(model, store), next) } : {}),
    };
  },

  ListImages: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const maxResults = params.integer('maxResults', 1, 1000);
    const tagStatus = params.tagStatus();
    const active = wantsActive(params);
    const op = `ListImages:${tagStatus}`;
    const cursor = decodeToken(params.string('nextToken'), op, scopeOf(model, store));
    if (!active) return { imageIds: [] };
    const { entries, next } = store.page(cursor, maxResults ?? 100, tagStatus, true);
    return {
      imageIds: entries.map((entry) => ({ imageDigest: entry.image.digest, ...(entry.tag !== undefined ? { imageTag: entry.tag } : {}) })),
      ...(next ? { nextToken: encodeToken(op, scopeOf(model, store), next) } : {}),
    };
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
    const all = store.referrers(subject).filter((r) => !artifactTypes || (r.artifactType !== undefined && artifactTypes.includes(r.artifactType)));
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
        artifactStatus: 'ACTIVE',
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
      lifecyclePolicyText: store.policyText,
      ...(store.lastEvaluatedAt !== undefined ? { lastEvaluatedAt: seconds(store.lastEvaluatedAt) } : {}),
    };
  },

  PutLifecyclePolicy: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const text = params.requiredString('lifecyclePolicyText');
    validatePolicyText(text);
    store.policyText = text;
    return { registryId: model.accountId, repositoryName: store.name, lifecyclePolicyText: text };
  },

  DeleteLifecyclePolicy: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const text = store.policyText;
    if (text === undefined) throw policyNotFound(model, store);
    delete store.policyText;
    return {
      registryId: model.accountId,
      repositoryName: store.name,
      lifecyclePolicyText: text,
      ...(store.lastEvaluatedAt !== undefined ? { lastEvaluatedAt: seconds(store.lastEvaluatedAt) } : {}),
    };
  },

  StartLifecyclePolicyPreview: (model, params) => {
    const store = model.repository(params.requiredString('repositoryName'));
    const text = params.string('lifecyclePolicyText') ?? store.policyText;
    if (text === undefined) throw policyNotFound(model, store);
    const policy = validatePolicyText(text);
    // Computed at once; GetLifecyclePolicyPreview then reports it COMPLETE, as ECR does after a short while.
    store.preview = { policyText: text, results: previewPolicy(store, policy, model.now()) };
    return { registryId: model.accountId, repositoryName: store.name, lifecyclePolicyText: text, status: 'IN_PROGRESS' };
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
      lifecyclePolicyText: preview.policyText,
      status: 'COMPLETE',
      previewResults: page.map((entry) => ({
        ...(entry.tags.length > 0 ? { imageTags: entry.tags } : {}),
        imageDigest: entry.digest,
        imagePushedAt: seconds(entry.pushedAt),
        action: entry.action === 'expire' ? { type: 'EXPIRE' } : { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' },
        appliedRulePriority: entry.rulePriority,
        storageClass: 'STANDARD',
      })),
      summary: {
        expiringImageTotalCount: preview.results.filter((entry) => entry.action === 'expire').length,
        ...(transitioning > 0 ? { transitioningImageTotalCounts: [{ targetStorageClass: 'ARCHIVE', imageTotalCount: transitioning }] } : {}),
      },
      ...(hasMore ? { nextToken: encodeToken(op, scopeOf(model, store), { seq: 0, skip: from + limit }) } : {}),
    };
  },
};
