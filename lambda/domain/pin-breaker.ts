// The pin circuit breaker: a throttled or mis-permissioned scan must never look like "nothing is in use". When a
// repository's pinned digests shrink by more than maxPinDrop from the last accepted run, or a pin source that named
// several of its images names none, the run treats its pins as unknown: no policy change, no protection removed, and a
// hold when the installed policy could expire something (planner). Pure: the caller passes the clock's `now`.
import type { Digest, PinReference } from './types.js';

/** The pins of the last run the breaker accepted, kept in the repository's run state. */
export interface PinBaseline {
  at: number;
  /** Pinned digests present in the repository at that run. */
  digests: Digest[];
  /** References to this repository per pin source kind ("ecs", "lambda", "ssm", "config"...). */
  sources: Record<string, number>;
}

/** Below this many pins a drop is one service going away, not a scan gone blind: the grace period covers it. */
export const MIN_PINS_FOR_DROP_CHECK = 4;
/** A source that named at least this many references and now names none is suspect. */
export const MANY_REFERENCES = 3;

export type BreakerVerdict = { tripped: false; next: PinBaseline } | { tripped: true; reason: string; next: PinBaseline };

/** This run's pins of one repository, as a baseline. */
export function pinSnapshot(references: readonly PinReference[], repository: string, pinned: Iterable<Digest>, now: number): PinBaseline {
  const sources: Record<string, number> = {};
  for (const ref of references) {
    if (ref.repository !== repository) continue;
    const kind = ref.source.split(':')[0]!;
    sources[kind] = (sources[kind] ?? 0) + 1;
  }
  return { at: now, digests: [...new Set(pinned)].sort(), sources };
}

/**
 * Compares this run's pins with the last accepted baseline. `present`: digests in the repository now (a pinned image
 * someone deleted is not a dropped pin). A tripped breaker keeps the old baseline, so it stays tripped until the pins
 * come back or a person accepts the drop (maxPinDrop 1 for one run).
 */
export function checkPinBreaker(baseline: PinBaseline | undefined, current: PinBaseline, present: ReadonlySet<Digest>, maxPinDrop: number): BreakerVerdict {
  if (baseline === undefined || maxPinDrop >= 1) return { tripped: false, next: current };
  const now = new Set(current.digests);
  const before = baseline.digests.filter((digest) => present.has(digest));
  const dropped = before.filter((digest) => !now.has(digest));
  const reasons: string[] = [];
  if (before.length >= MIN_PINS_FOR_DROP_CHECK && dropped.length / before.length > maxPinDrop) {
    reasons.push(
      `pinned digests fell from ${before.length} to ${before.length - dropped.length} since ${new Date(baseline.at).toISOString()} ` +
        `(a drop of ${Math.round((dropped.length / before.length) * 100)}%, more than maxPinDrop ${maxPinDrop})`,
    );
  }
  for (const [source, count] of Object.entries(baseline.sources)) {
    if (count >= MANY_REFERENCES && (current.sources[source] ?? 0) === 0) {
      reasons.push(`pin source ${source} named ${count} image reference(s) here and now names none`);
    }
  }
  if (reasons.length === 0) return { tripped: false, next: current };
  return {
    tripped: true,
    reason:
      `pin circuit breaker: ${reasons.join('; ')}. A throttled or mis-permissioned scan must not look like "nothing is in use": ` +
      'pins count as unknown until they come back; if the drop is real, run once with maxPinDrop 1 to accept it',
    next: baseline,
  };
}
