// What ECR's lifecycle would do to a repository right now, following the documented semantics:
// - rules apply in priority order; each image is acted on by at most one rule;
// - an image that matches the tag requirements of a higher-priority rule cannot be expired by a lower-priority rule
//   (it still counts in a lower rule's imageCountMoreThan ranking);
// - imageCountMoreThan expires the oldest (by push time) beyond the newest N;
// - an image listed by an index that is present cannot be expired: it is not ranked until the index is gone;
// - an OCI referrer whose subject is present follows its subject and is not ranked;
// - a rule selects one storage class (standard by default): standard is an ACTIVE image, archive an ARCHIVED one; an
//   image being restored (ACTIVATING) is in neither, so no rule acts on it. Shielding is per storage class too.
// - after a restore from archive, ages and ranks in standard count from lastActivatedAt, not from the push;
//   sinceImageTransitioned counts from lastArchivedAt (an archived image without one is never selected by age).
import { tagsMatchPatternList, tagsMatchPrefixList } from './patterns.js';
import { DAY_MS } from './time.js';
import type { Digest, ImageGraph, ImageNode, ImageRecord, LifecyclePolicy, LifecycleRule, RuleOutcome } from './types.js';

export type StorageClass = 'standard' | 'archive';

/** The storage class lifecycle rules see an image in; undefined while a restore is under way (ACTIVATING). */
export function storageClassOf(record: ImageRecord): StorageClass | undefined {
  const status = record.imageStatus ?? 'ACTIVE';
  return status === 'ACTIVE' ? 'standard' : status === 'ARCHIVED' ? 'archive' : undefined;
}

/** When the image's time in standard storage began: its push, or its last restore from archive. */
export function activeSince(record: ImageRecord): number {
  return record.lastActivatedAt !== undefined && record.lastActivatedAt > record.pushedAt ? record.lastActivatedAt : record.pushedAt;
}

/**
 * The images rules rank, newest first (rankOrder). It depends on the images, their times and what holds them, not on
 * tags: a planner evaluating several policies or tag changes over the same images computes it once.
 */
export type RankOrder = readonly Digest[];

export function rankOrder(graph: ImageGraph): RankOrder {
  return rankableNewestFirst(graph).map((node) => node.record.digest);
}

/** `order`: rankOrder of a graph with the same images, parents and subjects as this one (tags may differ). */
export function evaluatePolicy(policy: LifecyclePolicy, graph: ImageGraph, now: number, order?: RankOrder): Map<Digest, RuleOutcome> {
  const rankable = order ? order.map((digest) => graph.nodes.get(digest)!) : rankableNewestFirst(graph);
  const outcomes = new Map<Digest, RuleOutcome>();
  const claimed = new Set<Digest>(); // matched a higher-priority rule's tag requirements
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  // Indexed loops: one plan evaluates a few times over 100k images, before the code is optimised.
  for (const rule of rules) {
    const matching: ImageNode[] = [];
    for (let i = 0; i < rankable.length; i++) if (selects(rule, rankable[i]!)) matching.push(rankable[i]!);
    const acted = candidates(rule, matching, now);
    for (let i = 0; i < acted.length; i++) {
      const digest = acted[i]!.record.digest;
      if (claimed.has(digest) || outcomes.has(digest)) continue;
      outcomes.set(digest, { digest, rulePriority: rule.rulePriority, action: rule.action.type });
    }
    for (let i = 0; i < matching.length; i++) claimed.add(matching[i]!.record.digest);
  }
  return outcomes;
}

function rankableNewestFirst(graph: ImageGraph): ImageNode[] {
  const rankable: ImageNode[] = [];
  // forEach, not for-of: no iterator result per image while the code is still cold (one plan is one call).
  graph.nodes.forEach((node) => {
    if (isRankable(node, graph)) rankable.push(node);
  });
  // Newest first; digest breaks ties so the result does not depend on input order.
  rankable.sort((a, b) => activeSince(b.record) - activeSince(a.record) || (a.record.digest < b.record.digest ? -1 : 1));
  return rankable;
}

/** Whether rules rank the image: not while an index that lists it, or (for a referrer) its subject, is present. */
export function isRankable(node: ImageNode, graph: ImageGraph): boolean {
  for (let i = 0; i < node.parents.length; i++) if (graph.nodes.has(node.parents[i]!)) return false;
  if (node.kind === 'referrer' && node.subject !== undefined && graph.nodes.has(node.subject)) return false;
  return true;
}

/** Whether the rule's selection (tag status, tag lists, storage class) matches the image. */
export function selects(rule: LifecycleRule, node: ImageNode): boolean {
  const s = rule.selection;
  const storage = storageClassOf(node.record);
  if (storage === undefined || (s.storageClass ?? 'standard') !== storage) return false;
  const tags = node.record.tags;
  switch (s.tagStatus) {
    case 'untagged':
      return tags.length === 0;
    case 'any':
      return true;
    case 'tagged':
      if (tags.length === 0) return false;
      if (s.tagPatternList) return tagsMatchPatternList(tags, s.tagPatternList);
      if (s.tagPrefixList) return tagsMatchPrefixList(tags, s.tagPrefixList);
      return false;
    default:
      return false;
  }
}

/** The images (newest first) a rule would act on, before higher-priority shielding. */
function candidates(rule: LifecycleRule, matching: readonly ImageNode[], now: number): ImageNode[] {
  const s = rule.selection;
  switch (s.countType) {
    case 'imageCountMoreThan':
      return matching.slice(s.countNumber);
    case 'sinceImagePushed':
      return matching.filter((node) => now - activeSince(node.record) > s.countNumber * DAY_MS);
    case 'sinceImagePulled':
      // A pull before a restore says nothing about use since: the restore counts as the latest activity.
      return matching.filter((node) => now - Math.max(node.record.lastPulledAt ?? 0, activeSince(node.record)) > s.countNumber * DAY_MS);
    case 'sinceImageTransitioned':
      return matching.filter((node) => node.record.lastArchivedAt !== undefined && now - node.record.lastArchivedAt > s.countNumber * DAY_MS);
    default:
      return [];
  }
}
