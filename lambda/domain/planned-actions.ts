// What a plan would write, and why its policy did not go in, as data. The report keeps the human text (notDone); the
// run's status reads the typed kind, never the wording.
import type { RepositoryPlan } from './types.js';

/** The plan's writes in the order they are applied, for a dry run's report. */
export function describePlannedActions(plan: RepositoryPlan): string[] {
  const actions: string[] = [];
  for (const add of plan.protectTags.add) actions.push(`add tag ${add.tag}`);
  if (plan.policy.action === 'install') actions.push('install lifecycle policy');
  if (plan.policy.action === 'hold') actions.push('put the lifecycle policy on hold');
  for (const remove of plan.protectTags.remove) actions.push(`remove tag ${remove.tag}`);
  return actions;
}

/** Why the plan's policy was not installed this run. */
export type PolicyWait =
  /** A protection tag failed to go in: the policy it shields waits with it (the next run retries). */
  | { kind: 'protection-incomplete' }
  /** The repository changed during the run and a fresh plan needs new protection or refuses (next run). */
  | { kind: 'repository-changed' }
  /** The policy in force changed during the run (another run or a person): never installed over (next run). */
  | { kind: 'policy-changed' }
  /** ECR's preview, held against the plan, refused it (e.g. maxExpireShare): the repository is not cleaned as configured. */
  | { kind: 'preview-refused'; reason: string }
  /** The preview gave no answer (still running, EXPIRED, FAILED, another's): never permission. */
  | { kind: 'preview-not-completed'; reason: string }
  /** The preview or the install call failed. */
  | { kind: 'install-failed' };

const NOTE_PREFIX = 'install lifecycle policy: ';

/** The report's note (RepositoryRunReport.actions.notDone). */
export function policyWaitNote(wait: PolicyWait): string {
  return NOTE_PREFIX + policyWaitText(wait);
}

function policyWaitText(wait: PolicyWait): string {
  switch (wait.kind) {
    case 'protection-incomplete':
      return 'waits until every protection tag is in place';
    case 'repository-changed':
      return 'the repository changed during the run and needs another look (new protection or a refusal); the policy waits for the next run';
    case 'policy-changed':
      return 'the installed policy changed during the run (another run or a person); it waits for the next run';
    case 'preview-refused':
    case 'preview-not-completed':
      return wait.reason;
    case 'install-failed':
      return 'the preview or the install failed; the installed policy is unchanged';
  }
}

/**
 * The refusal to report (status "refused") when the wait leaves the repository uncleaned for a reason the next run does
 * not resolve by itself; undefined for waits that resolve on their own (protection retried, a changed repository or
 * policy looked at again).
 */
export function refusalOf(wait: PolicyWait): string | undefined {
  switch (wait.kind) {
    case 'protection-incomplete':
    case 'repository-changed':
    case 'policy-changed':
      return undefined;
    default:
      return policyWaitText(wait);
  }
}
