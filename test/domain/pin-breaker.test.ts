// The pin circuit breaker (lambda/domain/pin-breaker.ts): a scan that suddenly sees far fewer pins fails closed.
import { describe, expect, it } from 'vitest';
import { checkPinBreaker, type PinBaseline, pinSnapshot } from '../../lambda/domain/pin-breaker.js';
import type { PinReference } from '../../lambda/domain/types.js';

const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const T = Date.UTC(2026, 0, 1);

function baseline(pins: number, sources: Record<string, number> = { ecs: pins }): PinBaseline {
  return { at: T, digests: Array.from({ length: pins }, (_, i) => d(i)), sources };
}

const everything = new Set(Array.from({ length: 100 }, (_, i) => d(i)));

describe('checkPinBreaker', () => {
  it('trips when the pinned digests shrink by more than maxPinDrop, keeping the old baseline', () => {
    // Prepare
    const before = baseline(10);
    const now = { at: T + 1, digests: [d(0), d(1), d(2), d(3)], sources: { ecs: 4 } };

    // Act
    const verdict = checkPinBreaker(before, now, everything, 0.5);

    // Assess
    expect(verdict).toMatchObject({ tripped: true, reason: expect.stringMatching(/fell from 10 to 4 .*drop of 60%, more than maxPinDrop 0\.5/), next: before });
  });

  it('accepts a drop within maxPinDrop and moves the baseline', () => {
    // Prepare
    const now = { at: T + 1, digests: [d(0), d(1), d(2), d(3), d(4)], sources: { ecs: 5 } };

    // Act
    const verdict = checkPinBreaker(baseline(10), now, everything, 0.5);

    // Assess
    expect(verdict).toEqual({ tripped: false, next: now });
  });

  it('trips when a source that named several images names none, even with other pins left', () => {
    // Prepare
    const before = { at: T, digests: [d(0), d(1), d(2)], sources: { ecs: 2, lambda: 3 } };
    const now = { at: T + 1, digests: [d(0), d(1)], sources: { ecs: 2 } };

    // Act
    const verdict = checkPinBreaker(before, now, everything, 0.5);

    // Assess
    expect(verdict).toMatchObject({ tripped: true, reason: expect.stringMatching(/pin source lambda named 3 image reference\(s\) here and now names none/) });
  });

  it('does not count pinned images that left the repository, nor small repositories, nor maxPinDrop 1', () => {
    // Prepare
    const gone = new Set([d(8), d(9)]);
    const present = new Set([...everything].filter((x) => !gone.has(x)));
    const now = { at: T + 1, digests: [d(0), d(1), d(2), d(3)], sources: { ecs: 4 } };

    // Act
    const deleted = checkPinBreaker(baseline(6), now, new Set([d(0), d(1), d(2), d(3)]), 0.5);
    const small = checkPinBreaker(baseline(3, { ecs: 2 }), { at: T + 1, digests: [], sources: {} }, present, 0.5);
    const off = checkPinBreaker(baseline(10), { at: T + 1, digests: [], sources: {} }, present, 1);

    // Assess
    expect(deleted.tripped).toBe(false);
    expect(small.tripped).toBe(false);
    expect(off.tripped).toBe(false);
  });

  it('has nothing to compare on the first run', () => {
    // Act
    const verdict = checkPinBreaker(undefined, { at: T, digests: [], sources: {} }, everything, 0.5);

    // Assess
    expect(verdict.tripped).toBe(false);
  });
});

describe('pinSnapshot', () => {
  it('counts references to the repository per source kind', () => {
    // Prepare
    const refs: PinReference[] = [
      { repository: 'app', tag: '1', source: 'ecs:prod/api' },
      { repository: 'app', tag: '2', source: 'ecs:prod/web' },
      { repository: 'app', tag: '2', source: 'lambda:fn' },
      { repository: 'other', tag: '1', source: 'ecs:prod/x' },
    ];

    // Act
    const snapshot = pinSnapshot(refs, 'app', [d(2), d(1), d(1)], T);

    // Assess
    expect(snapshot).toEqual({ at: T, digests: [d(1), d(2)], sources: { ecs: 2, lambda: 1 } });
  });
});
