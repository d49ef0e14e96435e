// The emulator's lifecycle engine: ECR's daily run and its preview, decided by the domain's evaluator over the
// model's images (so the emulator and the janitor agree on ECR's semantics by construction).
import { evaluatePolicy } from '../lambda/domain/evaluator.js';
import { buildImageGraph, isIndexMediaType } from '../lambda/domain/graph.js';
import { lintPolicy, parsePolicyText, PolicyError } from '../lambda/domain/policy.js';
import type { ImageRecord, LifecyclePolicy, RepositoryInventory } from '../lambda/domain/types.js';
import { EcrApiError, type PreviewEntry, type RegistryModel, type RepositoryStore } from './registry-model.js';

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

export interface LifecycleRunResult {
  expired: ExpiredImage[];
  referrersRemoved: RemovedReferrer[];
}

/** The repository as the janitor's inventory step would read it from ECR. */
export function inventoryOf(store: RepositoryStore): RepositoryInventory {
  const images: ImageRecord[] = [];
  const manifests: Record<string, string> = {};
  for (const image of store.allImages()) {
    images.push({
      digest: image.digest,
      tags: [...image.tags],
      pushedAt: image.pushedAt,
      sizeBytes: store.sizeInBytes(image),
      manifestMediaType: image.manifestMediaType,
      ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
      ...(image.lastPulledAt !== undefined ? { lastPulledAt: image.lastPulledAt } : {}),
      ...(image.subjectDigest ? { subjectDigest: image.subjectDigest } : {}),
    });
    if (isIndexMediaType(image.manifestMediaType)) manifests[image.digest] = image.manifest;
  }
  return { repository: store.name, images, manifests };
}

/** Parses and lints policy text as PutLifecyclePolicy does; InvalidParameterException names every problem. */
export function validatePolicyText(text: string): LifecyclePolicy {
  let policy: LifecyclePolicy;
  try {
    policy = parsePolicyText(text);
  } catch (error) {
    if (error instanceof PolicyError) throw invalidPolicy([error.message]);
    throw error;
  }
  const { errors } = lintPolicy(policy);
  if (errors.length > 0) throw invalidPolicy(errors.map((e) => `${e.field}: ${e.message}`));
  return policy;
}

function invalidPolicy(problems: string[]): EcrApiError {
  return new EcrApiError(
    'InvalidParameterException',
    `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${problems.join('; ')}'`,
  );
}

/** What the policy would do now, by rule priority then oldest first. */
export function previewPolicy(store: RepositoryStore, policy: LifecyclePolicy, now: number): PreviewEntry[] {
  const outcomes = evaluatePolicy(policy, buildImageGraph(inventoryOf(store)), now);
  const entries: (PreviewEntry & { seq: number })[] = [];
  for (const outcome of outcomes.values()) {
    const image = store.image(outcome.digest);
    if (!image) continue;
    entries.push({ digest: image.digest, tags: [...image.tags], pushedAt: image.pushedAt, action: outcome.action, rulePriority: outcome.rulePriority, seq: image.seq });
  }
  entries.sort((a, b) => a.rulePriority - b.rulePriority || a.pushedAt - b.pushedAt || a.seq - b.seq);
  return entries.map(({ seq: _seq, ...entry }) => entry);
}

/**
 * One lifecycle pass over every repository, as ECR's daily run: expire what each installed policy selects now, then
 * drop OCI referrers whose subject is gone (ECR does that within 24 h). Transitions to archive are not modelled.
 */
export function runLifecycle(model: RegistryModel): LifecycleRunResult {
  const now = model.now();
  const expired: ExpiredImage[] = [];
  const referrersRemoved: RemovedReferrer[] = [];
  for (const store of model.listRepositories()) {
    if (store.policyText !== undefined) {
      const policy = parsePolicyText(store.policyText);
      for (const entry of previewPolicy(store, policy, now)) {
        if (entry.action !== 'expire') continue;
        const image = store.image(entry.digest);
        // ECR never expires what a present index lists, whatever the rules say.
        if (!image || store.isListedByPresentIndex(image.digest)) continue;
        const bytes = store.sizeInBytes(image);
        store.removeImage(entry.digest);
        expired.push({ repository: store.name, digest: entry.digest, tags: entry.tags, rulePriority: entry.rulePriority, bytes });
      }
      store.lastEvaluatedAt = now;
    }
    referrersRemoved.push(...removeOrphanReferrers(store));
  }
  return { expired, referrersRemoved };
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
