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
import { patternMatcher } from './patterns.js';
import { DAY_MS } from './time.js';
import type { Digest, ImageGraph, ImageNode, ImageRecord, LifecyclePolicy, LifecycleRule, Outcomes, RuleOutcome } from './types.js';

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
  const ranked = rankableNewestFirst(graph);
  const order = ranked.map((node) => node.record.digest);
  rankedNodes.set(order, { nodes: graph.nodes, ranked });
  return order;
}

/** `order`: rankOrder of a graph with the same images, parents and subjects as this one (tags may differ). */
export function evaluatePolicy(policy: LifecyclePolicy, graph: ImageGraph, now: number, order?: RankOrder): Outcomes {
  return evaluatePolicyAt(policy, graph, [now], order)[0]!;
}

/**
 * evaluatePolicy at each of `times`, one map per time. Which images a rule selects and shields does not depend on the
 * time, only which of them it acts on: one pass over the images serves every time.
 */
export function evaluatePolicyAt(policy: LifecyclePolicy, graph: ImageGraph, times: readonly number[], order?: RankOrder): Outcomes[] {
  const rankable = order ? nodesInOrder(order, graph) : rankableNewestFirst(graph);
  const outcomes = times.map(() => Object.assign(new Map<Digest, RuleOutcome>(), { byId: { slot: new Uint16Array(graph.nodes.size), outcomes: [] as RuleOutcome[] } }));
  // Per time and rank position: matched a higher-priority rule's tag requirements (shielded), or already acted on.
  // Flags by position, not sets of digests: a plan evaluates over 100k images, and each set was 100k entries.
  const taken = times.map(() => new Uint8Array(rankable.length));
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  // Indexed loops: one plan evaluates a few times over 100k images, before the code is optimised.
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r]!;
    const outcome: RuleOutcome = { rulePriority: rule.rulePriority, action: rule.action.type };
    for (const map of outcomes) map.byId.outcomes.push(outcome);
    const select = selector(rule);
    const matching: number[] = [];
    for (let i = 0; i < rankable.length; i++) if (select(rankable[i]!)) matching.push(i);
    for (let t = 0; t < times.length; t++) {
      const acted = candidates(rule, matching, rankable, times[t]!);
      const flags = taken[t]!;
      for (let i = 0; i < acted.length; i++) {
        const position = acted[i]!;
        if (flags[position] !== 0) continue;
        const node = rankable[position]!;
        outcomes[t]!.set(node.record.digest, outcome);
        outcomes[t]!.byId.slot[node.id] = r + 1;
        flags[position] = 1;
      }
      for (let i = 0; i < matching.length; i++) flags[matching[i]!] = 1;
    }
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

/**
 * Whether rules rank the image: not while an index that lists it, or (for a referrer) its subject, is present. A node's
 * parents are present indexes by definition (ImageNode.parents: the graph links only indexes it holds).
 */
export function isRankable(node: ImageNode, graph: ImageGraph): boolean {
  if (node.parents.length > 0) return false;
  if (node.kind === 'referrer' && node.subject !== undefined && graph.nodes.has(node.subject)) return false;
  return true;
}

/** Whether the rule's selection (tag status, tag lists, storage class) matches the image. */
export function selects(rule: LifecycleRule, node: ImageNode): boolean {
  return selector(rule)(node);
}

const selectors = new WeakMap<LifecycleRule, (node: ImageNode) => boolean>();

/** The rule's selection as a function of an image, its tag patterns resolved once (it runs for every ranked image). */
function selector(rule: LifecycleRule): (node: ImageNode) => boolean {
  let select = selectors.get(rule);
  if (select === undefined) {
    select = compileSelection(rule.selection);
    selectors.set(rule, select);
  }
  return select;
}

function compileSelection(s: LifecycleRule['selection']): (node: ImageNode) => boolean {
  const storageClass: StorageClass = s.storageClass ?? 'standard';
  const inClass = (node: ImageNode) => storageClassOf(node.record) === storageClass;
  switch (s.tagStatus) {
    case 'untagged':
      return (node) => node.record.tags.length === 0 && inClass(node);
    case 'any':
      return inClass;
    case 'tagged': {
      // Several patterns (or prefixes) in one list must all match, each by at least one tag (AND).
      const lists = s.tagPatternList ?? s.tagPrefixList;
      if (!lists) return () => false;
      const tests = s.tagPatternList ? s.tagPatternList.map(patternMatcher) : s.tagPrefixList!.map((prefix) => (tag: string) => tag.startsWith(prefix));
      return (node) => {
        const tags = node.record.tags;
        if (tags.length === 0 || !inClass(node)) return false;
        for (let p = 0; p < tests.length; p++) {
          let matched = false;
          for (let t = 0; t < tags.length && !matched; t++) matched = tests[p]!(tags[t]!);
          if (!matched) return false;
        }
        return true;
      };
    }
    default:
      return () => false;
  }
}

/** The nodes of `order` in the graph, looked up once per order and graph: a plan evaluates several policies over them. */
const rankedNodes = new WeakMap<RankOrder, { nodes: ImageGraph['nodes']; ranked: ImageNode[] }>();

function nodesInOrder(order: RankOrder, graph: ImageGraph): ImageNode[] {
  const known = rankedNodes.get(order);
  // The same node map means the same node objects: tag changes replace a node's record, never the node.
  if (known !== undefined && known.nodes === graph.nodes) return known.ranked;
  const ranked = order.map((digest) => graph.nodes.get(digest)!);
  rankedNodes.set(order, { nodes: graph.nodes, ranked });
  return ranked;
}

/** The rank positions (newest first) of the images a rule would act on, before higher-priority shielding. */
function candidates(rule: LifecycleRule, matching: readonly number[], rankable: readonly ImageNode[], now: number): number[] {
  const s = rule.selection;
  const record = (position: number) => rankable[position]!.record;
  switch (s.countType) {
    case 'imageCountMoreThan':
      return matching.slice(s.countNumber);
    case 'sinceImagePushed':
      return matching.filter((position) => now - activeSince(record(position)) > s.countNumber * DAY_MS);
    case 'sinceImagePulled':
      // A pull before a restore says nothing about use since: the restore counts as the latest activity.
      return matching.filter((position) => now - Math.max(record(position).lastPulledAt ?? 0, activeSince(record(position))) > s.countNumber * DAY_MS);
    case 'sinceImageTransitioned':
      return matching.filter((position) => {
        const archivedAt = record(position).lastArchivedAt;
        return archivedAt !== undefined && now - archivedAt > s.countNumber * DAY_MS;
      });
    default:
      return [];
  }
}
