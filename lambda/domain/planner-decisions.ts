// Planner, decisions: once the protection tags and the policy in force are known, one decision per image (keep,
// protect, expire, pending) with the reason a person reads, and the totals of the plan.
import { storageClassOf } from './evaluator.js';
import { patternMatcher, PROTECTION_TAG_PATTERN } from './patterns.js';
import type { WantedProtection } from './planner-protection.js';
import { heldBySubject, protectionText } from './protection-reasons.js';
import { DAY_MS } from './time.js';
import type { Decision, DecisionTotals, Digest, ImageDecision, ImageGraph, ImageNode, JanitorConfig, LifecyclePolicy, LifecycleRule, Outcomes, PlanTotals, RuleOutcome } from './types.js';

export interface DecisionContext {
  graph: ImageGraph;
  /** An evaluation of this graph (its `byId` reads this graph's node ids), or any map of outcomes by digest. */
  outcomes: Outcomes;
  policy: LifecyclePolicy;
  wanted: WantedProtection;
  /** Lapsed protection tags that were an image's last tag: the image goes with the tag. */
  removeDeletes: Map<Digest, string>;
  config: JanitorConfig;
  now: number;
}

/** Every image's decision, newest first (digest order among images pushed at the same instant). */
export function decideAll(ctx: DecisionContext): ImageDecision[] {
  const decide = decider(ctx);
  const images: ImageDecision[] = [];
  // forEach, not for-of: no iterator result per image while the code is still cold (one plan is one call).
  ctx.graph.nodes.forEach((node) => {
    images.push(decide(node));
  });
  const byDigest = localeOrder();
  images.sort((a, b) => b.pushedAt - a.pushedAt || byDigest(a.digest, b.digest));
  return images;
}

/**
 * String#localeCompare's order (the collator's compare is the same without its per-call set-up), cheaper for digests:
 * past an equal prefix, two lowercase hex characters order as their code points (digits before letters, a to f), and
 * that first difference decides the collation. Anything else goes to the collator.
 */
function localeOrder(): (a: string, b: string) => number {
  const collator = new Intl.Collator();
  const isLowerHex = (code: number) => (code >= 48 && code <= 57) || (code >= 97 && code <= 102);
  return (a, b) => {
    const length = Math.min(a.length, b.length);
    let i = 0;
    while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
    if (i < length && isLowerHex(a.charCodeAt(i)) && isLowerHex(b.charCodeAt(i))) return a.charCodeAt(i) - b.charCodeAt(i);
    return collator.compare(a, b);
  };
}

function decider(ctx: DecisionContext): (node: ImageNode) => ImageDecision {
  const { graph, outcomes, policy, wanted, removeDeletes, config, now } = ctx;
  const byId = outcomes.byId;
  const rulesByPriority = new Map<number, LifecycleRule>();
  for (const rule of policy.rules) if (!rulesByPriority.has(rule.rulePriority)) rulesByPriority.set(rule.rulePriority, rule);
  const protectedPatterns = [...config.protectedTags, PROTECTION_TAG_PATTERN].map((pattern) => ({ pattern, matches: patternMatcher(pattern) }));
  const untaggedRule = policy.rules.find(
    (r) => r.selection.tagStatus === 'untagged' && (r.selection.storageClass ?? 'standard') === 'standard' && r.action.type === 'expire' && r.selection.countType === 'sinceImagePushed',
  );

  const ciRules = config.ciTags.map((ci) => ({ reason: `among the ${ci.keep} newest ${ci.pattern}`, matches: patternMatcher(ci.pattern) }));
  const ciReasonOf = (tags: readonly string[]) => {
    for (const ci of ciRules) for (let t = 0; t < tags.length; t++) if (ci.matches(tags[t]!)) return ci.reason;
    return undefined;
  };
  // One text per number of days left, not one per untagged image.
  const untaggedReasons = new Map<number, string>();
  const untaggedReason = (rulePriority: number, days: number) => {
    let text = untaggedReasons.get(days);
    if (text === undefined) untaggedReasons.set(days, (text = `untagged; rule ${rulePriority} expires it in ${days} day(s)`));
    return text;
  };
  // The children of one index usually come one after another: the last index asked about is answered without a lookup.
  let lastAsked: Digest | undefined;
  let lastExpires = false;
  const expiresNow = (digest: Digest) => {
    if (digest !== lastAsked) {
      lastAsked = digest;
      lastExpires = outcomes.has(digest);
    }
    return lastExpires;
  };
  const survivesNow = (digest: Digest) => !expiresNow(digest);
  // Images one rule acts on share one reason text, and so do the children of one index (no text built per image).
  const byRule = { expire: new Map<number, string>(), transition: new Map<number, string>() };
  const outcomeReason = (outcome: RuleOutcome) => {
    const cache = byRule[outcome.action];
    let text = cache.get(outcome.rulePriority);
    if (text === undefined) {
      const rule = rulesByPriority.get(outcome.rulePriority);
      const verb = outcome.action === 'transition' ? 'archived' : 'expired';
      cache.set(outcome.rulePriority, (text = `${verb} by rule ${outcome.rulePriority}${rule?.description ? ` (${rule.description})` : ''}`));
    }
    return text;
  };
  // Children of one index, one after another, share the last text of their kind; in another order the text is made again.
  const lastParent: (Digest | undefined)[] = [undefined, undefined, undefined, undefined];
  const lastText = ['', '', '', ''];
  const inIndexReason = (attestation: boolean, kept: boolean, parent: Digest) => {
    const kind = (attestation ? 2 : 0) + (kept ? 1 : 0);
    if (lastParent[kind] !== parent) {
      const role = attestation ? 'attestation in' : 'part of';
      const index = describeImage(graph, parent);
      lastText[kind] = kept ? `${role} kept index ${index}` : `${role} index ${index}, which expires now; goes at the next lifecycle run`;
      lastParent[kind] = parent;
    }
    return lastText[kind]!;
  };
  // One object literal per shape: 100k decisions built with all their fields at once, none added afterwards.
  const decision = (node: ImageNode, verdict: Decision, reason: string, rule?: number, heldBy?: Digest[]): ImageDecision => {
    const { digest, tags, pushedAt } = node.record;
    const kind = node.kind;
    const bytes = node.billableBytes;
    if (rule !== undefined && heldBy !== undefined) return { digest, tags, kind, bytes, pushedAt, decision: verdict, reason, rule, heldBy };
    if (rule !== undefined) return { digest, tags, kind, bytes, pushedAt, decision: verdict, reason, rule };
    if (heldBy !== undefined) return { digest, tags, kind, bytes, pushedAt, decision: verdict, reason, heldBy };
    return { digest, tags, kind, bytes, pushedAt, decision: verdict, reason };
  };

  return (node) => {
    const digest = node.record.digest;
    const tags = node.record.tags;
    const removal = removeDeletes.size > 0 ? removeDeletes.get(digest) : undefined;
    if (removal) return decision(node, 'expire', `protection removed: ${removal}`);
    const slot = byId !== undefined ? byId.slot[node.id]! : 0;
    const outcome = byId !== undefined ? (slot === 0 ? undefined : byId.outcomes[slot - 1]) : outcomes.get(digest);
    if (outcome) return decision(node, 'expire', outcomeReason(outcome), outcome.rulePriority);
    const wantedFor = wanted.get(digest);
    if (wantedFor) {
      const subject = node.kind === 'referrer' && node.subject !== undefined && heldBySubject(wantedFor) ? [node.subject] : undefined;
      return decision(node, 'protect', protectionText(wantedFor), undefined, subject);
    }
    const byTag = tags.length > 0 ? protectedTagReason(tags, protectedPatterns) : undefined;
    if (byTag) return decision(node, 'protect', byTag);

    if (node.parents.length > 0) {
      // Parents are present indexes by definition (ImageNode.parents). heldBy shares the node's own list when none of
      // them expires now: no copy per child of 100k images (nothing changes a node's parents once the graph is built).
      const parents = node.parents;
      const living = parents.some(expiresNow) ? parents.filter(survivesNow) : parents;
      const attestation = node.kind === 'attestation';
      if (living.length > 0) return decision(node, 'keep', inIndexReason(attestation, true, living[0]!), undefined, living);
      return decision(node, 'pending', inIndexReason(attestation, false, parents[0]!), undefined, parents);
    }
    if (node.kind === 'referrer' && node.subject) {
      if (!graph.nodes.has(node.subject)) return decision(node, 'pending', `its subject ${node.subject} is gone; ECR removes referrers within 24 h`);
      if (outcomes.has(node.subject)) return decision(node, 'pending', `follows its subject ${node.subject}, which expires now`, undefined, [node.subject]);
    }
    if (node.problems.length > 0) return decision(node, 'keep', `unsure: ${node.problems.join('; ')}`);

    if (storageClassOf(node.record) !== 'standard') {
      return decision(node, 'keep', `${node.record.imageStatus === 'ARCHIVED' ? 'archived' : 'being restored from archive'}; no rule acts on it now`);
    }
    if (tags.length === 0) {
      if (untaggedRule) {
        const dueAt = node.record.pushedAt + untaggedRule.selection.countNumber * DAY_MS;
        const days = Math.max(0, Math.ceil((dueAt - now) / DAY_MS));
        return decision(node, 'pending', untaggedReason(untaggedRule.rulePriority, days), untaggedRule.rulePriority);
      }
      return decision(node, 'keep', 'untagged, but no rule expires untagged images');
    }
    const ciReason = ciReasonOf(tags);
    if (ciReason) return decision(node, 'keep', ciReason);
    return decision(node, 'keep', `tagged ${tags.slice(0, 3).join(', ')}; no rule selects it`);
  };
}

function protectedTagReason(tags: readonly string[], patterns: readonly { pattern: string; matches: (tag: string) => boolean }[]): string | undefined {
  for (let p = 0; p < patterns.length; p++) {
    for (let t = 0; t < tags.length; t++) if (patterns[p]!.matches(tags[t]!)) return `tag ${tags[t]} matches protected pattern ${patterns[p]!.pattern}`;
  }
  return undefined;
}

/** A short name for an image in a reason: its digest's start and up to two tags. */
export function describeImage(graph: ImageGraph, digest: Digest): string {
  const tags = graph.nodes.get(digest)?.record.tags ?? [];
  return tags.length > 0 ? `${digest.slice(0, 19)} (${tags.slice(0, 2).join(', ')})` : digest.slice(0, 19);
}

export function totalsOf(images: readonly ImageDecision[]): PlanTotals {
  const zero = (): DecisionTotals => ({ images: 0, bytes: 0 });
  const totals: PlanTotals = { images: 0, bytes: 0, keep: zero(), protect: zero(), expire: zero(), pending: zero() };
  for (let i = 0; i < images.length; i++) {
    const image = images[i]!;
    totals.images += 1;
    totals.bytes += image.bytes;
    totals[image.decision].images += 1;
    totals[image.decision].bytes += image.bytes;
  }
  return totals;
}
