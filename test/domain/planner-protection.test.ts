// The planner split by job (issue 12, Build 6): typed protection reasons decide ranks and "held by its subject"
// without reading the wording, the wording in reports is unchanged, and planning leaves its inputs as they were.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { rankOrder } from '../../lambda/domain/evaluator.js';
import { buildImageGraph } from '../../lambda/domain/graph.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { planRepository } from '../../lambda/domain/planner.js';
import { reusableOutcomes } from '../../lambda/domain/planner-protection.js';
import { renderPolicy } from '../../lambda/domain/policy.js';
import { heldBySubject, protectionRank, protectionText, type ProtectionReason } from '../../lambda/domain/protection-reasons.js';
import type { Digest, RepositoryInventory, RuleOutcome } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

const NOW = T0 + 30 * DAY;

describe('typed protection reasons', () => {
  it('rank pins and their subjects first, referrers of kept images next, images we are unsure of last', () => {
    // Prepare
    const reasons: ProtectionReason[] = [
      { kind: 'unsure', problems: ['unknown media type'] },
      { kind: 'referrer-of-kept', subject: 'sha256:s' },
      { kind: 'pinned', sources: ['ecs:prod/api'] },
      { kind: 'pin-in-grace', daysSinceSeen: 2, graceDays: 7 },
      { kind: 'subject-of-protected-referrer', referrer: 'sha256:r' },
      { kind: 'protection-while-discovery-failed' },
    ];

    // Act
    const ranks = reasons.map(protectionRank);

    // Assess
    expect(ranks).toEqual([2, 1, 0, 0, 0, 0]);
  });

  it('keep the wording reports had before they were typed', () => {
    // Act
    const texts = [
      protectionText({ kind: 'pinned', sources: ['ecs:prod/api', 'config'] }),
      protectionText({ kind: 'pin-in-grace', daysSinceSeen: 3, graceDays: 7 }),
      protectionText({ kind: 'referrer-of-kept', subject: 'sha256:abc' }),
      protectionText({ kind: 'subject-of-protected-referrer', referrer: 'sha256:def' }),
    ];

    // Assess
    expect(texts).toEqual([
      'pinned by ecs:prod/api, config',
      'pin last seen 3 day(s) ago (grace 7 days)',
      'OCI referrer of kept image sha256:abc',
      'subject of protected referrer sha256:def',
    ]);
    expect(heldBySubject({ kind: 'referrer-of-kept', subject: 'sha256:abc' })).toBe(true);
    expect(heldBySubject({ kind: 'pinned', sources: ['OCI referrer of kept image'] })).toBe(false);
  });
});

describe('planner with typed reasons', () => {
  it('adds the pin\'s protection tag before an unsure image\'s when maxTagAdditionsPerRun cuts the list', () => {
    // Prepare: an image of unknown type the ci-* rule would expire (needs a tag), and a pinned image it would expire.
    const repo = new InventoryBuilder();
    const unsure = repo.unknown({ tags: ['ci-1'], pushedAt: T0 });
    const pinned = repo.single({ tags: ['ci-2'], pushedAt: T0 + DAY });
    for (let n = 3; n <= 6; n++) repo.single({ tags: [`ci-${n}`], pushedAt: T0 + n * DAY });
    const config = parseConfig({ maxExpireShare: 1, maxTagAdditionsPerRun: 1, ciTags: [{ pattern: 'ci-*', keep: 2 }] }, 'test');

    // Act
    const plan = planRepository({
      inventory: repo.inventory(),
      config,
      pins: { known: true, digests: new Map([[pinned, ['ecs:prod/api']]]) },
      state: null,
      currentPolicyText: null,
      now: NOW,
    });

    // Assess
    expect(plan.protectTags.add).toEqual([{ digest: pinned, tag: protectionTagFor(pinned), reason: 'pinned by ecs:prod/api' }]);
    expect(plan.images.find((i) => i.digest === unsure)).toMatchObject({ decision: 'protect' });
    expect(plan.policy.action).toBe('refuse');
    expect(plan.policy.reason).toContain('beyond maxTagAdditionsPerRun');
  });

  it('marks a referrer kept for its subject as held by that subject, and a pinned referrer as not', () => {
    // Prepare: a kept tagged image with a signature, and a pinned signature of an untagged image.
    const repo = new InventoryBuilder();
    const kept = repo.single({ tags: ['v1'], pushedAt: T0 });
    const signature = repo.referrer({ subject: kept, pushedAt: T0 });
    const other = repo.single({ tags: [], pushedAt: T0 });
    const pinnedSignature = repo.referrer({ subject: other, pushedAt: T0 });

    // Act
    const plan = planRepository({
      inventory: repo.inventory(),
      config: parseConfig({ maxExpireShare: 1 }, 'test'),
      pins: { known: true, digests: new Map([[pinnedSignature, ['config']]]) },
      state: null,
      currentPolicyText: null,
      now: NOW,
    });

    // Assess
    const decision = (digest: string) => plan.images.find((i) => i.digest === digest);
    expect(decision(signature)).toMatchObject({ decision: 'protect', reason: `OCI referrer of kept image ${kept}`, heldBy: [kept] });
    expect(decision(pinnedSignature)).toMatchObject({ decision: 'protect', reason: 'pinned by config' });
    expect(decision(pinnedSignature)?.heldBy).toBeUndefined();
    expect(decision(other)).toMatchObject({ decision: 'protect', reason: `subject of protected referrer ${pinnedSignature}` });
  });

  it('leaves the inventory as it was and plans the same twice (tags are applied to its own nodes, not the records)', () => {
    // Prepare: pins and referrers, so protection tags go on and the final tags differ from the inventory's.
    const repo = new InventoryBuilder();
    const builds = Array.from({ length: 6 }, (_, n) => repo.buildx({ tags: [`ci-${n}`], pushedAt: T0 + n * DAY }));
    repo.referrer({ subject: builds[5]!.index, pushedAt: T0 + 5 * DAY });
    const inventory: RepositoryInventory = repo.inventory();
    const before = structuredClone(inventory);
    const input = {
      inventory,
      config: parseConfig({ maxExpireShare: 1, ciTags: [{ pattern: 'ci-*', keep: 2 }] }, 'test'),
      pins: { known: true as const, digests: new Map([[builds[0]!.index, ['ecs:prod/api']]]) },
      state: null,
      currentPolicyText: null,
      now: NOW,
    };

    // Act
    const first = planRepository(input);
    const second = planRepository(input);

    // Assess
    expect(first.protectTags.add.map((a) => a.digest)).toContain(builds[0]!.index);
    expect(first.images.find((i) => i.digest === builds[0]!.index)?.tags).toContain(protectionTagFor(builds[0]!.index));
    expect(inventory).toEqual(before);
    expect(second).toEqual(first);
  });
});

describe('reusableOutcomes', () => {
  it('reuses the first evaluation only when every image the rules rank keeps its tags and the policy is the same', () => {
    // Prepare: a buildx build (its platform children are not ranked while the index is present) and a single image.
    const repo = new InventoryBuilder();
    const build = repo.buildx({ tags: ['ci-1'], pushedAt: T0 });
    const single = repo.single({ tags: ['ci-2'], pushedAt: T0 + DAY });
    const graph = buildImageGraph(repo.inventory());
    const policy = renderPolicy(parseConfig({}, 'test'));
    const outcomes = new Map<Digest, RuleOutcome>([[single, { rulePriority: 3, action: 'expire' }]]);
    const first = { policy, tags: new Map([[single, ['ci-2', protectionTagFor(single)]]]), outcomes, soon: outcomes };
    const child = build.platforms[0]!;

    // Act
    const childTagged = reusableOutcomes(first, policy, new Map([[single, ['ci-2', protectionTagFor(single)]], [child, [protectionTagFor(child)]]]), graph);
    const rankedDiffers = reusableOutcomes(first, policy, new Map(), graph);
    const otherPolicy = reusableOutcomes(first, { rules: [...policy.rules] }, first.tags, graph);

    // Assess
    expect(rankOrder(graph)).not.toContain(child);
    expect(rankOrder(graph)).toContain(single);
    expect(childTagged).toBe(outcomes);
    expect(rankedDiffers).toBeUndefined();
    expect(otherPolicy).toBeUndefined();
  });
});

describe('decision order', () => {
  it('lists images pushed at the same instant in String#localeCompare order of their digests, odd digests included', () => {
    // Prepare: real sha256 digests and hand-written ones with capitals and punctuation, all pushed at T0.
    const repo = new InventoryBuilder();
    for (let n = 0; n < 20; n++) repo.single({ tags: [`v${n}`], pushedAt: T0 });
    const inventory = repo.inventory();
    const odd = ['sha256:B1', 'sha256:a2', 'sha256:A3', 'sha256:b-4', 'sha256:b4', 'sha256:0f', 'sha256:0F'];
    for (const digest of odd) inventory.images.push({ digest, tags: [`t${digest}`], pushedAt: T0, sizeBytes: 1, manifestMediaType: 'application/vnd.oci.image.manifest.v1+json' });

    // Act
    const plan = planRepository({ inventory, config: parseConfig({}, 'test'), pins: { known: true, digests: new Map() }, state: null, currentPolicyText: null, now: T0 + DAY });

    // Assess
    const digests = plan.images.map((i) => i.digest);
    expect(digests).toEqual([...digests].sort((a, b) => a.localeCompare(b)));
    expect(digests).toHaveLength(27);
  });
});
