// The planner: one repository's inventory + config + pins + state + now -> a decision for every image, the policy to
// install and the protection tags to add or remove. Pure: the app layer reads the world and applies the plan.
import { evaluatePolicy } from './evaluator.js';
import { buildImageGraph } from './graph.js';
import { digestOfProtectionTag, PROTECTION_TAG_PATTERN, protectionTagFor, tagMatchesPattern } from './patterns.js';
import {
  holdPolicy,
  isHoldPolicy,
  isJanitorRule,
  lintPolicy,
  mergePolicy,
  parsePolicyText,
  policyToText,
  renderPolicy,
  samePolicy,
} from './policy.js';
import type {
  Decision,
  DecisionTotals,
  Digest,
  ImageDecision,
  ImageGraph,
  ImageNode,
  JanitorConfig,
  LifecyclePolicy,
  PlanTotals,
  PolicyPlan,
  RepositoryInventory,
  RepositoryPlan,
  RepositoryState,
  RuleOutcome,
  TagChange,
} from './types.js';

const DAY_MS = 86_400_000;
/** ECR expires an eligible image within a day; the next run is a day away: look that far ahead, with slack. */
const HOLD_HORIZON_MS = 26 * 3_600_000;

/** What the pin sources said: the pinned digests of this repository, or why nobody can tell. */
export type PinKnowledge = { known: true; digests: Map<Digest, string[]> } | { known: false; reason: string };

export interface PlanInput {
  inventory: RepositoryInventory;
  config: JanitorConfig;
  pins: PinKnowledge;
  state: RepositoryState | null;
  currentPolicyText: string | null;
  now: number;
}

interface PolicyChoice {
  desired: LifecyclePolicy | null;
  desiredText: string;
  current: LifecyclePolicy | null;
  action: PolicyPlan['action'];
  reason: string;
  warnings: string[];
}

const EMPTY_POLICY: LifecyclePolicy = { rules: [] };

export function planRepository(input: PlanInput): RepositoryPlan {
  const { inventory, config, pins, now } = input;
  const graph = buildImageGraph(inventory);
  const warnings: string[] = graph.problems.map((p) => `${p.digest}: ${p.message}`);
  const choice = choosePolicy(config, input.currentPolicyText, input.state?.heldPolicyText);
  warnings.push(...choice.warnings);

  const blocked = blockedReason(pins, graph);
  const lastSeen = nextPinsLastSeen(input.state, pins, config, now);
  const protection = planProtection(graph, config, pins, lastSeen, choice.desired ?? choice.current ?? EMPTY_POLICY, now);
  if (blocked) protection.remove = []; // fail closed: protection is only ever added while we are unsure

  // The tags every image will carry once the plan is applied; every decision is made against them.
  const finalTags = applyTagChanges(graph, protection.add, protection.remove);
  const finalGraph = withTags(graph, finalTags);

  let policy = choice;
  let effective = choice.desired ?? choice.current ?? EMPTY_POLICY;
  let outcomes = evaluatePolicy(effective, finalGraph, now);
  if (policy.action === 'install') {
    const refusal =
      blocked ?? protection.incomplete ?? unsafePolicyReason(outcomes, protection.wanted, graph, config);
    if (refusal) {
      policy = { ...policy, action: 'refuse', reason: refusal };
      effective = choice.current ?? EMPTY_POLICY;
      outcomes = evaluatePolicy(effective, finalGraph, now);
    }
  }
  const hold = holdReason(effective, finalGraph, pins, protection.wanted, now);
  if (hold && policy.action === 'skip') {
    warnings.push(`existingPolicy is "skip", so the repository's own policy stays although ${hold.replace(/: policy on hold$/, '')}`);
  } else if (hold) {
    const held = holdPolicy();
    policy = { ...policy, desired: held, desiredText: policyToText(held), action: 'hold', reason: hold };
    effective = held;
    outcomes = evaluatePolicy(effective, finalGraph, now);
  }
  // Carried while a hold is in place; dropped once a normal policy is back.
  const heldPolicyText =
    policy.action === 'hold'
      ? (choice.current && isHoldPolicy(choice.current) ? input.state?.heldPolicyText : input.currentPolicyText) ?? undefined
      : choice.current && isHoldPolicy(choice.current)
        ? input.state?.heldPolicyText
        : undefined;

  const removeDeletes = new Map(protection.remove.filter((r) => r.deletesImage).map((r) => [r.digest, r.reason]));
  const images: ImageDecision[] = [];
  for (const node of finalGraph.nodes.values()) {
    const { decision, reason, rule } = decide(node, finalGraph, outcomes, effective, protection.wanted, removeDeletes, config, now);
    images.push({
      digest: node.record.digest,
      tags: node.record.tags,
      kind: node.kind,
      bytes: node.billableBytes,
      pushedAt: node.record.pushedAt,
      decision,
      reason,
      ...(rule !== undefined ? { rule } : {}),
    });
  }
  images.sort((a, b) => b.pushedAt - a.pushedAt || a.digest.localeCompare(b.digest));

  return {
    repository: inventory.repository,
    images,
    policy: {
      desiredText: policy.desiredText,
      currentText: input.currentPolicyText,
      action: policy.action,
      reason: policy.reason,
      warnings: policy.warnings,
    },
    protectTags: {
      add: protection.add,
      remove: protection.remove.map(({ digest, tag, reason }) => ({ digest, tag, reason })),
    },
    nextState: {
      repository: inventory.repository,
      pinsLastSeen: lastSeen,
      lastInventory: { at: now, bytes: Object.fromEntries([...graph.nodes.values()].map((n) => [n.record.digest, n.billableBytes])) },
      indexManifests: Object.fromEntries(Object.entries(inventory.manifests).filter(([digest]) => graph.nodes.has(digest))),
      ...(heldPolicyText !== undefined ? { heldPolicyText } : {}),
    },
    totals: totalsOf(images),
    ...(blocked ? { blocked } : {}),
    warnings,
  };
}

// ---------------------------------------------------------------- policy choice

function choosePolicy(config: JanitorConfig, currentText: string | null, heldText: string | undefined): PolicyChoice {
  const ours = renderPolicy(config);
  let current: LifecyclePolicy | null = null;
  let unreadable: string | undefined;
  if (currentText !== null) {
    try {
      current = parsePolicyText(currentText);
    } catch (error) {
      unreadable = (error as Error).message;
    }
  }
  const warnings: string[] = [];
  // On hold, the rules to respect are those of the policy the hold replaced.
  const onHold = current !== null && isHoldPolicy(current);
  const base = onHold ? readHeldPolicy(heldText, warnings) : current;
  const foreignRules = base?.rules.filter((rule) => !isJanitorRule(rule)) ?? [];
  let desired: LifecyclePolicy | null = ours;
  let installReason =
    currentText === null
      ? 'the repository has no lifecycle policy yet'
      : onHold
        ? 'resuming after a hold: protection is complete again'
        : 'the installed policy differs from the config (repair)';

  if (unreadable !== undefined) {
    if (config.existingPolicy !== 'replace') {
      return {
        desired: null,
        desiredText: currentText ?? '',
        current: null,
        action: 'skip',
        reason: `the installed lifecycle policy is not one we can read (${unreadable}); fix it or set existingPolicy to "replace"`,
        warnings,
      };
    }
    installReason = `the installed policy is unreadable (${unreadable}); existingPolicy is "replace"`;
  } else if (foreignRules.length > 0 && config.existingPolicy === 'skip' && onHold) {
    desired = base;
    installReason = "resuming after a hold: the repository's own policy comes back";
  } else if (foreignRules.length > 0 && config.existingPolicy === 'skip') {
    return {
      desired: null,
      desiredText: currentText ?? '',
      current,
      action: 'skip',
      reason: 'the repository has its own lifecycle policy and existingPolicy is "skip"',
      warnings,
    };
  } else if (foreignRules.length > 0 && config.existingPolicy === 'merge' && base) {
    const merged = mergePolicy(ours, base);
    desired = merged.policy;
    warnings.push(...merged.warnings);
    installReason = onHold
      ? `resuming after a hold: merging our rules with ${foreignRules.length} rule(s) of the policy the hold replaced`
      : `merging our rules with ${foreignRules.length} rule(s) of the installed policy`;
  } else if (foreignRules.length > 0) {
    installReason = `replacing ${foreignRules.length} foreign rule(s): existingPolicy is "replace"`;
  }

  if (desired === null) throw new Error('unreachable: a policy to install was chosen without rules');
  const desiredText = policyToText(desired);
  const lint = lintPolicy(desired);
  warnings.push(...lint.warnings.map((w) => `policy ${w.field}: ${w.message}`));
  if (lint.errors.length > 0) {
    return {
      desired: null,
      desiredText,
      current,
      action: 'refuse',
      reason: `the policy we would install is not valid ECR: ${lint.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      warnings,
    };
  }
  if (currentText !== null && unreadable === undefined && samePolicy(currentText, desiredText)) {
    return { desired, desiredText, current, action: 'unchanged', reason: 'the installed policy matches the config', warnings };
  }
  return { desired, desiredText, current, action: 'install', reason: installReason, warnings };
}

function readHeldPolicy(heldText: string | undefined, warnings: string[]): LifecyclePolicy | null {
  if (heldText === undefined) return null;
  try {
    return parsePolicyText(heldText);
  } catch (error) {
    warnings.push(`the policy saved when the repository was put on hold is unreadable (${(error as Error).message}); only our rules come back`);
    return null;
  }
}

/**
 * What the policy in force after this run would expire before the next run that we want kept. With pins unknown,
 * anything it expires may be a new pin.
 */
function holdReason(effective: LifecyclePolicy, graph: ImageGraph, pins: PinKnowledge, wanted: Map<Digest, string>, now: number): string | undefined {
  if (effective.rules.length === 0 || isHoldPolicy(effective)) return undefined;
  const soon = [...evaluatePolicy(effective, graph, now + HOLD_HORIZON_MS).keys()];
  if (!pins.known) {
    return soon.length > 0
      ? `pin discovery failed and the installed policy would expire ${soon.length} image(s) by the next run, any of which may be a new pin: policy on hold`
      : undefined;
  }
  const atRisk = soon.filter((digest) => wanted.has(digest));
  if (atRisk.length === 0) return undefined;
  return `the installed policy would expire ${atRisk.length} image(s) that need protection this run could not complete (${atRisk.slice(0, 3).join(', ')}): policy on hold`;
}

function blockedReason(pins: PinKnowledge, graph: ImageGraph): string | undefined {
  if (!pins.known) return `pin discovery failed (${pins.reason}): no policy change and no protection removed this run`;
  if (graph.childrenUncertain) {
    const which = graph.problems.map((p) => p.digest).slice(0, 3).join(', ');
    return `an image index could not be read (${which}): its children are unknown, so nothing destructive this run`;
  }
  return undefined;
}

// A policy that would expire a protected image, or a large share of the repository at once, is not installed.
function unsafePolicyReason(
  outcomes: Map<Digest, RuleOutcome>,
  wanted: Map<Digest, string>,
  graph: ImageGraph,
  config: JanitorConfig,
): string | undefined {
  const hit = [...outcomes.keys()].filter((digest) => wanted.has(digest));
  if (hit.length > 0) {
    return `the policy would expire ${hit.length} protected image(s) (${hit.slice(0, 3).join(', ')}); not installed`;
  }
  const total = graph.nodes.size;
  if (total > 0 && outcomes.size / total > config.maxExpireShare) {
    const pct = ((outcomes.size / total) * 100).toFixed(1);
    return (
      `the policy would expire ${outcomes.size} of ${total} images (${pct}%) at once, more than maxExpireShare ` +
      `${config.maxExpireShare}; review \`plan\` and raise maxExpireShare if this first clean-up is expected`
    );
  }
  return undefined;
}

// ---------------------------------------------------------------- protection

function nextPinsLastSeen(
  state: RepositoryState | null,
  pins: PinKnowledge,
  config: JanitorConfig,
  now: number,
): Record<Digest, number> {
  const previous = state?.pinsLastSeen ?? {};
  if (!pins.known) return { ...previous }; // nobody can tell: every earlier pin stays in force
  const graceMs = config.pinGraceDays * DAY_MS;
  const next: Record<Digest, number> = {};
  for (const [digest, seen] of Object.entries(previous)) if (now - seen <= graceMs) next[digest] = seen;
  for (const digest of pins.digests.keys()) next[digest] = now;
  return next;
}

interface PlannedRemoval extends TagChange {
  /** The protection tag is the image's last tag: removing it deletes the image. */
  deletesImage: boolean;
}

interface ProtectionPlan {
  /** Digest -> why it must be protected. */
  wanted: Map<Digest, string>;
  add: TagChange[];
  remove: PlannedRemoval[];
  /** Set when the additions were capped: the policy must wait until every protection tag is in place. */
  incomplete?: string;
}

function planProtection(
  graph: ImageGraph,
  config: JanitorConfig,
  pins: PinKnowledge,
  lastSeen: Record<Digest, number>,
  policy: LifecyclePolicy,
  now: number,
): ProtectionPlan {
  const wanted = new Map<Digest, string>();
  for (const node of graph.nodes.values()) {
    const digest = node.record.digest;
    if (pins.known && pins.digests.has(digest)) {
      wanted.set(digest, `pinned by ${pins.digests.get(digest)!.join(', ')}`);
    } else if (lastSeen[digest] !== undefined) {
      const days = Math.floor((now - lastSeen[digest]!) / DAY_MS);
      wanted.set(
        digest,
        pins.known
          ? `pin last seen ${days} day(s) ago (grace ${config.pinGraceDays} days)`
          : 'pinned at an earlier run; pin discovery failed, so the pin stays',
      );
    } else if (!pins.known && hasOwnProtectionTag(node)) {
      wanted.set(digest, 'protected at an earlier run; pin discovery failed, so the protection stays');
    }
  }

  // Only pins reach through to subjects: a referrer kept because its subject survives must not keep the subject alive.
  wantSubjectsOfReferrers(graph, wanted);

  // Which images survive, given the pins alone, decides which referrers and unsure images also need a tag.
  const firstTags = applyTagChanges(graph, additionsFor(graph, wanted), tentativeRemovals(graph, wanted));
  const firstGraph = withTags(graph, firstTags);
  const firstOutcomes = evaluatePolicy(policy, firstGraph, now);
  for (const node of graph.nodes.values()) {
    const digest = node.record.digest;
    if (wanted.has(digest)) continue;
    if (node.kind === 'referrer' && node.subject && survives(node.subject, firstGraph, firstOutcomes, wanted, new Set())) {
      wanted.set(digest, `OCI referrer of kept image ${node.subject}`);
    } else if (node.problems.length > 0 && firstOutcomes.has(digest)) {
      wanted.set(digest, `unsure what this image is (${node.problems.join('; ')}): kept until a person decides`);
    }
  }

  let add = additionsFor(graph, wanted);
  let incomplete: string | undefined;
  if (add.length > config.maxTagAdditionsPerRun) {
    incomplete =
      `${add.length - config.maxTagAdditionsPerRun} protection tag(s) beyond maxTagAdditionsPerRun ` +
      `(${config.maxTagAdditionsPerRun}) wait for the next run; the policy waits with them`;
    add = add.slice(0, config.maxTagAdditionsPerRun);
  }

  // A lapsed protection tag that is the image's last tag goes only when the image would otherwise expire.
  const removals = tentativeRemovals(graph, wanted);
  const withoutTags = withTags(graph, applyTagChanges(graph, add, removals));
  const outcomesWithout = evaluatePolicy(policy, withoutTags, now);
  const remove: PlannedRemoval[] = [];
  for (const removal of removals) {
    const node = graph.nodes.get(removal.digest)!;
    const deletesImage = node.record.tags.length === 1;
    if (deletesImage && !outcomesWithout.has(removal.digest)) continue;
    remove.push({
      ...removal,
      deletesImage,
      reason: deletesImage ? `${removal.reason}; it would expire anyway, so the image goes with its last tag` : removal.reason,
    });
  }
  return { wanted, add, remove: remove.slice(0, config.maxTagRemovalsPerRun), incomplete };
}

// ECR deletes a referrer within a day of its subject, whatever its tags: protecting a referrer means protecting its subject.
function wantSubjectsOfReferrers(graph: ImageGraph, wanted: Map<Digest, string>): void {
  const pending = [...wanted.keys()];
  while (pending.length > 0) {
    const node = graph.nodes.get(pending.pop()!);
    const subject = node?.kind === 'referrer' ? node.subject : undefined;
    if (subject === undefined || wanted.has(subject) || !graph.nodes.has(subject)) continue;
    wanted.set(subject, `subject of protected referrer ${node!.record.digest}`);
    pending.push(subject);
  }
}

function hasOwnProtectionTag(node: ImageNode): boolean {
  return node.record.tags.some((tag) => digestOfProtectionTag(tag) === node.record.digest);
}

function additionsFor(graph: ImageGraph, wanted: Map<Digest, string>): TagChange[] {
  const add: TagChange[] = [];
  // Pins first: when a cap cuts the list, what deployments run is protected before referrers and unsure images.
  const ordered = [...wanted].sort(([, a], [, b]) => rankReason(a) - rankReason(b));
  for (const [digest, reason] of ordered) {
    const node = graph.nodes.get(digest);
    if (node && !hasOwnProtectionTag(node)) add.push({ digest, tag: protectionTagFor(digest), reason });
  }
  return add;
}

function rankReason(reason: string): number {
  return reason.startsWith('pin') || reason.startsWith('subject') ? 0 : reason.startsWith('OCI') ? 1 : 2;
}

function tentativeRemovals(graph: ImageGraph, wanted: Map<Digest, string>): PlannedRemoval[] {
  const remove: PlannedRemoval[] = [];
  for (const node of graph.nodes.values()) {
    const digest = node.record.digest;
    if (!wanted.has(digest) && hasOwnProtectionTag(node)) {
      remove.push({ digest, tag: protectionTagFor(digest), reason: 'no pin, referrer or doubt needs it any more', deletesImage: false });
    }
  }
  return remove;
}

function survives(
  digest: Digest,
  graph: ImageGraph,
  outcomes: Map<Digest, RuleOutcome>,
  wanted: Map<Digest, string>,
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

function applyTagChanges(graph: ImageGraph, add: readonly TagChange[], remove: readonly TagChange[]): Map<Digest, string[]> {
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

function withTags(graph: ImageGraph, changed: Map<Digest, string[]>): ImageGraph {
  if (changed.size === 0) return graph;
  const nodes = new Map(graph.nodes);
  for (const [digest, tags] of changed) {
    const node = nodes.get(digest);
    if (node) nodes.set(digest, { ...node, record: { ...node.record, tags } });
  }
  return { ...graph, nodes };
}

// ---------------------------------------------------------------- decisions

function decide(
  node: ImageNode,
  graph: ImageGraph,
  outcomes: Map<Digest, RuleOutcome>,
  policy: LifecyclePolicy,
  wanted: Map<Digest, string>,
  removeDeletes: Map<Digest, string>,
  config: JanitorConfig,
  now: number,
): { decision: Decision; reason: string; rule?: number } {
  const digest = node.record.digest;
  const tags = node.record.tags;
  const removal = removeDeletes.get(digest);
  if (removal) return { decision: 'expire', reason: `protection removed: ${removal}` };
  const outcome = outcomes.get(digest);
  if (outcome) {
    const rule = policy.rules.find((r) => r.rulePriority === outcome.rulePriority);
    const verb = outcome.action === 'transition' ? 'archived' : 'expired';
    return { decision: 'expire', reason: `${verb} by rule ${outcome.rulePriority}${rule?.description ? ` (${rule.description})` : ''}`, rule: outcome.rulePriority };
  }
  const protectedBy = wanted.get(digest) ?? protectedTagReason(tags, config);
  if (protectedBy) return { decision: 'protect', reason: protectedBy };

  const presentParents = node.parents.filter((parent) => graph.nodes.has(parent));
  if (presentParents.length > 0) {
    const living = presentParents.find((parent) => !outcomes.has(parent));
    const role = node.kind === 'attestation' ? 'attestation in' : 'part of';
    if (living) return { decision: 'keep', reason: `${role} kept index ${describe(graph, living)}` };
    return { decision: 'pending', reason: `${role} index ${describe(graph, presentParents[0]!)}, which expires now; goes at the next lifecycle run` };
  }
  if (node.kind === 'referrer' && node.subject) {
    if (!graph.nodes.has(node.subject)) return { decision: 'pending', reason: `its subject ${node.subject} is gone; ECR removes referrers within 24 h` };
    if (outcomes.has(node.subject)) return { decision: 'pending', reason: `follows its subject ${node.subject}, which expires now` };
  }
  if (node.problems.length > 0) return { decision: 'keep', reason: `unsure: ${node.problems.join('; ')}` };

  if (tags.length === 0) {
    const untaggedRule = policy.rules.find((r) => r.selection.tagStatus === 'untagged' && r.action.type === 'expire' && r.selection.countType === 'sinceImagePushed');
    if (untaggedRule) {
      const dueAt = node.record.pushedAt + untaggedRule.selection.countNumber * DAY_MS;
      const days = Math.max(0, Math.ceil((dueAt - now) / DAY_MS));
      return { decision: 'pending', reason: `untagged; rule ${untaggedRule.rulePriority} expires it in ${days} day(s)`, rule: untaggedRule.rulePriority };
    }
    return { decision: 'keep', reason: 'untagged, but no rule expires untagged images' };
  }
  const ciRule = config.ciTags.find((ci) => tags.some((tag) => tagMatchesPattern(tag, ci.pattern)));
  if (ciRule) return { decision: 'keep', reason: `among the ${ciRule.keep} newest ${ciRule.pattern}` };
  return { decision: 'keep', reason: `tagged ${tags.slice(0, 3).join(', ')}; no rule selects it` };
}

function protectedTagReason(tags: readonly string[], config: JanitorConfig): string | undefined {
  for (const pattern of [...config.protectedTags, PROTECTION_TAG_PATTERN]) {
    const tag = tags.find((t) => tagMatchesPattern(t, pattern));
    if (tag) return `tag ${tag} matches protected pattern ${pattern}`;
  }
  return undefined;
}

function describe(graph: ImageGraph, digest: Digest): string {
  const tags = graph.nodes.get(digest)?.record.tags ?? [];
  return tags.length > 0 ? `${digest.slice(0, 19)} (${tags.slice(0, 2).join(', ')})` : digest.slice(0, 19);
}

function totalsOf(images: readonly ImageDecision[]): PlanTotals {
  const zero = (): DecisionTotals => ({ images: 0, bytes: 0 });
  const totals: PlanTotals = { images: 0, bytes: 0, keep: zero(), protect: zero(), expire: zero(), pending: zero() };
  for (const image of images) {
    totals.images += 1;
    totals.bytes += image.bytes;
    totals[image.decision].images += 1;
    totals[image.decision].bytes += image.bytes;
  }
  return totals;
}

/**
 * Protection tags this run planned did not all go in: the installed policy may expire a pinned image before the next
 * run, so it is put on hold, and the state remembers it. Nothing to hold when there is no policy, it is already a hold,
 * or it is a foreign policy we were told to leave alone.
 */
export function holdAfterFailedProtection(plan: RepositoryPlan): { policyText: string; nextState: RepositoryState } | undefined {
  const { currentText, action } = plan.policy;
  if (currentText === null || action === 'skip' || action === 'hold') return undefined;
  let current: LifecyclePolicy;
  try {
    current = parsePolicyText(currentText);
  } catch {
    return undefined;
  }
  if (isHoldPolicy(current)) return undefined;
  return { policyText: policyToText(holdPolicy()), nextState: { ...plan.nextState, heldPolicyText: currentText } };
}
