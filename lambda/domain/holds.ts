// Holds outside a plan: what to put in when protection tags failed to go in, or when a repository could not be planned
// at all. A hold expires nothing, so it never needs a preview, and it carries the policy it replaces.
import { holdPolicy, isHoldPolicy, isJanitorRule, parsePolicyText, policyToText } from './policy.js';
import type { LifecyclePolicy, RepositoryPlan, RepositoryState } from './types.js';

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

/**
 * The hold for a repository whose run failed before its plan was applied (its installed policy: see
 * holdWithoutInventory). None after writes began (applying the plan put its own hold in if protection failed) and none
 * in a dry run (it writes nothing).
 */
export function holdAfterFailure(installedPolicy: string | null | undefined, failure: { afterWrites: boolean; dryRun: boolean }): string | undefined {
  if (failure.afterWrites || failure.dryRun) return undefined;
  return holdWithoutInventory(installedPolicy);
}
