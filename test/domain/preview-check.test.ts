// ECR's preview against our plan: any image we keep that ECR would expire stops the install.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { planRepository } from '../../lambda/domain/planner.js';
import { checkPreview } from '../../lambda/domain/preview-check.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

function fixture() {
  const repo = new InventoryBuilder();
  const release = repo.buildx({ tags: ['v1'], pushedAt: T0 });
  const stale = repo.single({ tags: [], pushedAt: T0 });
  const fresh = repo.single({ tags: [], pushedAt: T0 + 9 * DAY });
  const plan = planRepository({
    inventory: repo.inventory(),
    config: parseConfig({ maxExpireShare: 0.5 }, 'test'),
    pins: { known: true, digests: new Map() },
    state: null,
    currentPolicyText: null,
    now: T0 + 10 * DAY,
  });
  return { plan, release, stale, fresh };
}

describe('checkPreview', () => {
  it('accepts a preview that expires what the plan expires or has pending', () => {
    // Prepare
    const { plan, stale, fresh } = fixture();

    // Act
    const verdict = checkPreview(plan, [stale, fresh], 0.5);

    // Assess
    expect(verdict).toEqual({ disagrees: false });
  });

  it('refuses, as a disagreement, a preview that expires an image the plan keeps', () => {
    // Prepare
    const { plan, release } = fixture();

    // Act
    const verdict = checkPreview(plan, [release.platforms[0]!], 0.5);

    // Assess
    expect(verdict.disagrees).toBe(true);
    expect(verdict.refusal).toMatch(/would expire 1 image\(s\) the plan keeps.*part of kept index/);
  });

  it('refuses a preview that expires more than maxExpireShare', () => {
    // Prepare
    const { plan, stale, fresh } = fixture();

    // Act
    const verdict = checkPreview(plan, [stale, fresh, 'sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64)], 0.5);

    // Assess
    expect(verdict).toEqual({ disagrees: false, refusal: expect.stringMatching(/4 of 7 images at once/) });
  });
});
