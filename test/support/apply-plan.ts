// A pure stand-in for ECR in domain tests: apply a plan's tag changes to an inventory, and run a lifecycle policy with
// the emulator's engine (written from AWS's docs), never the janitor's own evaluator: the planner is judged by ECR's
// reading, not by itself.
import { evaluateLifecycle, FAITHFUL_READINGS, type EngineImage, type LifecycleReadings } from '../../emulator/lifecycle-engine.js';
import { validateLifecyclePolicyText } from '../../emulator/policy-validation.js';
import type { Digest, ImageRecord, RepositoryInventory, RepositoryPlan } from '../../lambda/domain/types.js';

const INDEX_MEDIA_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

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

/** Digests each present index lists, read from its manifest (an unreadable manifest lists nothing). */
function childrenByIndex(inventory: RepositoryInventory): Map<Digest, Digest[]> {
  const children = new Map<Digest, Digest[]>();
  for (const image of inventory.images) {
    if (!INDEX_MEDIA_TYPES.includes(image.manifestMediaType ?? '')) continue;
    const text = inventory.manifests[image.digest];
    if (text === undefined) continue;
    try {
      const manifests: unknown = (JSON.parse(text) as { manifests?: unknown }).manifests;
      if (Array.isArray(manifests)) children.set(image.digest, manifests.map((m) => (m as { digest?: string }).digest).filter((d): d is string => typeof d === 'string'));
    } catch {
      // not JSON: lists nothing
    }
  }
  return children;
}

/** The inventory's images as the emulator's engine sees them (push order = inventory order); restores in flight are left out. */
function engineImagesOf(inventory: RepositoryInventory): EngineImage[] {
  const present = new Map(inventory.images.map((image) => [image.digest, image]));
  const holdingIndex = new Set<Digest>();
  for (const [index, children] of childrenByIndex(inventory)) {
    // An archived index no longer holds its children (user guide: "without the manifest list being deleted or archived first").
    if (present.get(index)?.imageStatus === 'ARCHIVED') continue;
    for (const child of children) holdingIndex.add(child);
  }
  return inventory.images
    .map((image, seq) => ({ image, seq }))
    .filter(({ image }) => image.imageStatus !== 'ACTIVATING')
    .map(({ image, seq }) => ({
      digest: image.digest,
      tags: image.tags,
      pushedAt: image.pushedAt,
      storageClass: image.imageStatus === 'ARCHIVED' ? 'ARCHIVE' : 'STANDARD',
      listedByPresentIndex: holdingIndex.has(image.digest),
      subjectPresent: image.subjectDigest !== undefined && present.has(image.subjectDigest),
      seq,
      ...(image.lastPulledAt !== undefined ? { lastPulledAt: image.lastPulledAt } : {}),
      ...(image.lastArchivedAt !== undefined ? { lastArchivedAt: image.lastArchivedAt } : {}),
      ...(image.lastActivatedAt !== undefined ? { lastActivatedAt: image.lastActivatedAt } : {}),
    }));
}

/**
 * One lifecycle pass as ECR does it (the emulator's engine): expire or archive what the policy selects, refusing index
 * children and referrers while their index or subject is present, then drop referrers whose subject is gone. The policy
 * text must pass the emulator's ECR-like validation, as it would have to go into ECR.
 */
export function runLifecycle(
  inventory: RepositoryInventory,
  policyText: string | null,
  now: number,
  readings: LifecycleReadings = FAITHFUL_READINGS,
): { inventory: RepositoryInventory; expired: Digest[]; transitioned: Digest[] } {
  if (policyText === null) return { inventory, expired: [], transitioned: [] };
  const images = engineImagesOf(inventory);
  const held = new Set(images.filter((i) => i.listedByPresentIndex || i.subjectPresent).map((i) => i.digest));
  const expired = new Set<Digest>();
  const transitioned = new Set<Digest>();
  for (const action of evaluateLifecycle(validateLifecyclePolicyText(policyText), images, now, readings)) {
    if (held.has(action.digest)) continue;
    (action.action === 'expire' ? expired : transitioned).add(action.digest);
  }
  const archive = (image: ImageRecord): ImageRecord => (transitioned.has(image.digest) ? { ...image, imageStatus: 'ARCHIVED', lastArchivedAt: now } : image);
  let after = withoutImages({ ...inventory, images: inventory.images.map(archive) }, expired);
  // Referrers go with their subject, and theirs with them (a signature of an SBOM goes with the SBOM).
  const orphans = new Set<Digest>();
  for (;;) {
    const present = new Set(after.images.map((i) => i.digest));
    const next = after.images.filter((i) => i.subjectDigest && !present.has(i.subjectDigest)).map((i) => i.digest);
    if (next.length === 0) break;
    for (const digest of next) orphans.add(digest);
    after = withoutImages(after, new Set(next));
  }
  return { inventory: after, expired: [...expired, ...orphans], transitioned: [...transitioned] };
}

function withoutImages(inventory: RepositoryInventory, gone: Set<Digest>): RepositoryInventory {
  if (gone.size === 0) return inventory;
  const manifests = { ...inventory.manifests };
  for (const digest of gone) delete manifests[digest];
  return { ...inventory, images: inventory.images.filter((i) => !gone.has(i.digest)), manifests };
}
