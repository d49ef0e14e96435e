// Shared shapes of the pure domain. No @aws-sdk import anywhere under lambda/domain: adapters map SDK shapes to these.

export type Digest = string; // "sha256:<64 lowercase hex>"

/** One image as DescribeImages reports it (ImageDetail); times are epoch milliseconds. */
export interface ImageRecord {
  digest: Digest;
  tags: string[];
  pushedAt: number;
  /** ECR's imageSizeInBytes; for an image index ECR reports the largest child. */
  sizeBytes: number;
  manifestMediaType?: string;
  artifactMediaType?: string;
  lastPulledAt?: number;
  /** ImageDetail.subjectManifestDigest: set on OCI 1.1 referrers. */
  subjectDigest?: Digest;
  /** ImageDetail.imageStatus: absent means ACTIVE (standard storage). ARCHIVED images cannot be pulled. */
  imageStatus?: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
  /** When the image last went to archive (sinceImageTransitioned counts from here). */
  lastArchivedAt?: number;
  /** When the image was last restored from archive: ages in standard storage count from here, not from the push. */
  lastActivatedAt?: number;
}

/** What the janitor read of one repository. */
export interface RepositoryInventory {
  repository: string;
  images: ImageRecord[];
  /** Manifest text of every image index (from BatchGetImage), by digest; children are learnt from these. */
  manifests: Record<Digest, string>;
  /** Indexes whose manifest could not be fetched, with the reason (e.g. BatchGetImage failures[]). */
  manifestFailures?: Record<Digest, string>;
}

export type ImageKind =
  | 'index' // OCI image index / Docker manifest list
  | 'image' // a runnable image manifest
  | 'attestation' // buildx attestation manifest inside an index (platform unknown/unknown)
  | 'referrer' // OCI 1.1 artifact with a subject (signature, SBOM, provenance)
  | 'cache' // BuildKit registry cache manifest (application/vnd.buildkit.cacheconfig.v0)
  | 'unknown'; // media type we do not understand: always kept

export interface ImageNode {
  /** 0 to the graph's size - 1, one per node: loops over every image index arrays by it instead of hashing digests. */
  id: number;
  record: ImageRecord;
  kind: ImageKind;
  /** Indexes present in the repository that list this manifest. */
  parents: Digest[];
  /** For an index: the manifests it lists that are present in the repository. */
  children: Digest[];
  /** For an index: listed manifests that are absent from the repository. */
  missingChildren: Digest[];
  /** Referrer: its subject. In-index attestation: the image it attests (vnd.docker.reference.digest). */
  subject?: Digest;
  /** OCI 1.1 referrers present in the repository whose subject is this image. */
  referrers: Digest[];
  /** Bytes this image adds to the bill: an index with children present adds ~0 (its children are counted). */
  billableBytes: number;
  /** Why we are unsure about this image (unparsable manifest, unknown media type...). Unsure means keep. */
  problems: string[];
}

export interface GraphProblem {
  digest: Digest;
  message: string;
}

export interface ImageGraph {
  repository: string;
  nodes: Map<Digest, ImageNode>;
  /** Images whose relations could not be fully known; the planner keeps them and what they may hold. */
  problems: GraphProblem[];
  /** True when an index could not be read: untagged images may be its children, so none are reaped by us. */
  childrenUncertain: boolean;
}

// ---- Lifecycle policy (ECR JSON, as documented) ----

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type CountType = 'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: TagStatus;
    tagPatternList?: string[];
    tagPrefixList?: string[];
    storageClass?: 'standard' | 'archive';
    countType: CountType;
    countUnit?: 'days';
    countNumber: number;
  };
  action: { type: 'expire' | 'transition'; targetStorageClass?: 'archive' };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

/** What the evaluator says ECR would do to one image now. */
/**
 * What a rule does to an image: the image is the outcome map's key (one outcome object per rule, shared by its images).
 * An evaluation's map also carries `byId`: the same outcomes by node id (ImageNode.id), for loops over every image.
 */
export type Outcomes = Map<Digest, RuleOutcome> & { byId?: OutcomesById };

/** `outcomes[slot[id] - 1]` is the outcome of the node with that id; slot 0: none. */
export interface OutcomesById {
  slot: Uint16Array;
  outcomes: RuleOutcome[];
}

export interface RuleOutcome {
  rulePriority: number;
  action: 'expire' | 'transition';
}

// ---- Pins and protection ----

/** A reference a deployment uses: by digest, or by tag (resolved to a digest against the inventory). */
export interface PinReference {
  repository: string;
  digest?: Digest;
  tag?: string;
  /** Where it came from, for the report: "ecs:cluster/service", "lambda:fn", "config", "ssm:/name". */
  source: string;
}

/**
 * The previous run's inventory: what disappeared since is "reaped". Columns, not a digest-keyed object: 100k digests
 * as object keys cost the planner more than the rest of its output (V8 interns every key), and the state's checksum
 * would sort them. `tags`: tag -> digest for every tag but protection tags, so an ECR push event can tell which image
 * a moved tag left (protect-on-event).
 */
export interface LastInventory {
  at: number;
  /** Every image's digest; `bytes[i]` is the billable bytes of `digests[i]`. */
  digests: Digest[];
  bytes: number[];
  tags?: Record<string, Digest>;
}

/** Durable per-repository state kept between runs (S3 object in AWS, a file on a laptop). */
export interface RepositoryState {
  repository: string;
  /** Pinned digest -> last time (epoch ms) a pin source reported it. Drives the grace period. */
  pinsLastSeen: Record<Digest, number>;
  lastInventory?: LastInventory;
  /**
   * Manifest text of the repository's image indexes, by digest. A digest names its bytes, so an index is read once,
   * not every night: fewer calls, and no BatchGetImage that would count as a pull of every index.
   */
  indexManifests?: Record<Digest, string>;
  /**
   * The last policy seen in force that is not a hold: while on hold, the one the hold replaced (its foreign rules come
   * back with it); otherwise what the last run left installed.
   */
  heldPolicyText?: string;
  /** When the janitor itself last read each manifest (BatchGetImage is a pull): recent pulls discount these. */
  janitorReads?: Record<Digest, number>;
  /** The pins of the last run the pin circuit breaker accepted (domain/pin-breaker.ts). */
  pinBaseline?: { at: number; digests: Digest[]; sources: Record<string, number> };
  /** What the last clean full read saw, so an unchanged night can confirm instead of re-reading (domain/change-check.ts). */
  unchanged?: UnchangedBasis;
  /**
   * A lifecycle policy preview left running in ECR when the invocation had to end: since when (at the latest) and for
   * which policy text (fingerprint of its meaning). The next run adopts it; this says for how long it has run.
   */
  previewRunning?: { startedAt: number; policyFingerprint: string };
}

/** The basis a clean full read leaves for skipping the next nights (domain/change-check.ts); fingerprints are sha256. */
export interface UnchangedBasis {
  /** When that read began (before DescribeImages): a change marked after this means read whole. */
  readStartedAt: number;
  /** The newest change mark seen then: a later night seeing an older one, or none, reads whole. */
  markAt?: number;
  configFingerprint: string;
  pinFingerprint: string;
  pinsLastSeenFingerprint: string;
  /** Digests the pins resolved to: a confirmed night refreshes their pinsLastSeen, so no grace ends early. */
  pinned: Digest[];
  /** The policy the run left in force ("none" without one). */
  policyFingerprint: string;
  /** The earliest time a decision of that plan changes by time alone (Infinity: none). */
  revisitBy: number;
  /** That plan's totals, reported on a confirmed night. */
  totals: { pending: { images: number; bytes: number }; protected: { images: number; bytes: number } };
}

// ---- Plan ----

export type Decision = 'keep' | 'protect' | 'expire' | 'pending';

export interface ImageDecision {
  digest: Digest;
  tags: string[];
  kind: ImageKind;
  bytes: number; // billable bytes
  pushedAt: number;
  decision: Decision;
  reason: string;
  /** rulePriority of the lifecycle rule that expires it (expire/pending). */
  rule?: number;
  /**
   * The present images that hold it, when they are why it stays or why it waits: its indexes (ECR cannot expire a
   * manifest list's child while the list exists) or its subject (a referrer goes with its subject). ECR cannot act on
   * it this run; its preview may still list it, which is no disagreement.
   */
  heldBy?: Digest[];
}

export interface TagChange {
  digest: Digest;
  tag: string;
  reason: string;
}

/** hold: put a policy that expires nothing, because what the installed one would expire next cannot be shielded now. */
export type PolicyAction = 'install' | 'unchanged' | 'skip' | 'refuse' | 'hold';

export interface PolicyPlan {
  /** The policy text we want in place (after merge with a foreign policy, when mode is merge). */
  desiredText: string;
  currentText: string | null;
  action: PolicyAction;
  reason: string;
  warnings: string[];
  /**
   * The policy to install is the one a hold replaced, coming back: it was accepted before the hold, so the backlog the
   * hold kept is not held against maxExpireShare (protected images still are).
   */
  resumesAfterHold?: boolean;
}

export interface DecisionTotals {
  images: number;
  bytes: number;
}

export interface PlanTotals {
  images: number;
  bytes: number;
  keep: DecisionTotals;
  protect: DecisionTotals;
  expire: DecisionTotals;
  pending: DecisionTotals;
}

export interface RepositoryPlan {
  repository: string;
  images: ImageDecision[];
  policy: PolicyPlan;
  protectTags: { add: TagChange[]; remove: TagChange[] };
  /** State to save once the plan has been applied. */
  nextState: RepositoryState;
  totals: PlanTotals;
  /** keepPulledWithinDays: images kept for a recent pull, and pulls that were the janitor's own reads. */
  recentPulls?: { protected: number; discountedJanitorReads: number };
  /** Set when destructive actions are withheld this run (pins unknown, graph uncertain...). */
  blocked?: string;
  warnings: string[];
}

// ---- Configuration (one schema for the CLI and the CDK app; parsed and validated by config.ts) ----

export interface CiTagRule {
  /** ECR tag pattern (wildcard `*`, at most 4), e.g. "ci-*". One lifecycle rule per pattern. */
  pattern: string;
  /** How many of the newest images matching the pattern to keep. */
  keep: number;
}

export type ExistingPolicyMode = 'replace' | 'merge' | 'skip';

/** A repository resource tag: only repositories carrying it are managed, and IAM refuses writes anywhere else. */
export interface RepositoryTag {
  key: string;
  value: string;
}

export interface JanitorConfig {
  repositories: { include: string[]; exclude: string[]; tag?: RepositoryTag };
  untaggedExpireDays: number;
  ciTags: CiTagRule[];
  /** Tag patterns that are never expired. Always contains "buildcache"; the protection-tag pattern is added by the renderer. */
  protectedTags: string[];
  pins: {
    digests: { repository: string; digest: Digest }[];
    tags: { repository: string; tag: string }[];
    ecs: boolean;
    lambda: boolean;
    ssmParameter?: string;
    /** Organization-wide pins bucket (README "Organization-wide pins"). */
    orgBucket?: string;
  };
  pinGraceDays: number;
  /** Off when absent: images pulled within this many days count as pinned, the janitor's own reads discounted. */
  keepPulledWithinDays?: number;
  /** ECS: the images of each service's last K task definition revisions are pinned (the current one counts as one). */
  rollbackDepth: number;
  existingPolicy: ExistingPolicyMode;
  /**
   * Images of a media type we do not understand: "keep" (default) shields each one the policy would expire with a
   * protection tag until a person decides; "expire" lets the policy treat them like any other image.
   */
  unknownArtifacts: 'keep' | 'expire';
  /** Refuse a policy that would expire more than this share (0..1) of a repository's images at once. */
  maxExpireShare: number;
  /**
   * Pin circuit breaker: when a repository's pinned digests shrink by more than this share (0..1) from the last
   * accepted run, or a pin source that named several of its images names none, pins count as unknown (fail closed).
   */
  maxPinDrop: number;
  /** Per-run caps on the janitor's own writes, per repository. */
  maxTagRemovalsPerRun: number;
  maxTagAdditionsPerRun: number;
  dryRun: boolean;
  /** EventBridge schedule expression for the Lambda (CDK only). */
  schedule: string;
  /** Storage price used for the $ estimate. */
  pricePerGbMonth: number;
  /** Repositories making ECR calls at once; unset: sized for the function's memory (Lambda) or 4 (CLI). */
  concurrency?: number;
  /**
   * Lambda path: protection tags (PutImage) per second, under ECR's PutImage quota (10/s per account and Region,
   * shared with CI pushes); unset: 9, which leaves CI one call a second.
   */
  putImagePerSecond?: number;
  /**
   * Lambda path: a repository unchanged since its last full read (no ECR push or delete event, same pins, config and
   * policy, nothing due) is confirmed without reading it, but read whole at least this often. Unset or 0: every
   * repository is read whole every night (the construct routes push/delete events and wires change marks only when set;
   * where change marks are wired without it, e.g. a custom wiring, 7 applies).
   */
  fullReadEveryDays?: number;
}
