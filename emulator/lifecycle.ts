// ECR's daily lifecycle run and its preview over the model's images, decided by the emulator's own engine
// (lifecycle-engine.ts, written from AWS's documentation; nothing here comes from the janitor's code).
import {
  evaluateLifecycle,
  FAITHFUL_READINGS,
  type EngineImage,
  type EnginePolicy,
  type LifecycleReadings,
} from './lifecycle-engine.js';
import { validateLifecyclePolicyText } from './policy-validation.js';
import type { PreviewEntry, RegistryModel, RepositoryStore, StoredImage } from './registry-model.js';

export interface ExpiredImage {
  repository: string;
  digest: string;
  tags: string[];
  rulePriority: number;
  bytes: number;
}

export interface RemovedReferrer {
  repository: string;
  digest: string;
  subjectDigest: string;
}

/** An action a rule chose that ECR refused at execution (its index or subject is still there). */
export interface RefusedAction {
  repository: string;
  digest: string;
  action: 'expire' | 'transition';
  rulePriority: number;
  reason: string;
}

export interface LifecycleRunResult {
  expired: ExpiredImage[];
  referrersRemoved: RemovedReferrer[];
  /** Images moved to the archive storage class by a transition rule. */
  transitioned: ExpiredImage[];
  /** Referrers archived because their subject is archived. */
  referrersArchived: RemovedReferrer[];
  refused: RefusedAction[];
}

/** Parses and validates policy text as PutLifecyclePolicy does (InvalidParameterException naming every problem). */
export function validatePolicyText(text: string): EnginePolicy {
  return validateLifecyclePolicyText(text);
}

/**
 * "If an image is referenced by a manifest list, it cannot be expired or archived without the manifest list being
 * deleted or archived first" (user guide, lifecycle policy evaluation rules): only an index that is not archived holds.
 */
function listedByPresentIndex(store: RepositoryStore, image: StoredImage): boolean {
  return store.parents(image.digest).some((parent) => store.image(parent)?.imageStatus !== 'ARCHIVED');
}

function subjectPresent(store: RepositoryStore, image: StoredImage): boolean {
  return image.subjectDigest !== undefined && store.image(image.subjectDigest) !== undefined;
}

/** The repository's images as the engine sees them. Images being restored are in transit: no rule acts on them. */
export function engineImagesOf(store: RepositoryStore): EngineImage[] {
  return store
    .allImages()
    .filter((image) => image.imageStatus !== 'ACTIVATING')
    .map((image) => ({
      digest: image.digest,
      tags: [...image.tags],
      pushedAt: image.pushedAt,
      storageClass: image.storageClass ?? 'STANDARD',
      listedByPresentIndex: listedByPresentIndex(store, image),
      subjectPresent: subjectPresent(store, image),
      seq: image.seq,
      ...(image.lastPulledAt !== undefined ? { lastPulledAt: image.lastPulledAt } : {}),
      ...(image.lastArchivedAt !== undefined ? { lastArchivedAt: image.lastArchivedAt } : {}),
      ...(image.lastActivatedAt !== undefined ? { lastActivatedAt: image.lastActivatedAt } : {}),
    }));
}

/** What the policy would do now, by rule priority then oldest first (what GetLifecyclePolicyPreview lists). */
export function previewPolicy(store: RepositoryStore, policy: EnginePolicy, now: number, readings: LifecycleReadings = FAITHFUL_READINGS): PreviewEntry[] {
  const entries: PreviewEntry[] = [];
  for (const action of evaluateLifecycle(policy, engineImagesOf(store), now, readings)) {
    const image = store.image(action.digest)!;
    entries.push({
      digest: image.digest,
      tags: [...image.tags],
      pushedAt: image.pushedAt,
      action: action.action,
      rulePriority: action.rulePriority,
      storageClass: action.storageClass,
    });
  }
  return entries;
}

/**
 * One lifecycle pass over every repository, as ECR's daily run: expire or archive what each installed policy selects
 * now (refusing index children and referrers while their index or subject is there, whatever the readings listed),
 * then drop OCI referrers whose subject is gone and archive those whose subject is archived ("Amazon ECR lifecycle
 * policies automatically expire or archive those artifacts within 24 hours of the deletion or archival of the subject
 * image", user guide). Readings default to the model's profile.
 */
export function runLifecycle(model: RegistryModel, readings?: LifecycleReadings): LifecycleRunResult {
  const now = model.now();
  const chosen = readings ?? model.profile.lifecycle;
  const result: LifecycleRunResult = { expired: [], referrersRemoved: [], transitioned: [], referrersArchived: [], refused: [] };
  for (const store of model.listRepositories()) {
    if (store.policyText !== undefined) {
      const policy = validateLifecyclePolicyText(store.policyText);
      const seen = engineImagesOf(store);
      const byDigest = new Map(seen.map((image) => [image.digest, image]));
      for (const action of evaluateLifecycle(policy, seen, now, chosen)) {
        const image = store.image(action.digest);
        const before = byDigest.get(action.digest);
        if (!image || !before) continue;
        if (before.listedByPresentIndex || before.subjectPresent) {
          const reason = before.listedByPresentIndex ? 'referenced by a manifest list that is still in the repository' : 'its subject is still in the repository';
          result.refused.push({ repository: store.name, digest: image.digest, action: action.action, rulePriority: action.rulePriority, reason });
          continue;
        }
        const done = { repository: store.name, digest: image.digest, tags: [...image.tags], rulePriority: action.rulePriority, bytes: store.sizeInBytes(image) };
        if (action.action === 'expire') {
          store.removeImage(image.digest);
          result.expired.push(done);
        } else {
          store.archiveImage(image, now);
          result.transitioned.push(done);
        }
      }
      store.lastEvaluatedAt = now;
    }
    result.referrersRemoved.push(...removeOrphanReferrers(store));
    result.referrersArchived.push(...archiveReferrersOfArchived(store, now));
  }
  return result;
}

/** Referrers whose subject is absent, and then theirs (a signature of an SBOM goes with the SBOM). */
function removeOrphanReferrers(store: RepositoryStore): RemovedReferrer[] {
  const removed: RemovedReferrer[] = [];
  let orphans = [...store.referrersOf.keys()].filter((subject) => !store.image(subject));
  while (orphans.length > 0) {
    const next: string[] = [];
    for (const subject of orphans) {
      for (const referrer of store.referrers(subject)) {
        store.removeImage(referrer.digest);
        removed.push({ repository: store.name, digest: referrer.digest, subjectDigest: subject });
        if (store.referrersOf.has(referrer.digest)) next.push(referrer.digest);
      }
    }
    orphans = next;
  }
  return removed;
}

/** Standard referrers of archived subjects, and then theirs, go to archive too. */
function archiveReferrersOfArchived(store: RepositoryStore, now: number): RemovedReferrer[] {
  const archived: RemovedReferrer[] = [];
  let subjects = [...store.referrersOf.keys()].filter((subject) => store.image(subject)?.imageStatus === 'ARCHIVED');
  while (subjects.length > 0) {
    const next: string[] = [];
    for (const subject of subjects) {
      for (const referrer of store.referrers(subject)) {
        if ((referrer.imageStatus ?? 'ACTIVE') !== 'ACTIVE') continue; // archived already, or being restored on purpose
        store.archiveImage(referrer, now);
        archived.push({ repository: store.name, digest: referrer.digest, subjectDigest: subject });
        if (store.referrersOf.has(referrer.digest)) next.push(referrer.digest);
      }
    }
    subjects = next;
  }
  return archived;
}
