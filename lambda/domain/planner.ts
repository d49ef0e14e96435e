// The planner: one repository's inventory + config + pins + state + now -> a decision for every image, the policy to
// install and the protection tags to add or remove. Pure: the app layer reads the world and applies the plan.
import { evaluatePolicy, selects, storageClassOf } from './evaluator.js';
import { buildImageGraph } from './graph.js';
import { recentPulls } from './recent-pulls.js';
import { digestOfProtectionTag, PROTECTION_TAG_PATTERN, protectionTagFor, tagMatchesPattern } from './patterns.js';
import {
  holdPolicy,
  isHoldPolicy,
  isJanitorRule,
  lintPolicy,
  mergePolicy,
  parsePolicyText,
  policyFingerprint,
  policyToText,
  renderPolicy,
  replacedFingerprintOfHold,
  replacedPolicyOfHold,
  samePolicy,
  splitEditedHold,
  validationFailureMessage,
  withArchiveProtection,
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
  /** The run state could not be read: nothing is written in this repository but a hold (see planRepository). */
  stateProblem?: string;
  /** GetLifecyclePolicy failed: the installed policy is unknown, so it is not changed; protection tags still go in. */
  policyUnreadable?: string;
  /** When the janitor read each manifest (state and this run): those pulls do not count for keepPulledWithinDays. */
  janitorReads?: Record<Digest, number>;
}

interface PolicyChoice {
  desired: LifecyclePolicy | null;
  desiredText: string;
  current: LifecyclePolicy | null;
  action: PolicyPlan['action'];
  reason: string;
  warnings: string[];
  /** merge: the foreign rules alone, which every image they keep must stay kept by the merged policy. */
  foreign?: LifecyclePolicy;
}

const EMPTY_POLICY: LifecyclePolicy = { rules: [] };
const REFERRER_OF_KEPT = 'OCI referrer of kept image';

function withPullPins(digests: Map<Digest, string[]>, pulled: Map<Digest, string>): Map<Digest, string[]> {
  const merged = new Map([...digests].map(([digest, sources]) => [digest, [...sources]]));
  for (const [digest, why] of pulled) merged.set(digest, [...(merged.get(digest) ?? []), why]);
  return merged;
}

/** A pinned image in archive is kept and protected, but nothing can pull it: a person must restore it. */
function archivedPinWarnings(graph: ImageGraph, pins: PinKnowledge): string[] {
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
  const { lastSeen, restarted } = nextPinsLastSeen(input.state, pins, config, graph, now);
  const protection = planProtection(graph, config, pins, lastSeen, restarted, choice.desired ?? choice.current ?? EMPTY_POLICY, now);
  // Fail closed: protection is only ever added while we are unsure, and never removed under a policy we cannot read.
  if (blocked || input.policyUnreadable !== undefined) protection.remove = [];
  // Unreadable state: no writes at all (the hold below aside), so the file stays for a person to look at.
  if (input.stateProblem !== undefined) protection.add = [];

  // The tags every image will carry once the plan is applied; every decision is made against them.
  const finalTags = applyTagChanges(graph, protection.add, protection.remove);
  const finalGraph = withTags(graph, finalTags);

  let policy = choice;
  let effective = choice.desired ?? choice.current ?? EMPTY_POLICY;
  let outcomes = evaluatePolicy(effective, finalGraph, now);
  // The policy a hold replaced, coming back unchanged, was accepted before: the backlog the hold kept is no surprise.
  const resumesAfterHold =
    choice.action === 'install' &&
    choice.current !== null &&
    isHoldPolicy(choice.current) &&
    choice.desired !== null &&
    (replacedFingerprintOfHold(choice.current) === policyFingerprint(choice.desired) ||
      (input.state?.heldPolicyText !== undefined && samePolicy(input.state.heldPolicyText, choice.desiredText)));
  if (policy.action === 'install') {
    const refusal =
      blocked ??
      protection.incomplete ??
      unsafePolicyReason(outcomes, protection.wanted, graph, resumesAfterHold ? { ...config, maxExpireShare: 1 } : config) ??
      (choice.foreign ? mergeLossReason(choice.foreign, outcomes, finalGraph, now) : undefined);
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
    const held = holdPolicy(input.currentPolicyText);
    policy = { ...policy, desired: held, desiredText: policyToText(held), action: 'hold', reason: hold };
    effective = held;
    outcomes = evaluatePolicy(effective, finalGraph, now);
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

  const removeDeletes = new Map(protection.remove.filter((r) => r.deletesImage).map((r) => [r.digest, r.reason]));
  const images: ImageDecision[] = [];
  for (const node of finalGraph.nodes.values()) {
    const { decision, reason, rule, heldBy } = decide(node, finalGraph, outcomes, effective, protection.wanted, removeDeletes, config, now);
    images.push({
      digest: node.record.digest,
      tags: node.record.tags,
      kind: node.kind,
      bytes: node.billableBytes,
      pushedAt: node.record.pushedAt,
      decision,
      reason,
      ...(rule !== undefined ? { rule } : {}),
      ...(heldBy !== undefined ? { heldBy } : {}),
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
      ...(resumesAfterHold && policy.action === 'install' ? { resumesAfterHold: true } : {}),
    },
    protectTags: {
      add: protection.add,
      remove: protection.remove.map(({ digest, tag, reason }) => ({ digest, tag, reason })),
    },
    nextState: {
      repository: inventory.repository,
      pinsLastSeen: lastSeen,
      lastInventory: {
        at: now,
        bytes: Object.fromEntries([...graph.nodes.values()].map((n) => [n.record.digest, n.billableBytes])),
        tags: tagDigestsOf(graph),
      },
      indexManifests: Object.fromEntries(Object.entries(inventory.manifests).filter(([digest]) => graph.nodes.has(digest))),
      ...(heldPolicyText !== undefined ? { heldPolicyText } : {}),
    },
    totals: totalsOf(images),
    ...(config.keepPulledWithinDays !== undefined ? { recentPulls: { protected: pulls.pinned.size, discountedJanitorReads: pulls.discounted } } : {}),
    ...(blocked ? { blocked } : {}),
    warnings,
  };
}

/**
 * The config's say on images of a media type we do not understand. "keep": the graph's doubt stands (the image gets a
 * protection tag whenever the policy would expire it) and the report names the setting; "expire": no doubt, the policy
 * treats it like any image.
 */
function withUnknownArtifactsSetting(graph: ImageGraph, config: JanitorConfig): ImageGraph {
  const isUnknownType = (message: string) => message.startsWith('unknown media type ');
  const keep = config.unknownArtifacts !== 'expire';
  const reword = (message: string) =>
    isUnknownType(message) ? `${message.replace(/: kept$/, '')}: kept (unknownArtifacts "keep"; set it to "expire" to let the policy expire such images)` : message;
  for (const node of graph.nodes.values()) {
    if (node.kind !== 'unknown') continue;
    node.problems = keep ? node.problems.map(reword) : node.problems.filter((m) => !isUnknownType(m));
  }
  const problems = keep
    ? graph.problems.map((p) => ({ ...p, message: reword(p.message) }))
    : graph.problems.filter((p) => !(graph.nodes.get(p.digest)?.kind === 'unknown' && isUnknownType(p.message)));
  return { ...graph, problems };
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
  // On hold, the rules to respect are those of the policy the hold replaced: the hold carries them, older holds left
  // them in the run state only.
  // A hold someone added rules to is still a hold for what it carries: the team's rules plus the added ones.
  const edited = current !== null && !isHoldPolicy(current) ? splitEditedHold(current) : undefined;
  const onHold = current !== null && (isHoldPolicy(current) || edited !== undefined);
  const carried = onHold ? replacedPolicyOfHold(edited?.hold ?? current!) : undefined;
  const carriedOrSaved = carried?.known ? carried.foreign : onHold ? readHeldPolicy(heldText, warnings) : current;
  const base = edited ? { rules: [...(carriedOrSaved?.rules ?? []), ...edited.others] } : carriedOrSaved;
  if (onHold && carried?.known === false && heldText === undefined && config.existingPolicy !== 'replace') {
    return {
      desired: null,
      desiredText: currentText ?? '',
      current,
      action: 'refuse',
      reason:
        'the hold replaced a policy that could not be read, so its own rules are unknown: put the repository\'s own ' +
        'lifecycle policy back (or delete the hold), or set existingPolicy to "replace"; the hold stays',
      warnings,
    };
  }
  const foreignRules = base?.rules.filter((rule) => !isJanitorRule(rule)) ?? [];
  let desired: LifecyclePolicy | null = ours;
  let foreign: LifecyclePolicy | undefined;
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
        // Refused, not skipped: a repository left uncleaned every night until a person acts must not look green.
        action: 'refuse',
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
    foreign = { rules: foreignRules };
    warnings.push(...merged.warnings);
    installReason = onHold
      ? `resuming after a hold: merging our rules with ${foreignRules.length} rule(s) of the policy the hold replaced`
      : `merging our rules with ${foreignRules.length} rule(s) of the installed policy`;
  } else if (foreignRules.length > 0) {
    installReason = `replacing ${foreignRules.length} foreign rule(s): existingPolicy is "replace"`;
  }

  if (desired === null) throw new Error('unreachable: a policy to install was chosen without rules');
  desired = withArchiveProtection(desired, config.protectedTags);
  const desiredText = policyToText(desired);
  const lint = lintPolicy(desired);
  warnings.push(...lint.warnings.map((w) => `policy ${w.field}: ${w.message}`));
  if (lint.errors.length > 0) {
    return {
      desired: null,
      desiredText,
      current,
      action: 'refuse',
      reason: `the policy we would install is not valid ECR (${validationFailureMessage(lint.errors)})`,
      warnings,
    };
  }
  if (currentText !== null && unreadable === undefined && samePolicy(currentText, desiredText)) {
    return { desired, desiredText, current, action: 'unchanged', reason: 'the installed policy matches the config', warnings };
  }
  return { desired, desiredText, current, action: 'install', reason: installReason, warnings, ...(foreign ? { foreign } : {}) };
}

function unreadablePolicyChoice(problem: string): PolicyChoice {
  return {
    desired: null,
    desiredText: '',
    current: null,
    action: 'refuse',
    reason: `the installed lifecycle policy could not be read (${problem}): no policy change this run; missing protection tags still go in`,
    warnings: [],
  };
}

/**
 * merge: every image the repository's own rules keep (select and do not expire; archiving keeps it) must stay kept by
 * the merged policy. Images no foreign rule selects are ours to clean.
 */
function mergeLossReason(foreign: LifecyclePolicy, mergedOutcomes: Map<Digest, RuleOutcome>, graph: ImageGraph, now: number): string | undefined {
  if (foreign.rules.length === 0) return undefined;
  const foreignOutcomes = evaluatePolicy(foreign, graph, now);
  const lost: string[] = [];
  for (const node of graph.nodes.values()) {
    const digest = node.record.digest;
    if (mergedOutcomes.get(digest)?.action !== 'expire') continue;
    if (foreignOutcomes.has(digest) && foreignOutcomes.get(digest)!.action === 'expire') continue;
    const keeper = foreign.rules.find((rule) => selects(rule, node));
    if (keeper) lost.push(`${describe(graph, digest)} (kept by its rule "${keeper.description ?? `priority ${keeper.rulePriority}`}")`);
  }
  if (lost.length === 0) return undefined;
  return (
    `the merged policy would expire ${lost.length} image(s) the repository's own policy keeps, e.g. ${lost.slice(0, 3).join(', ')}; ` +
    'not installed: change the config (e.g. a protectedTags pattern) or the repository\'s policy, or set existingPolicy to "replace"'
  );
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

function blockedReason(pins: PinKnowledge, graph: ImageGraph, stateProblem: string | undefined): string | undefined {
  if (stateProblem !== undefined) {
    return `${stateProblem}: nothing is written in this repository until it is fixed, except a hold if the installed policy could expire a pin`;
  }
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

/**
 * Pins and when they were last seen. Without a run state (lost, never saved, unreadable) nothing proves a protection
 * tag's grace has passed: every image carrying its own protection tag counts as pinned now, and its grace restarts.
 */
function nextPinsLastSeen(
  state: RepositoryState | null,
  pins: PinKnowledge,
  config: JanitorConfig,
  graph: ImageGraph,
  now: number,
): { lastSeen: Record<Digest, number>; restarted: Set<Digest> } {
  const previous = state?.pinsLastSeen ?? {};
  const restarted = new Set<Digest>();
  // A state that exists but never saw this tag (its save failed, or an overlapping run added the tag after this run
  // read the state) proves nothing either: the tag counts as pinned now. Not for a referrer, state or no state: ECR
  // keeps it while its subject exists, and its tag is usually ours for "referrer of kept image" (a pinned one's subject
  // has its own tag, which restarts). Counting it would record it as a pin, and the next run would then also pin its
  // subject: a plan that changes when made twice.
  for (const node of graph.nodes.values()) {
    const unknownToState = previous[node.record.digest] === undefined && node.kind !== 'referrer';
    if (hasOwnProtectionTag(node) && unknownToState) restarted.add(node.record.digest);
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
  const stillTagged = (digest: Digest) => {
    const node = graph.nodes.get(digest);
    return node !== undefined && hasOwnProtectionTag(node);
  };
  for (const [digest, seen] of Object.entries(previous)) if (now - seen <= graceMs || stillTagged(digest)) next[digest] = seen;
  for (const digest of restarted) next[digest] = now;
  for (const digest of pins.digests.keys()) next[digest] = now;
  return { lastSeen: next, restarted };
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
  restarted: ReadonlySet<Digest>,
  policy: LifecyclePolicy,
  now: number,
): ProtectionPlan {
  const wanted = new Map<Digest, string>();
  for (const node of graph.nodes.values()) {
    const digest = node.record.digest;
    if (pins.known && pins.digests.has(digest)) {
      wanted.set(digest, `pinned by ${pins.digests.get(digest)!.join(', ')}`);
    } else if (restarted.has(digest)) {
      wanted.set(digest, `pin (protection tag) with no run state behind it: counts as pinned now, grace ${config.pinGraceDays} days restarts`);
    } else if (lastSeen[digest] !== undefined && (!pins.known || now - lastSeen[digest]! <= config.pinGraceDays * DAY_MS)) {
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
  // Nor does a tag the state does not know: a pinned referrer's subject got its own tag in the run that pinned it.
  wantSubjectsOfReferrers(graph, wanted, (digest) => restarted.has(digest) && !(pins.known && pins.digests.has(digest)));

  // Which images survive, given the pins alone, decides which referrers and unsure images also need a tag.
  const firstTags = applyTagChanges(graph, additionsFor(graph, wanted), tentativeRemovals(graph, wanted));
  const firstGraph = withTags(graph, firstTags);
  const firstOutcomes = evaluatePolicy(policy, firstGraph, now);
  for (const node of graph.nodes.values()) {
    const digest = node.record.digest;
    if (wanted.has(digest)) continue;
    if (node.kind === 'referrer' && node.subject && survives(node.subject, firstGraph, firstOutcomes, wanted, new Set())) {
      wanted.set(digest, `${REFERRER_OF_KEPT} ${node.subject}`);
    } else if (node.problems.length > 0 && firstOutcomes.has(digest)) {
      wanted.set(digest, `unsure what this image is (${node.problems.join('; ')}): kept until a person decides`);
    }
  }

  // An archived (or restoring) image cannot be re-tagged (its manifest cannot be read), and needs no tag while no rule
  // acts on the archive class: waiting for a tag that cannot go in would hold the policy until a person restores it.
  const actsOnArchive = policy.rules.some((rule) => rule.selection.storageClass === 'archive');
  let add = additionsFor(graph, wanted).filter((a) => actsOnArchive || storageClassOf(graph.nodes.get(a.digest)!.record) === 'standard');
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
function wantSubjectsOfReferrers(graph: ImageGraph, wanted: Map<Digest, string>, onlyTagged: (digest: Digest) => boolean): void {
  const pending = [...wanted.keys()].filter((digest) => !onlyTagged(digest));
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
): { decision: Decision; reason: string; rule?: number; heldBy?: Digest[] } {
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
  // A referrer protected only for its kept subject is held by that subject (ECR removes referrers with their subject).
  const heldBySubject = node.kind === 'referrer' && node.subject !== undefined && protectedBy?.startsWith(REFERRER_OF_KEPT) ? [node.subject] : undefined;
  if (protectedBy) return { decision: 'protect', reason: protectedBy, ...(heldBySubject ? { heldBy: heldBySubject } : {}) };

  const presentParents = node.parents.filter((parent) => graph.nodes.has(parent));
  if (presentParents.length > 0) {
    const living = presentParents.find((parent) => !outcomes.has(parent));
    const role = node.kind === 'attestation' ? 'attestation in' : 'part of';
    if (living) return { decision: 'keep', reason: `${role} kept index ${describe(graph, living)}`, heldBy: presentParents.filter((parent) => !outcomes.has(parent)) };
    return { decision: 'pending', reason: `${role} index ${describe(graph, presentParents[0]!)}, which expires now; goes at the next lifecycle run`, heldBy: presentParents };
  }
  if (node.kind === 'referrer' && node.subject) {
    if (!graph.nodes.has(node.subject)) return { decision: 'pending', reason: `its subject ${node.subject} is gone; ECR removes referrers within 24 h` };
    if (outcomes.has(node.subject)) return { decision: 'pending', reason: `follows its subject ${node.subject}, which expires now`, heldBy: [node.subject] };
  }
  if (node.problems.length > 0) return { decision: 'keep', reason: `unsure: ${node.problems.join('; ')}` };

  if (storageClassOf(node.record) !== 'standard') return { decision: 'keep', reason: `${node.record.imageStatus === 'ARCHIVED' ? 'archived' : 'being restored from archive'}; no rule acts on it now` };
  if (tags.length === 0) {
    const untaggedRule = policy.rules.find(
      (r) => r.selection.tagStatus === 'untagged' && (r.selection.storageClass ?? 'standard') === 'standard' && r.action.type === 'expire' && r.selection.countType === 'sinceImagePushed',
    );
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
export function holdAfterFailedProtection(plan: RepositoryPlan, policyUnknown = false): { policyText: string; nextState: RepositoryState } | undefined {
  if (policyUnknown) return { policyText: policyToText(holdPolicy(undefined)), nextState: plan.nextState };
  const { currentText, action } = plan.policy;
  if (currentText === null || action === 'skip' || action === 'hold') return undefined;
  let current: LifecyclePolicy;
  try {
    current = parsePolicyText(currentText);
  } catch {
    return undefined;
  }
  if (isHoldPolicy(current)) return undefined;
  return { policyText: policyToText(holdPolicy(currentText)), nextState: { ...plan.nextState, heldPolicyText: currentText } };
}

/**
 * The hold for a run that could not plan (a read failed): it cannot show that every pin is protected, so a
 * janitor-written policy in force is replaced by a hold, which needs no inventory and carries the policy it replaces.
 * `currentText`: the installed policy, null when there is none, undefined when it could not be read (fail closed: a hold
 * expires nothing). Undefined when nothing needs holding: no policy, already a hold, or the team's own policy (no rule
 * of ours, so it never relied on our protection tags).
 */
export function holdWithoutInventory(currentText: string | null | undefined): string | undefined {
  if (currentText === null) return undefined;
  if (currentText === undefined) return policyToText(holdPolicy(undefined));
  let current: LifecyclePolicy;
  try {
    current = parsePolicyText(currentText);
  } catch {
    return undefined;
  }
  if (isHoldPolicy(current) || !current.rules.some(isJanitorRule)) return undefined;
  return policyToText(holdPolicy(currentText));
}

/** Tag -> digest of every tag but protection tags (they never move): where each tag pointed at this run. */
function tagDigestsOf(graph: ImageGraph): Record<string, Digest> {
  const tags: Record<string, Digest> = {};
  for (const node of graph.nodes.values()) {
    for (const tag of node.record.tags) if (digestOfProtectionTag(tag) === undefined) tags[tag] = node.record.digest;
  }
  return tags;
}
