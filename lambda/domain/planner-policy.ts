// Planner, policy choice: which lifecycle policy the repository should have (ours, merged with its own rules, kept,
// refused or put on hold) and why, judged against what the policy would expire.
import { evaluatePolicy, type RankOrder, selects } from './evaluator.js';
import { describeImage } from './planner-decisions.js';
import type { PinKnowledge } from './planner-protection.js';
import {
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
import { HOLD_HORIZON_MS } from './time.js';
import type { Digest, ImageGraph, JanitorConfig, LifecyclePolicy, PolicyPlan, RuleOutcome } from './types.js';

export const EMPTY_POLICY: LifecyclePolicy = { rules: [] };

export interface PolicyChoice {
  desired: LifecyclePolicy | null;
  desiredText: string;
  current: LifecyclePolicy | null;
  action: PolicyPlan['action'];
  reason: string;
  warnings: string[];
  /** merge: the foreign rules alone, which every image they keep must stay kept by the merged policy. */
  foreign?: LifecyclePolicy;
}


export function choosePolicy(config: JanitorConfig, currentText: string | null, heldText: string | undefined): PolicyChoice {
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

export function unreadablePolicyChoice(problem: string): PolicyChoice {
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
export function mergeLossReason(
  foreign: LifecyclePolicy,
  mergedOutcomes: Map<Digest, RuleOutcome>,
  graph: ImageGraph,
  now: number,
  order?: RankOrder,
): string | undefined {
  if (foreign.rules.length === 0) return undefined;
  const foreignOutcomes = evaluatePolicy(foreign, graph, now, order);
  const lost: string[] = [];
  for (const node of graph.nodes.values()) {
    const digest = node.record.digest;
    if (mergedOutcomes.get(digest)?.action !== 'expire') continue;
    if (foreignOutcomes.has(digest) && foreignOutcomes.get(digest)!.action === 'expire') continue;
    const keeper = foreign.rules.find((rule) => selects(rule, node));
    if (keeper) lost.push(`${describeImage(graph, digest)} (kept by its rule "${keeper.description ?? `priority ${keeper.rulePriority}`}")`);
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
 * anything it expires may be a new pin. The risk alone: the planner says what it does about it (a hold, or a warning
 * when existingPolicy is "skip").
 */
export function holdReason(
  effective: LifecyclePolicy,
  graph: ImageGraph,
  pins: PinKnowledge,
  wanted: ReadonlyMap<Digest, unknown>,
  now: number,
  order?: RankOrder,
  /** `effective`'s outcomes at now + HOLD_HORIZON_MS over this graph's tags, when already evaluated. */
  evaluatedSoon?: Map<Digest, RuleOutcome>,
): string | undefined {
  if (effective.rules.length === 0 || isHoldPolicy(effective)) return undefined;
  // Pins known and nothing to protect: nothing can be at risk, whatever the policy expires.
  if (pins.known && wanted.size === 0) return undefined;
  const soon = [...(evaluatedSoon ?? evaluatePolicy(effective, graph, now + HOLD_HORIZON_MS, order)).keys()];
  if (!pins.known) {
    return soon.length > 0
      ? `pin discovery failed and the installed policy would expire ${soon.length} image(s) by the next run, any of which may be a new pin`
      : undefined;
  }
  const atRisk = soon.filter((digest) => wanted.has(digest));
  if (atRisk.length === 0) return undefined;
  return `the installed policy would expire ${atRisk.length} image(s) that need protection this run could not complete (${atRisk.slice(0, 3).join(', ')})`;
}

export function blockedReason(pins: PinKnowledge, graph: ImageGraph, stateProblem: string | undefined): string | undefined {
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
export function unsafePolicyReason(
  outcomes: Map<Digest, RuleOutcome>,
  wanted: ReadonlyMap<Digest, unknown>,
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

/** The policy a hold replaced, coming back unchanged, was accepted before: the backlog the hold kept is no surprise. */
export function resumesAfterHold(choice: PolicyChoice, heldPolicyText: string | undefined): boolean {
  return (
    choice.action === 'install' &&
    choice.current !== null &&
    isHoldPolicy(choice.current) &&
    choice.desired !== null &&
    (replacedFingerprintOfHold(choice.current) === policyFingerprint(choice.desired) ||
      (heldPolicyText !== undefined && samePolicy(heldPolicyText, choice.desiredText)))
  );
}
