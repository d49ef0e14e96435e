// The planner with ECR's archive storage class. Sources: user guide "Archiving an image" (archived images cannot be
// pulled; 90-day minimum storage; described with imageStatus ARCHIVED), "Lifecycle policy properties in Amazon ECR"
// (a rule selects one storage class), "Examples of lifecycle policies in Amazon ECR" (archive + expire example).
import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../lambda/domain/evaluator.js';
import { buildImageGraph } from '../../lambda/domain/graph.js';
import { parseConfig } from '../../lambda/domain/config.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { type PinKnowledge, planRepository } from '../../lambda/domain/planner.js';
import { parsePolicyText } from '../../lambda/domain/policy.js';
import type { Digest, RepositoryInventory, RepositoryState } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

const NOW = T0 + 1000 * DAY;

const FOREIGN_ARCHIVE_POLICY = JSON.stringify({
  rules: [
    { rulePriority: 1, description: 'Archive images not pulled in 90 days', selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: { type: 'transition', targetStorageClass: 'archive' } },
    {
      rulePriority: 2,
      description: 'Delete images archived for more than 365 days',
      selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 },
      action: { type: 'expire' },
    },
  ],
});

function pinsOf(...digests: Digest[]): PinKnowledge {
  return { known: true, digests: new Map(digests.map((d) => [d, ['ecs:prod/api']])) };
}

function plan(inventory: RepositoryInventory, options: { pins?: PinKnowledge; policy?: string | null; state?: RepositoryState | null } = {}) {
  return planRepository({
    inventory,
    config: parseConfig({ maxExpireShare: 1 }, 'test'),
    pins: options.pins ?? pinsOf(),
    state: options.state ?? null,
    currentPolicyText: options.policy ?? null,
    now: NOW,
  });
}

describe('planRepository with archived images', () => {
  it('resolves a pin to an archived image, protects it, and warns that it cannot be pulled', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: ['v1'], pushedAt: T0 });
    Object.assign(repo.find(image), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 10 * DAY });

    // Act
    const result = plan(repo.inventory(), { pins: pinsOf(image) });

    // Assess
    expect(result.images.find((i) => i.digest === image)).toMatchObject({ decision: 'protect', reason: 'pinned by ecs:prod/api' });
    // No rule acts on the archive class, and an archived manifest cannot be read to re-tag it: no tag is planned (one
    // that cannot go in would hold the policy until a person restores the image).
    expect(result.protectTags.add).toEqual([]);
    expect(result.policy.action).toBe('install');
    expect(result.warnings).toContainEqual(expect.stringMatching(new RegExp(`pinned image ${image} \\(ecs:prod/api\\) is archived: archived images cannot be pulled`)));
  });

  it('merging a foreign archive policy shields pinned images in both storage classes, and transitions only the rest', () => {
    // Prepare: an idle pinned image in standard, an idle unpinned one, and a pinned one archived over a year ago.
    const repo = new InventoryBuilder();
    const pinnedActive = repo.single({ tags: ['v1'], pushedAt: T0 });
    const idle = repo.single({ tags: ['v2'], pushedAt: T0 });
    const pinnedArchived = repo.single({ tags: ['v0'], pushedAt: T0 });
    Object.assign(repo.find(pinnedArchived), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 400 * DAY });

    // Act
    const result = plan(repo.inventory(), { pins: pinsOf(pinnedActive, pinnedArchived), policy: FOREIGN_ARCHIVE_POLICY });

    // Assess: the archive-class protect rules are in the policy, and with the tags in place nothing pinned is touched.
    expect(result.policy.action).toBe('install');
    const desired = parsePolicyText(result.policy.desiredText);
    expect(desired.rules.filter((r) => r.selection.storageClass === 'archive' && r.description?.startsWith('ecr-janitor: protect'))).toHaveLength(2);
    const inventory = repo.inventory();
    for (const add of result.protectTags.add) inventory.images.find((i) => i.digest === add.digest)!.tags.push(add.tag);
    const outcomes = evaluatePolicy(desired, buildImageGraph(inventory), NOW);
    expect([...outcomes].map(([digest, o]) => [digest, o.action])).toEqual([[idle, 'transition']]);
    expect(result.images.find((i) => i.digest === idle)).toMatchObject({ decision: 'expire', reason: expect.stringMatching(/^archived by rule/) });
  });

  it('leaves the merged policy with its archive protection alone the next night (no reinstall every night)', () => {
    // Prepare
    const repo = new InventoryBuilder();
    repo.single({ tags: ['v1'], pushedAt: T0 });
    const first = plan(repo.inventory(), { policy: FOREIGN_ARCHIVE_POLICY });

    // Act
    const second = plan(repo.inventory(), { policy: first.policy.desiredText });

    // Assess
    expect(first.policy.action).toBe('install');
    expect(second.policy.action).toBe('unchanged');
  });

  // The image goes with its last tag only when a rule would expire it anyway; archive rules cannot expire before 90 days
  // in archive (validation), so the janitor never triggers the 90-day minimum charge of an early deletion.
  it('removes the last, lapsed protection tag of an archived image only once an archive rule would expire it', () => {
    // Prepare: the protection tag is the image's only tag; its pin lapsed long ago.
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: [], pushedAt: T0 });
    repo.tag(protectionTagFor(image), image);
    Object.assign(repo.find(image), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 30 * DAY });
    const policy = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 },
          action: { type: 'expire' },
        },
      ],
    });
    const laterImage = new InventoryBuilder();
    const later = laterImage.single({ tags: [], pushedAt: T0 });
    laterImage.tag(protectionTagFor(later), later);
    Object.assign(laterImage.find(later), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 100 * DAY });

    const state = (digest: Digest): RepositoryState => ({ repository: 'app', pinsLastSeen: { [digest]: NOW - 200 * DAY } });

    // Act
    const early = plan(repo.inventory(), { policy, state: state(image) });
    const late = plan(laterImage.inventory(), { policy, state: state(later) });

    // Assess
    expect(early.protectTags.remove).toEqual([]);
    expect(late.protectTags.remove.map((r) => r.digest)).toEqual([later]);
  });

  it('an archived untagged image is not reported as due for the untagged rule (that rule selects standard only)', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: [], pushedAt: T0 });
    Object.assign(repo.find(image), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 10 * DAY });

    // Act
    const result = plan(repo.inventory());

    // Assess
    expect(result.images.find((i) => i.digest === image)).toMatchObject({ decision: 'keep', reason: 'archived; no rule acts on it now' });
  });
});
