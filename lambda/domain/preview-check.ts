// ECR's own preview of a policy, held against our plan before the policy goes in. Our evaluator models ECR's documented
// semantics; if ECR disagrees about anything we keep, ECR is right about what it will do, so the policy waits for a person.
//
// One listing is no disagreement: an image ECR will refuse to act on. The user guide says a manifest list's children
// cannot be expired while the list exists, and OCI referrers are removed with their subject; whether the preview lists
// them anyway is open (containers-roadmap #2613), so a child of a present, kept index and a referrer of a present, kept
// subject may be listed. They are not counted as expiring either (maxExpireShare), nor are the children of an index
// that expires now: ECR takes them at a later run, once the index is gone.
import { tagsMatchPatternList, tagsMatchPrefixList } from './patterns.js';
import { parsePolicyText } from './policy.js';
import type { Digest, ImageDecision, LifecycleRule, RepositoryPlan } from './types.js';

export interface PreviewVerdict {
  /** Why the policy must not be installed, when it must not. */
  refusal?: string;
  /** ECR would expire or archive images our plan keeps: a model mismatch a person must look at. */
  disagrees: boolean;
  /** Listed by the preview but held by a kept index or subject: ECR will not act on them now. */
  refusedByEcr?: Digest[];
  /** Kept by the plan, listed by ECR in place of an image the plan expires that was pushed at the same instant. */
  tiesOrderedOtherwise?: Digest[];
}

/**
 * `expiring` and `transitioning`: the digests ECR's preview lists with action EXPIRE and TRANSITION. A transition of an
 * image the plan keeps in standard storage is a disagreement too: an archived image cannot be pulled.
 */
export function checkPreview(
  plan: RepositoryPlan,
  expiring: readonly Digest[],
  maxExpireShare: number,
  transitioning: readonly Digest[] = [],
): PreviewVerdict {
  const decisions = new Map(plan.images.map((image) => [image.digest, image]));
  const refusedByEcr: Digest[] = [];
  const heldAway = (digest: Digest): boolean => {
    if (!isHeldByKeptImage(decisions.get(digest), decisions)) return false;
    refusedByEcr.push(digest);
    return true;
  };
  const actedOn = [...new Set(expiring)].filter((digest) => !heldAway(digest));
  const archived = [...new Set(transitioning)].filter((digest) => !heldAway(digest));
  const kept = (digest: Digest) => {
    const decision = decisions.get(digest)?.decision;
    return decision === 'keep' || decision === 'protect';
  };
  const rules = rulesOf(plan);
  // The plan archives it (a transition rule), ECR would delete it: what the plan keeps in archive would be lost.
  const onlyArchived = (digest: Digest) => {
    const image = decisions.get(digest);
    return image?.decision === 'expire' && rules.find((r) => r.rulePriority === image.rule)?.action.type === 'transition';
  };
  const listed = new Set([...actedOn, ...archived]);
  const ties = tieSwaps(plan, rules, listed);
  const disputed = [
    ...actedOn.filter((digest) => kept(digest) || onlyArchived(digest)).map((digest) => ({ digest, verb: 'expire' })),
    ...archived.filter(kept).map((digest) => ({ digest, verb: 'archive' })),
  ].filter(({ digest }) => !ties.has(digest));
  const held = { ...(refusedByEcr.length > 0 ? { refusedByEcr } : {}), ...(ties.size > 0 ? { tiesOrderedOtherwise: [...ties] } : {}) };
  if (disputed.length > 0) {
    const examples = disputed.slice(0, 3).map(({ digest, verb }) => `${digest} (${verb}; ${decisions.get(digest)!.decision}: ${decisions.get(digest)!.reason})`);
    const verbs = [...new Set(disputed.map((d) => d.verb))].join(' or ');
    return {
      refusal: `ECR's preview would ${verbs} ${disputed.length} image(s) the plan keeps (or only archives), e.g. ${examples.join('; ')}; policy not installed`,
      disagrees: true,
      ...held,
    };
  }
  // A listed image an index or subject still holds (a child of an index that goes now) waits for a later run.
  const expiringNow = actedOn.filter((digest) => (decisions.get(digest)?.heldBy?.length ?? 0) === 0);
  const total = plan.images.length;
  if (total > 0 && expiringNow.length / total > maxExpireShare) {
    return {
      refusal: `ECR's preview would expire ${expiringNow.length} of ${total} images at once, more than maxExpireShare ${maxExpireShare}; policy not installed`,
      disagrees: false,
      ...held,
    };
  }
  return { disagrees: false, ...held };
}

/**
 * Which of equal push times ranks newer is not documented (the pessimistic reading ranks them the other way round).
 * A plain keep (no protection) that ECR lists, paired with an image the plan expires, pushed at the same instant, that
 * ECR does not list, is the same count kept, ordered otherwise: no disagreement. A protected image never pairs.
 */
function tieSwaps(plan: RepositoryPlan, rules: readonly LifecycleRule[], listed: ReadonlySet<Digest>): Set<Digest> {
  const swapped = new Set<Digest>();
  // Order matters to count rules only; an age rule expires the same images whatever the order.
  const countRule = (priority: number | undefined) => rules.find((r) => r.rulePriority === priority && r.selection.countType === 'imageCountMoreThan');
  const unlisted = plan.images.filter((image) => image.decision === 'expire' && countRule(image.rule) !== undefined && !listed.has(image.digest));
  // A protected image a higher rule claims still counts in a count rule's ranking: tied with a plain keep, ECR may rank
  // it within the newest N where the plan ranked it beyond, and then expire one more plain keep of the tie.
  const countRules = rules.filter((r) => r.selection.countType === 'imageCountMoreThan');
  const claimed = plan.images.filter((image) => image.decision === 'protect' && !listed.has(image.digest));
  for (const image of plan.images) {
    if (image.decision !== 'keep' || image.heldBy !== undefined || !listed.has(image.digest)) continue;
    const at = unlisted.findIndex((other) => other.pushedAt === image.pushedAt && selectsTags(countRule(other.rule)!, image.tags));
    if (at >= 0) {
      unlisted.splice(at, 1);
      swapped.add(image.digest);
      continue;
    }
    const tied = claimed.findIndex((other) => other.pushedAt === image.pushedAt && countRules.some((r) => selectsTags(r, other.tags) && selectsTags(r, image.tags)));
    if (tied < 0) continue;
    claimed.splice(tied, 1);
    swapped.add(image.digest);
  }
  return swapped;
}

/** The rules of the policy the plan would install; none when its text cannot be read (then nothing pairs). */
function rulesOf(plan: RepositoryPlan): LifecycleRule[] {
  try {
    return parsePolicyText(plan.policy.desiredText).rules;
  } catch {
    return [];
  }
}

function selectsTags(rule: LifecycleRule, tags: readonly string[]): boolean {
  const s = rule.selection;
  if (s.tagStatus === 'any') return true;
  if (s.tagStatus === 'untagged') return tags.length === 0;
  if (tags.length === 0) return false;
  if (s.tagPatternList) return tagsMatchPatternList(tags, s.tagPatternList);
  return s.tagPrefixList !== undefined && tagsMatchPrefixList(tags, s.tagPrefixList);
}

/** Kept only because a present image the plan keeps holds it (its index, or its subject): ECR cannot act on it now. */
function isHeldByKeptImage(image: ImageDecision | undefined, decisions: Map<Digest, ImageDecision>): boolean {
  if (!image?.heldBy || image.heldBy.length === 0) return false;
  if (image.decision !== 'keep' && image.decision !== 'protect') return false;
  return image.heldBy.some((holder) => {
    const decision = decisions.get(holder)?.decision;
    return decision === 'keep' || decision === 'protect';
  });
}
