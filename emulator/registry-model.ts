// In-memory model of an ECR registry: repositories, images, tags and lifecycle policies, with ECR's rules for pushes
// and deletions. No HTTP here (server.ts speaks the protocol). Times are epoch milliseconds.
// Indexes (tag -> digest, child -> parent indexes, subject -> referrers) are kept up to date on every write, so
// a request costs O(what it touches), not O(repository).
import { createHash } from 'node:crypto';
import { FAITHFUL, type Profile } from './profiles.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** Image indexes (OCI) and manifest lists (Docker) list other manifests by digest. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$/;
const REPOSITORY_NAME_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DAY_MS = 86_400_000;

/**
 * How long a restore from archive takes in the model's clock (UpdateImageStorageClass to STANDARD: ACTIVATING, then
 * ACTIVE). AWS publishes no figure (users report about 20 minutes); 2 hours keeps the image unpullable long enough for
 * tests to see ACTIVATING and errs on the slow side.
 */
export const RESTORE_DURATION_MS = 2 * 3_600_000;
/** "Archived images have a minimum storage duration of 90 days" ("Archiving an image", ECR user guide). */
export const ARCHIVE_MINIMUM_DAYS = 90;

/** An error ECR answers with: `code` becomes the `__type` of the response. */
export class EcrApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

export interface ImageFailure {
  imageId: ImageId;
  failureCode: string;
  failureReason: string;
}

export interface StoredImage {
  readonly digest: string;
  readonly manifest: string;
  readonly manifestMediaType: string;
  readonly artifactMediaType?: string;
  /** Layers plus config; 0 for an index (its size is derived from its children). */
  readonly ownSizeBytes: number;
  /** Manifests an index lists, in order; empty for anything else. */
  readonly listedDigests: readonly string[];
  readonly subjectDigest?: string;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
  /** Push order: stable pagination and a tie-break between images pushed in the same millisecond. */
  readonly seq: number;
  readonly pushedAt: number;
  tags: string[];
  lastPulledAt?: number;
  /** ECR's storage classes (since 2025): ACTIVE images are STANDARD; archived ones are not pullable. */
  storageClass?: 'STANDARD' | 'ARCHIVE';
  /** DescribeImages' imageStatus: ACTIVE (default), ARCHIVED, or ACTIVATING while a restore runs. */
  imageStatus?: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
  /** When a lifecycle transition (or UpdateImageStorageClass) moved it to archive. */
  lastArchivedAt?: number;
  /** When a restore from archive completed; lifecycle counts from here instead of pushedAt after a restore. */
  lastActivatedAt?: number;
}

export interface PutImageInput {
  manifest: string;
  mediaType?: string;
  tag?: string;
  digest?: string;
}

/** Where a page starts: the first entry at or after push order `seq`, skipping `skip` entries of that image. */
export interface PageCursor {
  seq: number;
  skip: number;
}

export type TagStatusFilter = 'TAGGED' | 'UNTAGGED' | 'ANY';
export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
export type ImageStatusFilter = ImageStatus | 'ANY';

/** DescribeImages' and ListImages' imageStatus filter; an image without a status is ACTIVE. */
export function matchesImageStatus(image: StoredImage, status: ImageStatusFilter): boolean {
  return status === 'ANY' || (image.imageStatus ?? 'ACTIVE') === status;
}

export function sha256Digest(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

function matchesTagStatus(image: StoredImage, status: TagStatusFilter): boolean {
  if (status === 'TAGGED') return image.tags.length > 0;
  if (status === 'UNTAGGED') return image.tags.length === 0;
  return true;
}

interface ParsedManifest {
  mediaType: string;
  artifactMediaType?: string;
  ownSizeBytes: number;
  listedDigests: string[];
  subjectDigest?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sizeOf(descriptor: unknown): number {
  return isRecord(descriptor) && typeof descriptor.size === 'number' && descriptor.size >= 0 ? descriptor.size : 0;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

function parseManifest(text: string, declaredMediaType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EcrApiError('InvalidParameterException', 'Invalid parameter at \'imageManifest\': the manifest is not valid JSON');
  }
  if (!isRecord(json)) throw new EcrApiError('InvalidParameterException', 'Invalid parameter at \'imageManifest\': the manifest must be a JSON object');
  const inManifest = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (declaredMediaType && inManifest && declaredMediaType !== inManifest) {
    throw new EcrApiError(
      'InvalidParameterException',
      `Invalid parameter at 'imageManifestMediaType': '${declaredMediaType}' does not match the manifest's mediaType '${inManifest}'`,
    );
  }
  const listsManifests = Array.isArray(json.manifests);
  const mediaType = declaredMediaType ?? inManifest ?? (listsManifests ? OCI_INDEX : OCI_MANIFEST);
  const subject = isRecord(json.subject) && typeof json.subject.digest === 'string' ? json.subject.digest : undefined;
  const artifactType = typeof json.artifactType === 'string' ? json.artifactType : undefined;
  const annotations = stringRecord(json.annotations);
  const common = {
    mediaType,
    ...(subject ? { subjectDigest: subject } : {}),
    ...(artifactType ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
  };
  if (isIndexMediaType(mediaType)) {
    const listed = listsManifests ? (json.manifests as unknown[]) : [];
    const listedDigests = listed.map((entry) => (isRecord(entry) && typeof entry.digest === 'string' ? entry.digest : ''));
    if (listedDigests.some((d) => !DIGEST_PATTERN.test(d))) {
      throw new EcrApiError('InvalidParameterException', 'Invalid parameter at \'imageManifest\': every manifest in an index needs a sha256 digest');
    }
    return { ...common, ownSizeBytes: 0, listedDigests };
  }
  const layers = Array.isArray(json.layers) ? json.layers : [];
  const ownSizeBytes = layers.reduce<number>((sum, layer) => sum + sizeOf(layer), 0) + sizeOf(json.config);
  const configMediaType = isRecord(json.config) && typeof json.config.mediaType === 'string' ? json.config.mediaType : undefined;
  // ECR reports the config media type; an OCI artifact's artifactType names it better when the config is empty.
  const artifactMediaType = artifactType ?? configMediaType;
  return { ...common, ownSizeBytes, listedDigests: [], ...(artifactMediaType ? { artifactMediaType } : {}) };
}

/** ECR's tag mutability; the _WITH_EXCLUSION settings flip it for tags matching an exclusion filter. */
export type TagMutability = 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';
export const TAG_MUTABILITIES: readonly TagMutability[] = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'];

/** ImageTagMutabilityExclusionFilter (API reference): filterType WILDCARD, `*` matches any run of characters. */
export interface TagMutabilityExclusionFilter {
  filterType: 'WILDCARD';
  filter: string;
}

export interface RepositoryOptions {
  imageTagMutability?: TagMutability;
  imageTagMutabilityExclusionFilters?: TagMutabilityExclusionFilter[];
}

function wildcardMatches(filter: string, tag: string): boolean {
  const pattern = filter.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`).test(tag);
}

/** One repository with its indexes. */
export class RepositoryStore {
  readonly images = new Map<string, StoredImage>();
  readonly tagToDigest = new Map<string, string>();
  /** child digest -> indexes present in the repository that list it (the child itself may be absent). */
  readonly parentsOf = new Map<string, Set<string>>();
  /** subject digest -> referrers present in the repository (the subject itself may be absent). */
  readonly referrersOf = new Map<string, Set<string>>();
  policyText?: string;
  lastEvaluatedAt?: number;
  preview?: LifecyclePreview;
  imageTagMutabilityExclusionFilters: TagMutabilityExclusionFilter[] = [];
  /** Resource tags (CreateRepository tags, TagResource), key -> value. */
  resourceTags: Record<string, string> = {};
  /** Images in push order; deleted entries stay until compaction so cursors keep pointing somewhere sensible. */
  private order: StoredImage[] = [];
  private removedInOrder = 0;
  /** Restores under way: digest -> when the image becomes ACTIVE again. */
  private readonly activating = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly createdAt: number,
    readonly seq: number,
    public imageTagMutability: TagMutability,
    private readonly registry: RegistryModel,
  ) {}

  get imageCount(): number {
    return this.images.size;
  }

  image(digest: string): StoredImage | undefined {
    return this.images.get(digest);
  }

  imageByTag(tag: string): StoredImage | undefined {
    const digest = this.tagToDigest.get(tag);
    return digest === undefined ? undefined : this.images.get(digest);
  }

  /** Present indexes that list this digest. */
  parents(digest: string): string[] {
    return [...(this.parentsOf.get(digest) ?? [])];
  }

  /** Present referrers of this subject, in push order. */
  referrers(subjectDigest: string): StoredImage[] {
    this.settleRestores();
    const digests = this.referrersOf.get(subjectDigest);
    if (!digests) return [];
    return [...digests].map((d) => this.images.get(d)!).sort((a, b) => a.seq - b.seq);
  }

  isListedByPresentIndex(digest: string): boolean {
    return (this.parentsOf.get(digest)?.size ?? 0) > 0;
  }

  /** ECR's imageSizeInBytes: layers plus config; for an index the largest of its present children. */
  sizeInBytes(image: StoredImage, depth = 0): number {
    if (!isIndexMediaType(image.manifestMediaType)) return image.ownSizeBytes;
    if (depth > 4) return 0;
    let largest = 0;
    for (const child of image.listedDigests) {
      const present = this.images.get(child);
      if (present) largest = Math.max(largest, this.sizeInBytes(present, depth + 1));
    }
    return largest;
  }

  /** Every present image, in push order. */
  allImages(): StoredImage[] {
    this.settleRestores();
    return this.order.filter((image) => this.images.get(image.digest) === image);
  }

  putImage(input: PutImageInput): StoredImage {
    const digest = sha256Digest(input.manifest);
    if (input.digest !== undefined && input.digest !== digest) {
      throw new EcrApiError('ImageDigestDoesNotMatchException', `The upload digest '${input.digest}' does not match the manifest digest '${digest}'`);
    }
    if (input.tag !== undefined && !TAG_PATTERN.test(input.tag)) {
      throw new EcrApiError('InvalidParameterException', `Invalid parameter at 'imageTag': '${input.tag}' is not a valid image tag`);
    }
    const existing = this.images.get(digest);
    if (existing && (existing.imageStatus === 'ARCHIVED' || existing.imageStatus === 'ACTIVATING')) {
      // "The image can be restored as an active image by ... re-pushing the image to the repository." (at once)
      this.activate(existing, this.registry.now());
      if (input.tag !== undefined && !existing.tags.includes(input.tag)) this.attachTag(existing, input.tag);
      return existing;
    }
    if (existing) {
      if (input.tag === undefined || existing.tags.includes(input.tag)) {
        throw new EcrApiError(
          'ImageAlreadyExistsException',
          `Image with digest '${digest}'${input.tag ? ` and tag '${input.tag}'` : ''} already exists in the repository with name '${this.name}' in registry with id '${this.registry.accountId}'`,
        );
      }
      this.attachTag(existing, input.tag);
      return existing;
    }
    const parsed = parseManifest(input.manifest, input.mediaType);
    const missing = parsed.listedDigests.filter((d) => !this.images.has(d));
    if (missing.length > 0) {
      throw new EcrApiError(
        'ReferencedImagesNotFoundException',
        `Some of the images referenced by the manifest list are not in the repository: ${[...new Set(missing)].join(', ')}`,
      );
    }
    if (input.tag !== undefined) this.checkTagMutable(input.tag);
    const image: StoredImage = {
      digest,
      manifest: input.manifest,
      manifestMediaType: parsed.mediaType,
      ownSizeBytes: parsed.ownSizeBytes,
      listedDigests: parsed.listedDigests,
      seq: this.registry.nextSeq(),
      pushedAt: this.registry.now(),
      tags: [],
      ...(parsed.artifactMediaType ? { artifactMediaType: parsed.artifactMediaType } : {}),
      ...(parsed.subjectDigest ? { subjectDigest: parsed.subjectDigest } : {}),
      ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}),
      ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
    };
    this.images.set(digest, image);
    this.order.push(image);
    for (const child of new Set(image.listedDigests)) addToSetMap(this.parentsOf, child, digest);
    if (image.subjectDigest) addToSetMap(this.referrersOf, image.subjectDigest, digest);
    if (input.tag !== undefined) this.attachTag(image, input.tag);
    return image;
  }

  /** Whether a push may move this tag (Image tag mutability, ECR user guide; exclusion filters flip the setting). */
  isTagImmutable(tag: string): boolean {
    const excluded = this.imageTagMutabilityExclusionFilters.some((f) => wildcardMatches(f.filter, tag));
    if (this.imageTagMutability === 'IMMUTABLE') return true;
    if (this.imageTagMutability === 'IMMUTABLE_WITH_EXCLUSION') return !excluded;
    if (this.imageTagMutability === 'MUTABLE_WITH_EXCLUSION') return excluded;
    return false;
  }

  /** Moves an image to the archive storage class now (a lifecycle transition or UpdateImageStorageClass ARCHIVE). */
  archiveImage(image: StoredImage, now: number): void {
    this.activating.delete(image.digest);
    image.storageClass = 'ARCHIVE';
    image.imageStatus = 'ARCHIVED';
    image.lastArchivedAt = now;
  }

  /** Starts a restore (UpdateImageStorageClass STANDARD): ACTIVATING for RESTORE_DURATION_MS, then ACTIVE. */
  restoreImage(image: StoredImage, now: number): void {
    if (image.imageStatus !== 'ARCHIVED') return;
    image.imageStatus = 'ACTIVATING';
    this.activating.set(image.digest, now + RESTORE_DURATION_MS);
  }

  private activate(image: StoredImage, at: number): void {
    this.activating.delete(image.digest);
    image.storageClass = 'STANDARD';
    image.imageStatus = 'ACTIVE';
    image.lastActivatedAt = at;
  }

  /** Completes the restores whose time has come on the model's clock. */
  settleRestores(): void {
    if (this.activating.size === 0) return;
    const now = this.registry.now();
    for (const [digest, readyAt] of [...this.activating]) {
      const image = this.images.get(digest);
      if (!image) this.activating.delete(digest);
      else if (readyAt <= now) this.activate(image, readyAt);
    }
  }

  /**
   * Bytes billed for archived images deleted before ARCHIVE_MINIMUM_DAYS in archive, times the days left of the
   * minimum ("you will be charged for the 90-day minimum storage duration"). Read by cost accounting; 0 when none.
   */
  archiveEarlyDeletionByteDays = 0;

  private checkTagMutable(tag: string): void {
    if (this.isTagImmutable(tag) && this.tagToDigest.has(tag)) {
      throw new EcrApiError('ImageTagAlreadyExistsException', `The image tag '${tag}' already exists in the '${this.name}' repository and cannot be overwritten because the repository is immutable.`);
    }
  }

  /** Puts the tag on this image, taking it off the image that had it (which stays, maybe untagged). */
  private attachTag(image: StoredImage, tag: string): void {
    const previous = this.tagToDigest.get(tag);
    if (previous === image.digest) return;
    this.checkTagMutable(tag);
    if (previous !== undefined) {
      const holder = this.images.get(previous);
      if (holder) holder.tags = holder.tags.filter((t) => t !== tag);
    }
    this.tagToDigest.set(tag, image.digest);
    image.tags.push(tag);
  }

  /**
   * BatchDeleteImage: by digest removes the image and its tags; by tag removes the tag, and the image with its last
   * tag. Never throws for one bad id: each becomes an entry of failures[].
   */
  deleteImages(ids: readonly ImageId[], refuse: ReadonlySet<string> = new Set()): { deleted: ImageId[]; failures: ImageFailure[] } {
    const deleted: ImageId[] = [];
    const failures: ImageFailure[] = [];
    const fail = (imageId: ImageId, failureCode: string, failureReason: string) => failures.push({ imageId, failureCode, failureReason });
    for (const id of ids) {
      const imageId: ImageId = { ...(id.imageDigest !== undefined ? { imageDigest: id.imageDigest } : {}), ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) };
      if (!id.imageDigest && !id.imageTag) {
        fail(imageId, 'MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null');
        continue;
      }
      if (id.imageDigest && !DIGEST_PATTERN.test(id.imageDigest)) {
        fail(imageId, 'InvalidImageDigest', `Invalid image digest: '${id.imageDigest}'`);
        continue;
      }
      if (id.imageTag && !TAG_PATTERN.test(id.imageTag)) {
        fail(imageId, 'InvalidImageTag', `Invalid image tag: '${id.imageTag}'`);
        continue;
      }
      const digest = id.imageTag ? this.tagToDigest.get(id.imageTag) : id.imageDigest!;
      const image = digest === undefined ? undefined : this.images.get(digest);
      if (!image) {
        fail(imageId, 'ImageNotFound', 'Requested image not found');
        continue;
      }
      if (id.imageTag && id.imageDigest && id.imageDigest !== image.digest) {
        fail(imageId, 'ImageTagDoesNotMatchDigest', `Invalid request parameters: image tag '${id.imageTag}' does not match digest '${id.imageDigest}'`);
        continue;
      }
      if (refuse.has(image.digest)) {
        fail(imageId, 'ImageInaccessible', 'The image is inaccessible (injected by the emulator)');
        continue;
      }
      // An id with both digest and tag is an open question (profiles.ts): the pessimistic reading deletes the image.
      const byTagOnly = id.imageTag !== undefined && !(id.imageDigest !== undefined && this.registry.profile.deleteByDigestAndTag === 'image');
      const removesImage = !byTagOnly || image.tags.length === 1;
      if (removesImage && this.isListedByPresentIndex(image.digest)) {
        fail(imageId, 'ImageReferencedByManifestList', `Requested image referenced by a manifest list: [${this.parents(image.digest).join(', ')}]`);
        continue;
      }
      if (byTagOnly) {
        deleted.push({ imageDigest: image.digest, imageTag: id.imageTag! });
        if (removesImage) this.removeImage(image.digest);
        else this.detachTag(image, id.imageTag!);
      } else {
        if (image.tags.length === 0) deleted.push({ imageDigest: image.digest });
        for (const tag of image.tags) deleted.push({ imageDigest: image.digest, imageTag: tag });
        this.removeImage(image.digest);
      }
    }
    return { deleted, failures };
  }

  private detachTag(image: StoredImage, tag: string): void {
    image.tags = image.tags.filter((t) => t !== tag);
    this.tagToDigest.delete(tag);
  }

  /** Removes an image without ECR's manifest-list check (the lifecycle uses it; it knows what it may delete). */
  removeImage(digest: string): StoredImage | undefined {
    const image = this.images.get(digest);
    if (!image) return undefined;
    this.images.delete(digest);
    this.activating.delete(digest);
    if (image.storageClass === 'ARCHIVE' && image.lastArchivedAt !== undefined) {
      const daysLeft = ARCHIVE_MINIMUM_DAYS - (this.registry.now() - image.lastArchivedAt) / DAY_MS;
      if (daysLeft > 0) this.archiveEarlyDeletionByteDays += daysLeft * this.sizeInBytes(image);
    }
    for (const tag of image.tags) this.tagToDigest.delete(tag);
    for (const child of image.listedDigests) deleteFromSetMap(this.parentsOf, child, digest);
    if (image.subjectDigest) deleteFromSetMap(this.referrersOf, image.subjectDigest, digest);
    this.removedInOrder += 1;
    if (this.removedInOrder > 1024 && this.removedInOrder * 2 > this.order.length) {
      this.order = this.order.filter((i) => this.images.get(i.digest) === i);
      this.removedInOrder = 0;
    }
    return image;
  }

  /** Resolves an id as BatchGetImage and DescribeImages do; undefined when nothing matches. */
  resolve(id: ImageId): StoredImage | undefined {
    this.settleRestores();
    const image = id.imageTag !== undefined ? this.imageByTag(id.imageTag) : id.imageDigest !== undefined ? this.images.get(id.imageDigest) : undefined;
    if (!image) return undefined;
    if (id.imageDigest !== undefined && id.imageDigest !== image.digest) return undefined;
    return image;
  }

  /** BatchGetImage: each found image counts as a pull. */
  getImages(ids: readonly ImageId[], acceptedMediaTypes?: readonly string[]): { images: { imageId: ImageId; image: StoredImage }[]; failures: ImageFailure[] } {
    const images: { imageId: ImageId; image: StoredImage }[] = [];
    const failures: ImageFailure[] = [];
    const now = this.registry.now();
    this.settleRestores();
    for (const id of ids) {
      const imageId: ImageId = { ...(id.imageDigest !== undefined ? { imageDigest: id.imageDigest } : {}), ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) };
      if (!id.imageDigest && !id.imageTag) {
        failures.push({ imageId, failureCode: 'MissingDigestAndTag', failureReason: 'Invalid request parameters: both tag and digest cannot be null' });
        continue;
      }
      if (id.imageDigest && !DIGEST_PATTERN.test(id.imageDigest)) {
        failures.push({ imageId, failureCode: 'InvalidImageDigest', failureReason: `Invalid image digest: '${id.imageDigest}'` });
        continue;
      }
      const byTag = id.imageTag !== undefined ? this.imageByTag(id.imageTag) : undefined;
      if (byTag && id.imageDigest !== undefined && byTag.digest !== id.imageDigest) {
        failures.push({ imageId, failureCode: 'ImageTagDoesNotMatchDigest', failureReason: `Invalid request parameters: image tag '${id.imageTag}' does not match digest '${id.imageDigest}'` });
        continue;
      }
      const image = this.resolve(id);
      if (!image) {
        failures.push({ imageId, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
        continue;
      }
      if (image.imageStatus === 'ARCHIVED' || image.imageStatus === 'ACTIVATING') {
        // "Archived images cannot be pulled. Requests to pull the archived image will fail with a 404 error."
        failures.push({ imageId, failureCode: 'ImageNotFound', failureReason: `Requested image is ${image.imageStatus === 'ARCHIVED' ? 'archived' : 'being restored from archive'} and cannot be pulled; restore it with UpdateImageStorageClass` });
        continue;
      }
      if (acceptedMediaTypes && acceptedMediaTypes.length > 0 && !acceptedMediaTypes.includes(image.manifestMediaType)) {
        failures.push({ imageId, failureCode: 'UnsupportedImageType', failureReason: `The image's manifest media type '${image.manifestMediaType}' is not in acceptedMediaTypes` });
        continue;
      }
      // lastRecordedPullTime: "refreshes ... at least once every 24 hours" (ImageDetail, API reference).
      const refreshDaily = this.registry.profile.pullTimeRefresh === 'daily';
      if (!refreshDaily || image.lastPulledAt === undefined || now - image.lastPulledAt >= DAY_MS) image.lastPulledAt = now;
      images.push({ imageId: { imageDigest: image.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) }, image });
    }
    return { images, failures };
  }

  /**
   * One page of images in push order from `cursor`. Entries are images (`perTag` false) or one entry per tag (an
   * untagged image is one entry), as ListImages lists them. `next` is set only when another entry exists.
   */
  page(
    cursor: PageCursor | undefined,
    limit: number,
    tagStatus: TagStatusFilter,
    perTag: boolean,
    imageStatus: ImageStatusFilter = 'ANY',
  ): { entries: { image: StoredImage; tag?: string }[]; next?: PageCursor } {
    this.settleRestores();
    const entries: { image: StoredImage; tag?: string }[] = [];
    let index = cursor ? this.firstIndexAtOrAfter(cursor.seq) : 0;
    let skip = cursor && this.order[index]?.seq === cursor.seq ? cursor.skip : 0;
    for (; index < this.order.length; index += 1, skip = 0) {
      const image = this.order[index]!;
      if (this.images.get(image.digest) !== image || !matchesTagStatus(image, tagStatus) || !matchesImageStatus(image, imageStatus)) continue;
      const own: { image: StoredImage; tag?: string }[] = perTag && image.tags.length > 0 ? image.tags.map((tag) => ({ image, tag })) : [{ image }];
      for (let k = skip; k < own.length; k += 1) {
        if (entries.length === limit) return { entries, next: { seq: image.seq, skip: k } };
        entries.push(own[k]!);
      }
    }
    return { entries };
  }

  private firstIndexAtOrAfter(seq: number): number {
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.order[mid]!.seq < seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

export interface PreviewEntry {
  digest: string;
  tags: string[];
  pushedAt: number;
  action: 'expire' | 'transition';
  rulePriority: number;
  /** The image's storage class when the preview ran (GetLifecyclePolicyPreview's storageClass). */
  storageClass?: 'STANDARD' | 'ARCHIVE';
}

export interface LifecyclePreview {
  policyText: string;
  results: PreviewEntry[];
  /** Polls still answered IN_PROGRESS (the profile's previewPollsInProgress at Start). */
  pollsInProgress?: number;
  /** Model time the preview started; a preview older than an hour of model time is no longer in progress. */
  startedAt?: number;
  /** How the preview ends once no longer in progress (fault injection: EXPIRED or FAILED). */
  outcome?: 'COMPLETE' | 'EXPIRED' | 'FAILED';
}

function addToSetMap(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function deleteFromSetMap(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

export interface RegistryModelOptions {
  accountId?: string;
  region?: string;
  /** Freezes the clock at this epoch-ms time; without it the clock follows the wall clock until set. */
  now?: number;
  /** How the open questions are read (emulator/profiles.ts); faithful by default. */
  profile?: Profile;
}

/** The whole registry: repositories and the emulator's clock. */
export class RegistryModel {
  readonly accountId: string;
  readonly region: string;
  private readonly repositories = new Map<string, RepositoryStore>();
  private frozenAt: number | undefined;
  private seq = 0;
  private currentProfile: Profile;

  constructor(options: RegistryModelOptions = {}) {
    this.accountId = options.accountId ?? '000000000000';
    this.region = options.region ?? 'us-east-1';
    this.frozenAt = options.now;
    this.currentProfile = options.profile ?? FAITHFUL;
  }

  get profile(): Profile {
    return this.currentProfile;
  }

  /** Switches how open questions are read from the next request on; stored state stays as it is. */
  setProfile(profile: Profile): void {
    this.currentProfile = profile;
  }

  now(): number {
    return this.frozenAt ?? Date.now();
  }

  setClock(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`clock must be a finite epoch-ms time, got ${ms}`);
    this.frozenAt = ms;
  }

  advanceDays(days: number): number {
    if (!Number.isFinite(days)) throw new RangeError(`advanceDays must be a number, got ${days}`);
    this.frozenAt = this.now() + days * DAY_MS;
    return this.frozenAt;
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  repositoryArn(name: string): string {
    return `arn:aws:ecr:${this.region}:${this.accountId}:repository/${name}`;
  }

  repositoryUri(name: string): string {
    return `${this.accountId}.dkr.ecr.${this.region}.amazonaws.com/${name}`;
  }

  createRepository(name: string, options: RepositoryOptions = {}): RepositoryStore {
    if (name.length < 2 || name.length > 256 || !REPOSITORY_NAME_PATTERN.test(name)) {
      throw new EcrApiError('InvalidParameterException', `Invalid parameter at 'repositoryName': '${name}' is not a valid repository name`);
    }
    if (this.repositories.has(name)) {
      throw new EcrApiError('RepositoryAlreadyExistsException', `The repository with name '${name}' already exists in the registry with id '${this.accountId}'`);
    }
    const store = new RepositoryStore(name, this.now(), this.nextSeq(), options.imageTagMutability ?? 'MUTABLE', this);
    if (options.imageTagMutabilityExclusionFilters) store.imageTagMutabilityExclusionFilters = options.imageTagMutabilityExclusionFilters;
    this.repositories.set(name, store);
    return store;
  }

  /** The repository, or RepositoryNotFoundException as ECR answers. */
  repository(name: string): RepositoryStore {
    const store = this.repositories.get(name);
    if (!store) {
      throw new EcrApiError('RepositoryNotFoundException', `The repository with name '${name}' does not exist in the registry with id '${this.accountId}'`);
    }
    return store;
  }

  hasRepository(name: string): boolean {
    return this.repositories.has(name);
  }

  deleteRepository(name: string, force: boolean): RepositoryStore {
    const store = this.repository(name);
    if (store.imageCount > 0 && !force) {
      throw new EcrApiError('RepositoryNotEmptyException', `The repository with name '${name}' in registry with id '${this.accountId}' cannot be deleted because it still contains images`);
    }
    this.repositories.delete(name);
    return store;
  }

  /** Repositories in creation order. */
  listRepositories(): RepositoryStore[] {
    return [...this.repositories.values()];
  }

  /** Forgets every repository; the clock stays where it is. */
  reset(): void {
    this.repositories.clear();
  }
}
