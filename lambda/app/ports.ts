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
  /** All ACTIVE images of a repository (DescribeImages, paginated). */
  describeImages(repository: string, onPage?: (imagesSoFar: number) => void): Promise<ImageRecord[]>;
  /** BatchGetImage, 100 ids per call. */
  getManifests(repository: string, digests: Digest[]): Promise<ManifestFetch>;
  /** Lifecycle policy text, or null when the repository has none. */
  getLifecyclePolicy(repository: string): Promise<string | null>;
  putLifecyclePolicy(repository: string, policyText: string): Promise<void>;
  /** ECR's own dry run of a policy (StartLifecyclePolicyPreview, then GetLifecyclePolicyPreview until COMPLETE). */
  previewLifecyclePolicy(repository: string, policyText: string): Promise<PolicyPreview>;
  /** Adds a tag to an existing image (PutImage with the same manifest bytes). */
  putTag(repository: string, digest: Digest, manifest: { text: string; mediaType?: string }, tag: string): Promise<void>;
  /** BatchDeleteImage by digest+tag, 100 per call; failures[] are returned, never thrown. */
  deleteTags(repository: string, tags: TagDeletion[]): Promise<{ deleted: TagDeletion[]; failures: WriteFailure[] }>;
  /** API calls made so far, per operation name. */
  callCounts(): Record<string, number>;
}

export interface PinSource {
  /** e.g. "ecs", "lambda", "ssm", "config" */
  readonly name: string;
  /** Every image reference in use. Throws when discovery fails: the caller fails closed. */
  discover(): Promise<PinReference[]>;
}

export interface StateStore {
  load(repository: string): Promise<RepositoryState | null>;
  save(state: RepositoryState): Promise<void>;
}

export interface MetricsSink {
  /** One run's numbers; the EMF adapter writes them as Embedded Metric Format lines. */
  publish(report: import('./report-types.js').RunReport): void;
}

export interface Clock {
  now(): number;
}
