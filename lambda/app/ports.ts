// Ports: what the app layer needs from the outside world. Adapters implement them; tests pass fakes or the emulator.
import type { Digest, ImageRecord, PinReference, RepositoryState } from '../domain/types.js';

export interface ManifestFetch {
  /** digest -> { text, mediaType } for the manifests that were returned. */
  manifests: Record<Digest, { text: string; mediaType?: string }>;
  /** digest -> reason, from BatchGetImage failures[]. */
  failures: Record<Digest, string>;
}

export interface PolicyPreview {
  /** Images ECR says the policy would expire now. */
  expiring: { digest: Digest; rulePriority?: number }[];
  /** Images ECR says the policy would move to archive now (action TRANSITION): checked against the plan like expiries. */
  transitioning: { digest: Digest; rulePriority?: number; targetStorageClass?: string }[];
}

/**
 * ECR's preview could not give an answer tonight: still IN_PROGRESS at the deadline, another preview running
 * (LifecyclePolicyPreviewInProgressException), EXPIRED, FAILED, or an answer for another policy. Never permission:
 * the policy is not installed this run, and the report says why.
 */
export class PreviewNotCompletedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreviewNotCompleted';
  }
}

export interface TagDeletion {
  digest: Digest;
  tag: string;
}

export interface WriteFailure {
  digest?: Digest;
  tag?: string;
  code: string;
  message: string;
}

export interface RegistryPort {
  /** Account id of the registry, when known (to match pin references by registry). */
  registryId(): Promise<string | undefined>;
  listRepositories(): Promise<string[]>;
  /** The repository's resource tags (ListTagsForResource), key -> value; null when the repository no longer exists. */
  repositoryTags(repository: string): Promise<Record<string, string> | null>;
  /** Every image of a repository, archived ones included (DescribeImages with imageStatus ANY, paginated). */
  describeImages(repository: string, onPage?: (imagesSoFar: number) => void): Promise<ImageRecord[]>;
  /**
   * BatchGetImage, 100 ids per call. `extraMediaTypes`: media types to accept besides the known manifest formats (an
   * artifact of a type we do not understand must come back as it is, to be re-tagged with the same bytes).
   */
  getManifests(repository: string, digests: Digest[], extraMediaTypes?: readonly string[]): Promise<ManifestFetch>;
  /** Lifecycle policy text, or null when the repository has none. */
  getLifecyclePolicy(repository: string): Promise<string | null>;
  putLifecyclePolicy(repository: string, policyText: string): Promise<void>;
  /**
   * ECR's own dry run of a policy (StartLifecyclePolicyPreview, then GetLifecyclePolicyPreview until COMPLETE, with a
   * bounded wait). Throws PreviewNotCompletedError when there is no answer to act on.
   */
  previewLifecyclePolicy(repository: string, policyText: string): Promise<PolicyPreview>;
  /** Adds a tag to an existing image (PutImage with the same manifest bytes). */
  putTag(repository: string, digest: Digest, manifest: { text: string; mediaType?: string }, tag: string): Promise<void>;
  /**
   * Removes protection tags: BatchDeleteImage with the tag alone in each id (an id with digest and tag deletes the whole
   * image under some readings), 100 per call; failures[] are returned, never thrown. Only `keep-sha256-<hex>` tags
   * that name their digest are sent.
   */
  deleteTags(repository: string, tags: TagDeletion[]): Promise<{ deleted: TagDeletion[]; failures: WriteFailure[] }>;
  /** API calls made so far, per operation name. */
  callCounts(): Record<string, number>;
}

export interface PinSource {
  /** e.g. "ecs", "lambda", "ssm", "config" */
  readonly name: string;
  /** Every image reference in use. Throws when discovery fails: the caller fails closed. */
  discover(): Promise<PinReference[]>;
  /** Publishers the last discover() found silent (organization pins): their last pins stay in force; the report names them. */
  stalePublishers?(): StalePinPublisher[];
}

/** A publisher of organization pins that stopped publishing: "account/region" and when it last published (epoch ms). */
export interface StalePinPublisher {
  publisher: string;
  lastPublishedAt: number;
}

export interface StateStore {
  /**
   * null when the repository has no state yet. Throws StateIntegrityError for a well-formed state that fails its
   * integrity check (the caller treats it as missing), any other error for a state that cannot be read at all.
   */
  load(repository: string): Promise<RepositoryState | null>;
  save(state: RepositoryState): Promise<void>;
  /**
   * The repositories that have run state: where a janitor-written policy may be in force. Used when the registry's own
   * listing fails, so those repositories still get their hold.
   */
  repositories?(): Promise<string[]>;
}

/**
 * A stored state the janitor did not write as it is: another repository's (`repository`), edited after it was
 * written (`checksum`), or without a checksum (`unchecked`: written by a version before checksums, or by hand).
 */
export class StateIntegrityError extends Error {
  constructor(
    message: string,
    readonly reason: 'repository' | 'checksum' | 'unchecked',
  ) {
    super(message);
    this.name = 'StateIntegrityError';
  }
}

/** The Lambda invocation a run belongs to: its request id and whether it started a new execution environment. */
export interface Invocation {
  requestId?: string;
  coldStart: boolean;
}

export interface MetricsSink {
  /** One run's numbers; the EMF adapter writes them as Embedded Metric Format lines. */
  publish(report: import('./report-types.js').RunReport, invocation?: Invocation): void;
}

export interface Clock {
  now(): number;
}
