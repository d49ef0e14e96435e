// Planner, protection: which images need a protection tag (pins, their grace, referrers and subjects, images we are
// unsure of), which tags to add and which lapsed ones to remove. Reasons are typed (protection-reasons.ts).
import { evaluatePolicy, evaluatePolicyAt, isRankable, type RankOrder, storageClassOf } from './evaluator.js';
import { digestOfProtectionTag, protectionTagFor } from './patterns.js';
import { protectionRank, protectionText, type ProtectionReason } from './protection-reasons.js';
import { DAY_MS, HOLD_HORIZON_MS } from './time.js';
import type { Digest, ImageGraph, ImageNode, ImageRecord, JanitorConfig, LifecyclePolicy, RepositoryState, RuleOutcome, TagChange } from './types.js';

/** What the pin sources said: the pinned digests of this repository, or why nobody can tell. */
export type PinKnowledge = { known: true; digests: Map<Digest, string[]> } | { known: false; reason: string };

/** Digest -> why it must carry a protection tag. */
export type WantedProtection = Map<Digest, ProtectionReason>;

export function withPullPins(digests: Map<Digest, string[]>, pulled: Map<Digest, string>): Map<Digest, string[]> {
  const merged = new Map<Digest, string[]>();
  for (const [digest, sources] of digests) merged.set(digest, [...sources]);
  for (const [digest, why] of pulled) {
    const sources = merged.get(digest);
    if (sources) sources.push(why);
    else merged.set(digest, [why]);
  }
  return merged;
}

/** A pinned image in archive is kept and protected, but nothing can pull it: a person must restore it. */
export function archivedPinWarnings(graph: ImageGraph, pins: PinKnowledge): string[] {
  if (!pins.known) return [];
  const warnings: string[] = [];
  for (const [digest, sources] of pins.digests) {
    const status = graph.nodes.get(digest)?.record.imageStatus;
    if (status === 'ARCHIVED' || status === 'ACTIVATING') {
      warnings.push(
        `pinned image ${digest} (${sources.join(', ')}) is ${status === 'ARCHIVED' ? 'archived: archived images cannot be pulled; restore it (UpdateImageStorageClass to STANDARD)' : 'being restored from archive: it cannot be pulled until the restore completes'}`,
      );
    }
  }
  return warnings;
}

/**
 * The config's say on images of a media type we do not understand. "keep": the graph's doubt stands (the image gets a
 * protection tag whenever the policy would expire it) and the report names the setting; "expire": no doubt, the policy
 * treats it like any image. The graph's only problem on an image of unknown kind is its media type.
 */
export function withUnknownArtifactsSetting(graph: ImageGraph, config: JanitorConfig): ImageGraph {
  const ofUnknownKind = (digest: Digest) => graph.nodes.get(digest)?.kind === 'unknown';
  const keep = config.unknownArtifacts !== 'expire';
  const reword = (message: string) =>
    `${message.replace(/: kept$/, '')}: kept (unknownArtifacts "keep"; set it to "expire" to let the policy expire such images)`;
  for (const node of graph.nodes.values()) {
    if (node.kind !== 'unknown') continue;
    node.problems = keep ? node.problems.map(reword) : [];
  }
  const problems = keep
    ? graph.problems.map((p) => (ofUnknownKind(p.digest) ? { ...p, message: reword(p.message) } : p))
    : graph.problems.filter((p) => !ofUnknownKind(p.digest));
  return { ...graph, problems };
}

/** The images carrying their own protection tag (keep-sha256-<hex> of their own digest), read once per graph. */
export function ownProtectionTagged(graph: ImageGraph): Set<Digest> {
  const tagged = new Set<Digest>();
  graph.nodes.forEach((node) => {
    if (hasOwnProtectionTag(node)) tagged.add(node.record.digest);
  });
  return tagged;
}

function hasOwnProtectionTag(node: ImageNode): boolean {
  const digest = node.record.digest;
  const tags = node.record.tags;
  if (tags.length === 0) return false;
  const own = protectionTagFor(digest);
  return tags.includes(own) && digestOfProtectionTag(own) === digest;
}

/**
 * Pins and when they were last seen. Without a run state (lost, never saved, unreadable) nothing proves a protection
 * tag's grace has passed: every image carrying its own protection tag counts as pinned now, and its grace restarts.
 */
export function nextPinsLastSeen(
  state: RepositoryState | null,
  pins: PinKnowledge,
  config: JanitorConfig,
  graph: ImageGraph,
  ownTagged: ReadonlySet<Digest>,
  now: number,
): { lastSeen: Record<Digest, number>; restarted: Set<Digest> } {
  const previous = state?.pinsLastSeen ?? {};
  const restarted = new Set<Digest>();
  // A state that exists but never saw this tag (its save failed, or an overlapping run added the tag after this run
  // read the state) proves nothing either: the tag counts as pinned now. Not for a referrer, state or no state: ECR
  // keeps it while its subject exists, and its tag is usually ours for "referrer of kept image" (a pinned one's subject
  // has its own tag, which restarts). Counting it would record it as a pin, and the next run would then also pin its
  // subject: a plan that changes when made twice.
  for (const digest of ownTagged) {
    if (previous[digest] === undefined && graph.nodes.get(digest)!.kind !== 'referrer') restarted.add(digest);
  }
  if (!pins.known) {
    // Nobody can tell: every earlier pin stays in force.
    const lastSeen = { ...previous };
    for (const digest of restarted) lastSeen[digest] = now;
    return { lastSeen, restarted };
  }
  const graceMs = config.pinGraceDays * DAY_MS;
  const next: Record<Digest, number> = {};
  // A lapsed pin stays recorded while its protection tag is on the image: the state keeps proving the grace has passed
  // until the tag is gone (a removal that failed or was capped is retried, not restarted).
  for (const [digest, seen] of Object.entries(previous)) if (now - seen <= graceMs || ownTagged.has(digest)) next[digest] = seen;
  for (const digest of restarted) next[digest] = now;
  for (const digest of pins.digests.keys()) next[digest] = now;
  return { lastSeen: next, restarted };
}

export interface PlannedRemoval extends TagChange {
  /** The protection tag is the image's last tag: removing it deletes the image. */
  deletesImage: boolean;
}

export interface ProtectionPlan {
  wanted: WantedProtection;
  add: TagChange[];
  remove: PlannedRemoval[];
  /** Set when the additions were capped: the policy must wait until every protection tag is in place. */
  incomplete?: string;
  /** The evaluation made with the pins' tags alone, when one was needed (referrers or unsure images to judge). */
  first?: FirstEvaluation;
}

export interface FirstEvaluation {
  policy: LifecyclePolicy;
  /** The tags it was made with: digest -> tags, for the images whose tags it changed. */
  tags: Map<Digest, string[]>;
  outcomes: Map<Digest, RuleOutcome>;
  /** The same evaluation at now + HOLD_HORIZON_MS, for the hold check (one pass over the images serves both). */
  soon: Map<Digest, RuleOutcome>;
}

/**
 * The first evaluation's outcomes stand for `policy` over the final tags when the policy is the same and no image the
 * rules rank carries other tags: lifecycle rules read the tags of ranked images only (evaluator.ts), so tags added to
 * a referrer whose subject is present, or to a child of a present index, change nothing.
 */
export function reusableOutcomes(
  first: FirstEvaluation | undefined,
  policy: LifecyclePolicy,
  finalTags: Map<Digest, string[]>,
  graph: ImageGraph,
): Map<Digest, RuleOutcome> | undefined {
  if (!first || first.policy !== policy) return undefined;
  const tagsIn = (changed: Map<Digest, string[]>, digest: Digest) => changed.get(digest) ?? graph.nodes.get(digest)?.record.tags ?? [];
  for (const changed of [first.tags, finalTags]) {
    for (const digest of changed.keys()) {
      const node = graph.nodes.get(digest);
      if (!node || !isRankable(node, graph)) continue;
      const before = tagsIn(first.tags, digest);
      const after = tagsIn(finalTags, digest);
      if (before.length !== after.length || before.some((tag) => !after.includes(tag))) return undefined;
    }
  }
  return first.outcomes;
}

/** `order`: the graph's rankOrder (tags do not change it). */
export function planProtection(
  graph: ImageGraph,
  order: RankOrder,
  ownTagged: ReadonlySet<Digest>,
  config: JanitorConfig,
  pins: PinKnowledge,
  lastSeen: Record<Digest, number>,
  restarted: ReadonlySet<Digest>,
  policy: LifecyclePolicy,
  now: number,
): ProtectionPlan {
  const wanted: WantedProtection = new Map();
  const graceMs = config.pinGraceDays * DAY_MS;
  // Only images a pin source, the state or a tag speaks for can be wanted here: no need to look at every image.
  const candidates = new Set<Digest>(restarted);
  if (pins.known) for (const digest of pins.digests.keys()) candidates.add(digest);
  for (const digest of Object.keys(lastSeen)) candidates.add(digest);
  if (!pins.known) for (const digest of ownTagged) candidates.add(digest);
  // Graph order, as before: the order of `wanted` is the order tags are added in.
  const ordered = inGraphOrder(graph, candidates);
  for (let i = 0; i < ordered.length; i++) {
    const digest = ordered[i]!;
    if (!graph.nodes.has(digest)) continue;
    const pinSources = pins.known ? pins.digests.get(digest) : undefined;
    const seen = lastSeen[digest];
    if (pinSources) {
      wanted.set(digest, { kind: 'pinned', sources: pinSources });
    } else if (restarted.has(digest)) {
      wanted.set(digest, { kind: 'pin-restarted', graceDays: config.pinGraceDays });
    } else if (seen !== undefined && (!pins.known || now - seen <= graceMs)) {
      wanted.set(
        digest,
        pins.known ? { kind: 'pin-in-grace', daysSinceSeen: Math.floor((now - seen) / DAY_MS), graceDays: config.pinGraceDays } : { kind: 'pin-while-discovery-failed' },
      );
    } else if (!pins.known && ownTagged.has(digest)) {
      wanted.set(digest, { kind: 'protection-while-discovery-failed' });
    }
  }

  // Only pins reach through to subjects: a referrer kept because its subject survives must not keep the subject alive.
  // Nor does a tag the state does not know: a pinned referrer's subject got its own tag in the run that pinned it.
  wantSubjectsOfReferrers(graph, wanted, (digest) => restarted.has(digest) && !(pins.known && pins.digests.has(digest)));

  // Which images survive, given the pins alone, decides which referrers and unsure images also need a tag. Only
  // referrers with a subject and images with problems can be added here: without any, the evaluation is not needed.
  const open: ImageNode[] = [];
  graph.nodes.forEach((node) => {
    if (((node.kind === 'referrer' && node.subject) || node.problems.length > 0) && !wanted.has(node.record.digest)) open.push(node);
  });
  let first: FirstEvaluation | undefined;
  if (open.length > 0) {
    const firstTags = applyTagChanges(graph, additionsFor(graph, ownTagged, wanted), tentativeRemovals(graph, ownTagged, wanted));
    withTagsApplied(graph, firstTags, (firstGraph) => {
      const [firstOutcomes, soon] = evaluatePolicyAt(policy, firstGraph, [now, now + HOLD_HORIZON_MS], order) as [Map<Digest, RuleOutcome>, Map<Digest, RuleOutcome>];
      first = { policy, tags: firstTags, outcomes: firstOutcomes, soon };
      for (const node of open) {
        const digest = node.record.digest;
        if (node.kind === 'referrer' && node.subject && survives(node.subject, firstGraph, firstOutcomes, wanted, new Set())) {
          wanted.set(digest, { kind: 'referrer-of-kept', subject: node.subject });
        } else if (node.problems.length > 0 && firstOutcomes.has(digest)) {
          wanted.set(digest, { kind: 'unsure', problems: node.problems });
        }
      }
    });
  }

  // An archived (or restoring) image cannot be re-tagged (its manifest cannot be read), and needs no tag while no rule
  // acts on the archive class: waiting for a tag that cannot go in would hold the policy until a person restores it.
  const actsOnArchive = policy.rules.some((rule) => rule.selection.storageClass === 'archive');
  let add = additionsFor(graph, ownTagged, wanted).filter((a) => actsOnArchive || storageClassOf(graph.nodes.get(a.digest)!.record) === 'standard');
  let incomplete: string | undefined;
  if (add.length > config.maxTagAdditionsPerRun) {
    incomplete =
      `${add.length - config.maxTagAdditionsPerRun} protection tag(s) beyond maxTagAdditionsPerRun ` +
      `(${config.maxTagAdditionsPerRun}) wait for the next run; the policy waits with them`;
    add = add.slice(0, config.maxTagAdditionsPerRun);
  }

  // A lapsed protection tag that is the image's last tag goes only when the image would otherwise expire.
  const removals = tentativeRemovals(graph, ownTagged, wanted);
  let outcomesWithout: Map<Digest, RuleOutcome> | undefined;
  const remove: PlannedRemoval[] = [];
  for (const removal of removals) {
    const node = graph.nodes.get(removal.digest)!;
    const deletesImage = node.record.tags.length === 1;
    if (deletesImage) {
      outcomesWithout ??= withTagsApplied(graph, applyTagChanges(graph, add, removals), (without) => evaluatePolicy(policy, without, now, order));
      if (!outcomesWithout.has(removal.digest)) continue;
    }
    remove.push({
      ...removal,
      deletesImage,
      reason: deletesImage ? `${removal.reason}; it would expire anyway, so the image goes with its last tag` : removal.reason,
    });
  }
  return {
    wanted,
    add,
    remove: remove.slice(0, config.maxTagRemovalsPerRun),
    ...(incomplete !== undefined ? { incomplete } : {}),
    ...(first ? { first } : {}),
  };
}

/** The digests present in the graph, in the graph's (the inventory's) order. */
function inGraphOrder(graph: ImageGraph, digests: ReadonlySet<Digest>): Digest[] {
  const ordered: Digest[] = [];
  if (digests.size === 0) return ordered;
  graph.nodes.forEach((_node, digest) => {
    if (digests.has(digest)) ordered.push(digest);
  });
  return ordered;
}

// ECR deletes a referrer within a day of its subject, whatever its tags: protecting a referrer means protecting its subject.
function wantSubjectsOfReferrers(graph: ImageGraph, wanted: WantedProtection, onlyTagged: (digest: Digest) => boolean): void {
  const pending = [...wanted.keys()].filter((digest) => !onlyTagged(digest));
  while (pending.length > 0) {
    const node = graph.nodes.get(pending.pop()!);
    const subject = node?.kind === 'referrer' ? node.subject : undefined;
    if (subject === undefined || wanted.has(subject) || !graph.nodes.has(subject)) continue;
    wanted.set(subject, { kind: 'subject-of-protected-referrer', referrer: node!.record.digest });
    pending.push(subject);
  }
}

function additionsFor(graph: ImageGraph, ownTagged: ReadonlySet<Digest>, wanted: WantedProtection): TagChange[] {
  const add: TagChange[] = [];
  // Pins first: when a cap cuts the list, what deployments run is protected before referrers and unsure images.
  const ordered = [...wanted].sort(([, a], [, b]) => protectionRank(a) - protectionRank(b));
  for (const [digest, reason] of ordered) {
    if (graph.nodes.has(digest) && !ownTagged.has(digest)) add.push({ digest, tag: protectionTagFor(digest), reason: protectionText(reason) });
  }
  return add;
}

function tentativeRemovals(graph: ImageGraph, ownTagged: ReadonlySet<Digest>, wanted: WantedProtection): PlannedRemoval[] {
  const remove: PlannedRemoval[] = [];
  for (const digest of ownTagged) {
    if (!wanted.has(digest) && graph.nodes.has(digest)) {
      remove.push({ digest, tag: protectionTagFor(digest), reason: 'no pin, referrer or doubt needs it any more', deletesImage: false });
    }
  }
  return remove;
}

function survives(
  digest: Digest,
  graph: ImageGraph,
  outcomes: Map<Digest, RuleOutcome>,
  wanted: WantedProtection,
  visiting: Set<Digest>,
): boolean {
  const node = graph.nodes.get(digest);
  if (!node || outcomes.has(digest) || visiting.has(digest)) return false;
  if (wanted.has(digest) || node.record.tags.length > 0) return true;
  visiting.add(digest);
  const viaParent = node.parents.some((parent) => survives(parent, graph, outcomes, wanted, visiting));
  const viaSubject = node.kind === 'referrer' && !!node.subject && survives(node.subject, graph, outcomes, wanted, visiting);
  visiting.delete(digest);
  return viaParent || viaSubject;
}

export function applyTagChanges(graph: ImageGraph, add: readonly TagChange[], remove: readonly TagChange[]): Map<Digest, string[]> {
  const changed = new Map<Digest, string[]>();
  const tagsOf = (digest: Digest) => changed.get(digest) ?? [...(graph.nodes.get(digest)?.record.tags ?? [])];
  for (const { digest, tag } of add) {
    const tags = tagsOf(digest);
    if (!tags.includes(tag)) tags.push(tag);
    changed.set(digest, tags);
  }
  for (const { digest, tag } of remove) changed.set(digest, tagsOf(digest).filter((t) => t !== tag));
  return changed;
}

/**
 * Gives the changed images their new tags (a new record each: the inventory's records are never touched). The planner
 * owns the graph's nodes, so no copy of a 100k-image graph is needed: `use` sees the graph with the new tags, and the
 * old records are put back when it returns.
 */
export function withTagsApplied<T>(graph: ImageGraph, changed: Map<Digest, string[]>, use: (graph: ImageGraph) => T): T {
  const saved = applyTags(graph, changed);
  try {
    return use(graph);
  } finally {
    for (const [node, record] of saved) node.record = record;
  }
}

/** Gives the changed images their new tags for good (the planner's final tags); returns the records replaced. */
export function applyTags(graph: ImageGraph, changed: Map<Digest, string[]>): Map<ImageNode, ImageRecord> {
  const saved = new Map<ImageNode, ImageRecord>();
  for (const [digest, tags] of changed) {
    const node = graph.nodes.get(digest);
    if (!node) continue;
    if (!saved.has(node)) saved.set(node, node.record);
    node.record = { ...node.record, tags };
  }
  return saved;
}
