// When ECR's preview disagrees with the plan: CI keeps pushing while the janitor runs, so the preview may have seen a
// repository that moved on. A plan from a fresher inventory tells a repository that changed under us (ranks moved on)
// from a real disagreement about ECR's semantics. These are the domain's decisions about that re-plan; the app only
// reads the fresh inventory and asks ECR.
import type { PreviewVerdict } from './preview-check.js';
import type { PolicyWait } from './planned-actions.js';
import type { RepositoryInventory, RepositoryPlan, TagChange } from './types.js';

/** Same images with the same tags, our own protection tags aside: nobody pushed, deleted or re-tagged in between. */
export function sameImages(fresh: RepositoryInventory, planned: RepositoryInventory, ownTags: readonly TagChange[]): boolean {
  if (fresh.images.length !== planned.images.length) return false;
  const expected = new Map(planned.images.map((image) => [image.digest, new Set(image.tags)]));
  for (const { digest, tag } of ownTags) expected.get(digest)?.add(tag);
  return fresh.images.every((image) => {
    const tags = expected.get(image.digest);
    return tags !== undefined && tags.size === image.tags.length && image.tags.every((tag) => tags.has(tag));
  });
}

/**
 * A fresh plan may stand in for the plan only when it installs the same way with nothing new to protect: otherwise
 * the protection tags in place were made for another repository, and the policy waits for a run that adds them.
 */
export function replanStandsIn(fresh: RepositoryPlan): boolean {
  return !fresh.blocked && fresh.policy.action === 'install' && fresh.protectTags.add.length === 0;
}

export type InstallJudgement =
  | { kind: 'install' }
  /** ECR would act on images the plan keeps, and no fresher plan explains it: a person must look. */
  | { kind: 'disagrees'; message: string }
  | { kind: 'wait'; wait: PolicyWait };

/**
 * What to do with the plan's policy once ECR's preview is in. `fresh`: a plan from a fresher inventory, made only when
 * the preview disagreed and the repository changed since (undefined otherwise); `recheck` holds a plan against the
 * same preview.
 */
export function judgeInstall(
  verdict: PreviewVerdict,
  fresh: RepositoryPlan | undefined,
  recheck: (plan: RepositoryPlan) => PreviewVerdict,
): InstallJudgement {
  let judged = verdict;
  if (fresh) {
    if (!replanStandsIn(fresh)) return { kind: 'wait', wait: { kind: 'repository-changed' } };
    judged = recheck(fresh);
  }
  if (judged.disagrees) return { kind: 'disagrees', message: judged.refusal ?? "ECR's preview disagrees with the plan" };
  if (judged.refusal !== undefined) return { kind: 'wait', wait: { kind: 'preview-refused', reason: judged.refusal } };
  return { kind: 'install' };
}
