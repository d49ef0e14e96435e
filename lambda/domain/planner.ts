// The planner: one repository's inventory + config + pins + state + now -> a decision for every image, the policy to
// install and the protection tags to add or remove. Pure: the app layer reads the world and applies the plan.
// It composes three jobs: protection (planner-protection.ts), policy choice (planner-policy.ts) and per-image
// decisions (planner-decisions.ts).
import { evaluatePolicy, rankOrder } from './evaluator.js';
import { buildImageGraph } from './graph.js';
import { digestOfProtectionTag } from './patterns.js';
import { decideAll, totalsOf } from './planner-decisions.js';
import {
  blockedReason,
  choosePolicy,
  EMPTY_POLICY,
  holdReason,
  mergeLossReason,
  resumesAfterHold as resumesAfterHoldOf,
  unreadablePolicyChoice,
  unsafePolicyReason,
} from './planner-policy.js';
import {
  applyTags,
  applyTagChanges,
  archivedPinWarnings,
  nextPinsLastSeen,
  ownProtectionTagged,
  type PinKnowledge,
  planProtection,
  reusableOutcomes,
  withPullPins,
  withUnknownArtifactsSetting,
} from './planner-protection.js';
import { holdPolicy, isHoldPolicy, policyToText } from './policy.js';
import { recentPulls } from './recent-pulls.js';
import type { Digest, ImageGraph, JanitorConfig, RepositoryInventory, RepositoryPlan, RepositoryState } from './types.js';

export type { PinKnowledge } from './planner-protection.js';
export { holdAfterFailedProtection, holdWithoutInventory } from './holds.js';

export interface PlanInput {
  inventory: RepositoryInventory;
  config: JanitorConfig;
  pins: PinKnowledge;
  state: RepositoryState | null;
  currentPolicyText: string | null;
  now: number;
  /** The run state could not be read: nothing is written in this repository but a hold (see planRepository). */
  stateProblem?: string;
  /** GetLifecyclePolicy failed: the installed policy is unknown, so it is not changed; protection tags still go in. */
  policyUnreadable?: string;
  /** When the janitor read each manifest (state and this run): those pulls do not count for keepPulledWithinDays. */
  janitorReads?: Record<Digest, number>;
}

export function planRepository(input: PlanInput): RepositoryPlan {
  const { inventory, config, now } = input;
  // Recent pulls count as pins (with the grace of any pin); unknown pins stay unknown.
  const pulls = recentPulls(inventory.images, config.keepPulledWithinDays, input.janitorReads ?? input.state?.janitorReads ?? {}, now);
  const pins: PinKnowledge = input.pins.known && pulls.pinned.size > 0 ? { known: true, digests: withPullPins(input.pins.digests, pulls.pinned) } : input.pins;
  const graph = withUnknownArtifactsSetting(buildImageGraph(inventory), config);
  const warnings: string[] = graph.problems.map((p) => `${p.digest}: ${p.message}`);
  if (config.unknownArtifacts === 'expire') {
    for (const node of graph.nodes.values()) {
      if (node.kind === 'unknown') {
        warnings.push(`${node.record.digest}: unknown media type ${node.record.manifestMediaType ?? '(none reported)'}; unknownArtifacts is "expire", so the policy treats it like any image`);
      }
    }
  }
  warnings.push(...archivedPinWarnings(graph, pins));
  const choice = input.policyUnreadable !== undefined
    ? unreadablePolicyChoice(input.policyUnreadable)
    : choosePolicy(config, input.currentPolicyText, input.state?.heldPolicyText);
  warnings.push(...choice.warnings);

  const blocked = blockedReason(pins, graph, input.stateProblem);
  // Every evaluation below is over these images with other tags or policies: they rank in one order.
  const order = rankOrder(graph);
  const ownTagged = ownProtectionTagged(graph);
  const { lastSeen, restarted } = nextPinsLastSeen(input.state, pins, config, graph, ownTagged, now);
  const protectionPolicy = choice.desired ?? choice.current ?? EMPTY_POLICY;
  const protection = planProtection(graph, order, ownTagged, config, pins, lastSeen, restarted, protectionPolicy, now);
  // Fail closed: protection is only ever added while we are unsure, and never removed under a policy we cannot read.
  if (blocked || input.policyUnreadable !== undefined) protection.remove = [];
  // Unreadable state: no writes at all (the hold below aside), so the file stays for a person to look at.
  if (input.stateProblem !== undefined) protection.add = [];

  // Where tags point before this plan's protection tags go on (they never move, so they are left out anyway), and each
  // image's billable bytes: one pass over the images for both.
  const { tags: tagDigests, digests, bytes } = lastInventoryOf(graph);
  // The tags every image will carry once the plan is applied; every decision is made against them. From here on the
  // graph's nodes carry them (the planner built those nodes; the inventory's records are not touched).
  const finalTags = applyTagChanges(graph, protection.add, protection.remove);
  const reused = reusableOutcomes(protection.first, protectionPolicy, finalTags, graph);
  applyTags(graph, finalTags);
  const finalGraph = graph;

  let policy = choice;
  let effective = protectionPolicy;
  let outcomes = reused ?? evaluatePolicy(effective, finalGraph, now, order);
  const resumesAfterHold = resumesAfterHoldOf(choice, input.state?.heldPolicyText);
  if (policy.action === 'install') {
    const refusal =
      blocked ??
      protection.incomplete ??
      unsafePolicyReason(outcomes, protection.wanted, graph, resumesAfterHold ? { ...config, maxExpireShare: 1 } : config) ??
      (choice.foreign ? mergeLossReason(choice.foreign, outcomes, finalGraph, now, order) : undefined);
    if (refusal) {
      policy = { ...policy, action: 'refuse', reason: refusal };
      effective = choice.current ?? EMPTY_POLICY;
      outcomes = evaluatePolicy(effective, finalGraph, now, order);
    }
  }
  // Reused outcomes came with the same evaluation at the hold's horizon: valid while the policy in force is that one.
  const evaluatedSoon = reused && effective === protectionPolicy ? protection.first?.soon : undefined;
  const hold = holdReason(effective, finalGraph, pins, protection.wanted, now, order, evaluatedSoon);
  if (hold && policy.action === 'skip') {
    warnings.push(`existingPolicy is "skip", so the repository's own policy stays although ${hold}`);
  } else if (hold) {
    const held = holdPolicy(input.currentPolicyText);
    policy = { ...policy, desired: held, desiredText: policyToText(held), action: 'hold', reason: `${hold}: policy on hold` };
    effective = held;
    outcomes = evaluatePolicy(effective, finalGraph, now, order);
  }
  // The last policy seen in force that is not a hold: the one a hold replaced while a hold is in place, otherwise what
  // this run leaves installed. A hold carries the policy it replaces in its own text; this second copy is what a hold
  // put in when GetLifecyclePolicy failed (its replaced policy unknown) resumes with.
  const holdInPlace = choice.current !== null && isHoldPolicy(choice.current);
  const heldPolicyText =
    input.policyUnreadable !== undefined || holdInPlace
      ? input.state?.heldPolicyText
      : policy.action === 'hold'
        ? input.currentPolicyText ?? undefined
        : policy.action === 'install'
          ? policy.desiredText
          : input.currentPolicyText ?? undefined;

  const removeDeletes = new Map<Digest, string>();
  for (const removal of protection.remove) if (removal.deletesImage) removeDeletes.set(removal.digest, removal.reason);
  const images = decideAll({ graph: finalGraph, outcomes, policy: effective, wanted: protection.wanted, removeDeletes, config, now });

  return {
    repository: inventory.repository,
    images,
    policy: {
      desiredText: policy.desiredText,
      currentText: input.currentPolicyText,
      action: policy.action,
      reason: policy.reason,
      warnings: policy.warnings,
      ...(resumesAfterHold && policy.action === 'install' ? { resumesAfterHold: true } : {}),
    },
    protectTags: {
      add: protection.add,
      remove: protection.remove.map(({ digest, tag, reason }) => ({ digest, tag, reason })),
    },
    nextState: {
      repository: inventory.repository,
      pinsLastSeen: lastSeen,
      lastInventory: { at: now, digests, bytes, tags: tagDigests },
      indexManifests: indexManifestsOf(inventory, graph),
      ...(heldPolicyText !== undefined ? { heldPolicyText } : {}),
    },
    totals: totalsOf(images),
    ...(config.keepPulledWithinDays !== undefined ? { recentPulls: { protected: pulls.pinned.size, discountedJanitorReads: pulls.discounted } } : {}),
    ...(blocked ? { blocked } : {}),
    warnings,
  };
}


/** The index manifests of images still present: kept in the state so an index is read once, not every night. */
function indexManifestsOf(inventory: RepositoryInventory, graph: ImageGraph): Record<Digest, string> {
  const manifests: Record<Digest, string> = {};
  const all = inventory.manifests;
  for (const digest in all) if (graph.nodes.has(digest)) manifests[digest] = all[digest]!;
  return manifests;
}

/**
 * Every image's digest and billable bytes, and tag -> digest of every tag but protection tags (they never move): where
 * each tag pointed at this run.
 */
function lastInventoryOf(graph: ImageGraph): { digests: Digest[]; bytes: number[]; tags: Record<string, Digest> } {
  const digests: Digest[] = [];
  const bytes: number[] = [];
  const tags: Record<string, Digest> = {};
  graph.nodes.forEach((node, digest) => {
    digests.push(digest);
    bytes.push(node.billableBytes);
    const own = node.record.tags;
    for (let i = 0; i < own.length; i++) if (digestOfProtectionTag(own[i]!) === undefined) tags[own[i]!] = digest;
  });
  return { digests, bytes, tags };
}
