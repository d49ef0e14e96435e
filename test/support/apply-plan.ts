// A pure stand-in for ECR in domain tests: apply a plan's tag changes to an inventory, and run a lifecycle policy.
import { evaluatePolicy } from '../../lambda/domain/evaluator.js';
import { buildImageGraph } from '../../lambda/domain/graph.js';
import { parsePolicyText } from '../../lambda/domain/policy.js';
import type { Digest, RepositoryInventory, RepositoryPlan } from '../../lambda/domain/types.js';

/** Adds and removes the plan's protection tags; removing an image's last tag deletes it, as BatchDeleteImage by tag does. */
export function applyTagChanges(inventory: RepositoryInventory, plan: RepositoryPlan): RepositoryInventory {
  const images = inventory.images.map((image) => ({ ...image, tags: [...image.tags] }));
  const byDigest = new Map(images.map((image) => [image.digest, image]));
  for (const { digest, tag } of plan.protectTags.add) {
    const image = byDigest.get(digest);
    if (image && !image.tags.includes(tag)) image.tags.push(tag);
  }
  const deleted = new Set<Digest>();
  for (const { digest, tag } of plan.protectTags.remove) {
    const image = byDigest.get(digest);
    if (!image) continue;
    image.tags = image.tags.filter((t) => t !== tag);
    if (image.tags.length === 0) deleted.add(digest);
  }
  return withoutImages({ ...inventory, images }, deleted);
}

/** The policy to consider installed after applying a plan. */
export function installedPolicyAfter(plan: RepositoryPlan): string | null {
  return plan.policy.action === 'install' || plan.policy.action === 'hold' ? plan.policy.desiredText : plan.policy.currentText;
}

/** One lifecycle pass as ECR does it: expire what the policy selects, and drop referrers whose subject is gone. */
export function runLifecycle(inventory: RepositoryInventory, policyText: string | null, now: number): { inventory: RepositoryInventory; expired: Digest[] } {
  if (policyText === null) return { inventory, expired: [] };
  const outcomes = evaluatePolicy(parsePolicyText(policyText), buildImageGraph(inventory), now);
  const expired = new Set(outcomes.keys());
  let after = withoutImages(inventory, expired);
  // Referrers go with their subject, and theirs with them (a signature of an SBOM goes with the SBOM).
  const orphans = new Set<Digest>();
  for (;;) {
    const present = new Set(after.images.map((i) => i.digest));
    const next = after.images.filter((i) => i.subjectDigest && !present.has(i.subjectDigest)).map((i) => i.digest);
    if (next.length === 0) break;
    for (const digest of next) orphans.add(digest);
    after = withoutImages(after, new Set(next));
  }
  return { inventory: after, expired: [...expired, ...orphans] };
}

function withoutImages(inventory: RepositoryInventory, gone: Set<Digest>): RepositoryInventory {
  if (gone.size === 0) return inventory;
  const manifests = { ...inventory.manifests };
  for (const digest of gone) delete manifests[digest];
  return { ...inventory, images: inventory.images.filter((i) => !gone.has(i.digest)), manifests };
}
