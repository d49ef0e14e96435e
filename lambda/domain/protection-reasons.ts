// Why an image must carry a protection tag, as data: the planner ranks and groups by `kind`, never by the wording; the
// wording (protectionText) is for reports and tag-change reasons only.
import type { Digest } from './types.js';

export type ProtectionReason =
  /** A pin source (deployments, config, SSM, org pins, a recent pull) names it now. */
  | { kind: 'pinned'; sources: readonly string[] }
  /** It carries its own protection tag and no run state proves the pin lapsed: pinned now, grace restarts. */
  | { kind: 'pin-restarted'; graceDays: number }
  /** No source names it any more; the pin's grace has not run out. */
  | { kind: 'pin-in-grace'; daysSinceSeen: number; graceDays: number }
  /** Pinned at an earlier run and pin discovery failed: nobody can say the pin ended. */
  | { kind: 'pin-while-discovery-failed' }
  /** It carries its own protection tag and pin discovery failed: the protection stays. */
  | { kind: 'protection-while-discovery-failed' }
  /** ECR deletes a referrer within a day of its subject: protecting a referrer protects its subject. */
  | { kind: 'subject-of-protected-referrer'; referrer: Digest }
  /** An OCI referrer of an image that is kept (its signature, SBOM...). */
  | { kind: 'referrer-of-kept'; subject: Digest }
  /** The graph could not tell what this image is, and the policy would expire it. */
  | { kind: 'unsure'; problems: readonly string[] };

export type ProtectionKind = ProtectionReason['kind'];

/** The report's wording of a reason (unchanged from the string reasons these replace). */
export function protectionText(reason: ProtectionReason): string {
  switch (reason.kind) {
    case 'pinned':
      return `pinned by ${reason.sources.join(', ')}`;
    case 'pin-restarted':
      return `pin (protection tag) with no run state behind it: counts as pinned now, grace ${reason.graceDays} days restarts`;
    case 'pin-in-grace':
      return `pin last seen ${reason.daysSinceSeen} day(s) ago (grace ${reason.graceDays} days)`;
    case 'pin-while-discovery-failed':
      return 'pinned at an earlier run; pin discovery failed, so the pin stays';
    case 'protection-while-discovery-failed':
      return 'protected at an earlier run; pin discovery failed, so the protection stays';
    case 'subject-of-protected-referrer':
      return `subject of protected referrer ${reason.referrer}`;
    case 'referrer-of-kept':
      return `OCI referrer of kept image ${reason.subject}`;
    case 'unsure':
      return `unsure what this image is (${reason.problems.join('; ')}): kept until a person decides`;
  }
}

/**
 * When a cap cuts the list of tags to add, lower ranks go first: what deployments run (and the subjects their
 * referrers need), then referrers of kept images, then images we are unsure about.
 */
export function protectionRank(reason: ProtectionReason): number {
  switch (reason.kind) {
    case 'referrer-of-kept':
      return 1;
    case 'unsure':
      return 2;
    default:
      return 0;
  }
}

/** A referrer protected only for its kept subject is held by that subject (ECR removes referrers with their subject). */
export function heldBySubject(reason: ProtectionReason | undefined): reason is { kind: 'referrer-of-kept'; subject: Digest } {
  return reason?.kind === 'referrer-of-kept';
}
