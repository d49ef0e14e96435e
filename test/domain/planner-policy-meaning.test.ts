// The planner compares what a policy means, not its bytes: an ECR that hands the stored text back normalised (keys
// reordered, whitespace gone, rules sorted, defaults explicit) must not make the janitor reinstall every night. And it
// removes only protection tags the inventory shows on the digest they name.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { planRepository } from '../../lambda/domain/planner.js';
import { policyToText, renderPolicy } from '../../lambda/domain/policy.js';
import type { RepositoryInventory, RepositoryState } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

const CONFIG = parseConfig({ maxExpireShare: 1 }, 'test');

/** Keys sorted at every level, as a normalising store might return them. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}

function plan(inventory: RepositoryInventory, currentPolicyText: string | null, state: RepositoryState | null = null) {
  return planRepository({ inventory, config: CONFIG, pins: { known: true, digests: new Map() }, state, currentPolicyText, now: T0 + 30 * DAY });
}

describe('planRepository: policy meaning', () => {
  it('leaves a policy alone that ECR handed back normalised', () => {
    // Prepare: our rules, keys sorted, rules in reverse order, storageClass made explicit, no whitespace.
    const ours = JSON.parse(policyToText(renderPolicy(CONFIG))) as { rules: { selection: Record<string, unknown> }[] };
    const normalised = JSON.stringify(sortedKeys({ rules: [...ours.rules].reverse().map((r) => ({ ...r, selection: { ...r.selection, storageClass: 'standard' } })) }));

    // Act
    const result = plan(new InventoryBuilder().inventory(), normalised);

    // Assess
    expect(normalised).not.toBe(policyToText(renderPolicy(CONFIG)));
    expect(result.policy).toMatchObject({ action: 'unchanged', reason: 'the installed policy matches the config' });
  });

  it('repairs a policy whose meaning differs, however it is formatted', () => {
    // Prepare: one countNumber changed.
    const drifted = JSON.parse(policyToText(renderPolicy(CONFIG))) as { rules: { selection: { countNumber: number } }[] };
    drifted.rules.at(-1)!.selection.countNumber += 1;

    // Act
    const result = plan(new InventoryBuilder().inventory(), JSON.stringify(sortedKeys(drifted), null, 1));

    // Assess
    expect(result.policy.action).toBe('install');
  });
});

describe('planRepository: a policy ECR would refuse', () => {
  // "Lifecycle policy properties in Amazon ECR": storageClass archive goes with sinceImageTransitioned, at least 90 days.
  it('is refused before it is sent, in the words ECR would use', () => {
    // Prepare: a foreign rule ECR itself would not have taken, merged with ours.
    const foreign = JSON.stringify({
      rules: [{ rulePriority: 1, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 30 }, action: { type: 'expire' } }],
    });

    // Act
    const result = plan(new InventoryBuilder().inventory(), foreign);

    // Assess
    expect(result.policy.action).toBe('refuse');
    expect(result.policy.reason).toMatch(/not valid ECR \(Lifecycle policy validation failure: rules\[\d+\]\.selection\.countNumber: sinceImageTransitioned must be at least 90 days/);
  });
});

describe('planRepository: removing protection tags', () => {
  it('never removes a keep-sha256 tag that names another digest than the image carrying it', () => {
    // Prepare: a lapsed pin's own tag, and a stray tag naming some other digest.
    const repo = new InventoryBuilder();
    const lapsed = repo.single({ tags: ['v1'], pushedAt: T0 });
    const other = repo.single({ tags: ['v2'], pushedAt: T0 });
    repo.tag(protectionTagFor(lapsed), lapsed);
    repo.tag(protectionTagFor(lapsed).replace(/.$/, (c) => (c === '0' ? '1' : '0')), other);
    const state: RepositoryState = { repository: 'app', pinsLastSeen: { [lapsed]: T0 } };

    // Act
    const result = plan(repo.inventory(), null, state);

    // Assess
    expect(result.protectTags.remove.map((r) => [r.digest, r.tag])).toEqual([[lapsed, protectionTagFor(lapsed)]]);
  });
});
