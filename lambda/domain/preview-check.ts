// ECR's own preview of a policy, held against our plan before the policy goes in. Our evaluator models ECR's documented
// semantics; if ECR disagrees about anything we keep, ECR is right about what it will do, so the policy waits for a person.
import type { Digest, RepositoryPlan } from './types.js';

export interface PreviewVerdict {
  /** Why the policy must not be installed, when it must not. */
  refusal?: string;
  /** ECR would expire images our plan keeps: a model mismatch a person must look at. */
  disagrees: boolean;
}

export function checkPreview(plan: RepositoryPlan, expiring: readonly Digest[], maxExpireShare: number): PreviewVerdict {
  const decisions = new Map(plan.images.map((image) => [image.digest, image]));
  const kept = expiring.filter((digest) => {
    const decision = decisions.get(digest)?.decision;
    return decision === 'keep' || decision === 'protect';
  });
  if (kept.length > 0) {
    const examples = kept.slice(0, 3).map((digest) => `${digest} (${decisions.get(digest)!.decision}: ${decisions.get(digest)!.reason})`);
    return {
      refusal: `ECR's preview would expire ${kept.length} image(s) the plan keeps, e.g. ${examples.join('; ')}; policy not installed`,
      disagrees: true,
    };
  }
  const total = plan.images.length;
  if (total > 0 && expiring.length / total > maxExpireShare) {
    return {
      refusal: `ECR's preview would expire ${expiring.length} of ${total} images at once, more than maxExpireShare ${maxExpireShare}; policy not installed`,
      disagrees: false,
    };
  }
  return { disagrees: false };
}
