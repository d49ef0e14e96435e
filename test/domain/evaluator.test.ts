import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePolicy, evaluatePolicyAt } from '../../lambda/domain/evaluator.js';
import { buildImageGraph } from '../../lambda/domain/graph.js';
import type { Digest, LifecyclePolicy, LifecycleRule, RepositoryInventory } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, sha256, T0 } from '../support/inventory-builder.js';

const NOW = T0;

function tagged(rulePriority: number, tagPatternList: string[], countNumber: number): LifecycleRule {
  return { rulePriority, selection: { tagStatus: 'tagged', tagPatternList, countType: 'imageCountMoreThan', countNumber }, action: { type: 'expire' } };
}

function untaggedOlderThan(rulePriority: number, days: number): LifecycleRule {
  return { rulePriority, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: days }, action: { type: 'expire' } };
}

function taggedOlderThan(rulePriority: number, tagPatternList: string[], days: number): LifecycleRule {
  return { rulePriority, selection: { tagStatus: 'tagged', tagPatternList, countType: 'sinceImagePushed', countUnit: 'days', countNumber: days }, action: { type: 'expire' } };
}

/** The protection idiom: the rule selects the pattern with an age no image reaches. */
function protect(rulePriority: number, pattern: string): LifecycleRule {
  return taggedOlderThan(rulePriority, [pattern], 36_500);
}

function anyCount(rulePriority: number, countNumber: number): LifecycleRule {
  return { rulePriority, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber }, action: { type: 'expire' } };
}

function anyOlderThan(rulePriority: number, days: number): LifecycleRule {
  return { rulePriority, selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: days }, action: { type: 'expire' } };
}

/** Digest -> priority of the rule that expires it, for what ECR would expire in `inventory` at `now`. */
function expire(rules: LifecycleRule[], inventory: RepositoryInventory, now = NOW): Record<Digest, number> {
  const outcomes = evaluatePolicy({ rules }, buildImageGraph(inventory), now);
  return Object.fromEntries([...outcomes].map(([digest, o]) => [digest, o.rulePriority]));
}

function without(inventory: RepositoryInventory, gone: Digest[]): RepositoryInventory {
  const manifests = { ...inventory.manifests };
  for (const digest of gone) delete manifests[digest];
  return { ...inventory, images: inventory.images.filter((i) => !gone.includes(i.digest)), manifests };
}

describe('evaluatePolicy: ECR user guide examples', () => {
  it('filtering on multiple rules: only image A expires, by rule 1', () => {
    // Prepare: the user guide's repository and policy
    const repo = new InventoryBuilder();
    const a = repo.single({ tags: ['beta-1', 'prod-1'], pushedAt: NOW - 10 * DAY });
    const b = repo.single({ tags: ['beta-2', 'prod-2'], pushedAt: NOW - 9 * DAY });
    const c = repo.single({ tags: ['beta-3'], pushedAt: NOW - 8 * DAY });
    const rules = [tagged(1, ['prod*'], 1), tagged(2, ['beta*'], 1)];

    // Act
    const expired = expire(rules, repo.inventory());

    // Assess: rule 2 would take A and B, but A is already rule 1's and B matched rule 1's tags
    expect(expired).toEqual({ [a]: 1 });
    expect(expired[b]).toBeUndefined();
    expect(expired[c]).toBeUndefined();
  });

  it('reports the action of the rule that selects the image', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const old = repo.single({ tags: ['v1'], pushedAt: NOW - 100 * DAY });
    const rule: LifecycleRule = {
      rulePriority: 1,
      selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 },
      action: { type: 'transition', targetStorageClass: 'archive' },
    };

    // Act
    const outcomes = evaluatePolicy({ rules: [rule] }, buildImageGraph(repo.inventory()), NOW);

    // Assess
    expect([...outcomes]).toEqual([[old, { rulePriority: 1, action: 'transition' }]]);
  });
});

describe('evaluatePolicy: priorities', () => {
  it('a higher-priority tag match shields an image from a lower rule, even when the higher rule expires nothing', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const prod = repo.single({ tags: ['prod-1', 'v1'], pushedAt: NOW - 400 * DAY });
    const plain = repo.single({ tags: ['v2'], pushedAt: NOW - 300 * DAY });
    const rules = [tagged(1, ['prod-*'], 10), anyOlderThan(2, 30)];

    // Act
    const expired = expire(rules, repo.inventory());

    // Assess
    expect(expired).toEqual({ [plain]: 2 });
    expect(expired[prod]).toBeUndefined();
  });

  it('the protection idiom: a protect rule with an age never reached shields from every later rule', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const cache = repo.cache({ pushedAt: NOW - 900 * DAY });
    const pinned = repo.single({ tags: ['ci-1', 'keep-sha256-x'], pushedAt: NOW - 800 * DAY });
    const ci = Array.from({ length: 3 }, (_, i) => repo.single({ tags: [`ci-${i + 2}`], pushedAt: NOW - (700 - i) * DAY }));
    const rules = [protect(1, 'buildcache'), protect(2, 'keep-*'), tagged(3, ['ci-*'], 1), anyCount(4, 1)];

    // Act
    const expired = expire(rules, repo.inventory());

    // Assess: pinned still counts in ci-* ranking (it is the oldest) but cannot be expired by rule 3
    expect(expired).toEqual({ [ci[0]!]: 3, [ci[1]!]: 3 });
    expect(expired[cache]).toBeUndefined();
    expect(expired[pinned]).toBeUndefined();
  });

  it.each([
    { order: 'in priority order', reverse: false },
    { order: 'listed in reverse', reverse: true },
  ])('expires each image by at most one rule, the lowest priority number winning (rules $order)', ({ reverse }) => {
    // Prepare
    const repo = new InventoryBuilder();
    const ci = repo.single({ tags: ['ci-1'], pushedAt: NOW - 50 * DAY });
    const loose = repo.single({ tags: ['x'], pushedAt: NOW - 50 * DAY });
    const dangling = repo.single({ tags: [], pushedAt: NOW - 50 * DAY });
    const rules = [taggedOlderThan(2, ['ci-*'], 1), untaggedOlderThan(5, 1), anyOlderThan(9, 1)];
    if (reverse) rules.reverse();

    // Act
    const expired = expire(rules, repo.inventory());

    // Assess
    expect(expired).toEqual({ [ci]: 2, [dangling]: 5, [loose]: 9 });
  });
});

describe('evaluatePolicy: count and age', () => {
  it('imageCountMoreThan expires the oldest by push time, whatever the input order', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const ages = [5, 1, 9, 3, 7]; // days ago
    const byAge = Object.fromEntries(ages.map((age) => [age, repo.single({ tags: [`ci-${age}`], pushedAt: NOW - age * DAY })]));
    const rules = [tagged(1, ['ci-*'], 2)];

    // Act
    const expired = expire(rules, repo.inventory());

    // Assess: the 2 newest (1 and 3 days old) stay
    expect(expired).toEqual({ [byAge[5]!]: 1, [byAge[7]!]: 1, [byAge[9]!]: 1 });
  });

  it('imageCountMoreThan counts only the images the rule selects', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const oldCi = repo.single({ tags: ['ci-1'], pushedAt: NOW - 10 * DAY });
    repo.single({ tags: ['ci-2'], pushedAt: NOW - 5 * DAY });
    repo.single({ tags: ['release-1'], pushedAt: NOW - 1 * DAY });
    repo.single({ tags: ['release-2'], pushedAt: NOW });

    // Act
    const expired = expire([tagged(1, ['ci-*'], 1)], repo.inventory());

    // Assess
    expect(expired).toEqual({ [oldCi]: 1 });
  });

  it.each([
    { name: 'N days - 1 ms', age: 7 * DAY - 1, expired: false },
    { name: 'exactly N days', age: 7 * DAY, expired: false },
    { name: 'N days + 1 ms', age: 7 * DAY + 1, expired: true },
    { name: 'N + 1 days', age: 8 * DAY, expired: true },
  ])('sinceImagePushed 7 days, image pushed $name ago: expired = $expired', ({ age, expired }) => {
    // Prepare
    const repo = new InventoryBuilder();
    const image = repo.single({ tags: [], pushedAt: NOW - age });

    // Act
    const result = expire([untaggedOlderThan(1, 7)], repo.inventory());

    // Assess
    expect(image in result).toBe(expired);
  });

  it('tagPrefixList selects tags by prefix, several prefixes being AND', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const release = repo.single({ tags: ['release-1'], pushedAt: NOW - 20 * DAY });
    const relBoth = repo.single({ tags: ['rel-2', 'prod'], pushedAt: NOW - 20 * DAY });
    const other = repo.single({ tags: ['v3-rel'], pushedAt: NOW - 20 * DAY });
    const prefix = (rulePriority: number, tagPrefixList: string[]): LifecycleRule => ({
      rulePriority,
      selection: { tagStatus: 'tagged', tagPrefixList, countType: 'sinceImagePushed', countUnit: 'days', countNumber: 10 },
      action: { type: 'expire' },
    });

    // Act
    const single = expire([prefix(1, ['rel'])], repo.inventory());
    const both = expire([prefix(1, ['rel', 'prod'])], repo.inventory());

    // Assess
    expect(single).toEqual({ [release]: 1, [relBoth]: 1 });
    expect(both).toEqual({ [relBoth]: 1 });
    expect(other in single).toBe(false);
  });

  it('an "any" rule ranks tagged and untagged images together', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const oldest = repo.single({ tags: ['v1'], pushedAt: NOW - 4 * DAY });
    const older = repo.single({ tags: [], pushedAt: NOW - 3 * DAY });
    repo.single({ tags: ['v3'], pushedAt: NOW - 2 * DAY });
    repo.single({ tags: [], pushedAt: NOW - 1 * DAY });

    // Act
    const expired = expire([anyCount(1, 2)], repo.inventory());

    // Assess
    expect(expired).toEqual({ [oldest]: 1, [older]: 1 });
  });

  it.each([
    { name: 'sinceImageTransitioned on archive', selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 1 } },
    { name: 'untagged in archive', selection: { tagStatus: 'untagged', storageClass: 'archive', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 } },
    { name: 'count on archive', selection: { tagStatus: 'tagged', tagPatternList: ['*'], storageClass: 'archive', countType: 'imageCountMoreThan', countNumber: 1 } },
  ] satisfies { name: string; selection: LifecycleRule['selection'] }[])('a storageClass archive rule ($name) selects nothing and shields nothing', ({ selection }) => {
    // Prepare: DescribeImages lists ACTIVE (standard) images only
    const repo = new InventoryBuilder();
    const old = repo.single({ tags: ['v1'], pushedAt: NOW - 500 * DAY });
    const dangling = repo.single({ tags: [], pushedAt: NOW - 500 * DAY });
    const archiveRule: LifecycleRule = { rulePriority: 1, selection, action: { type: 'expire' } };

    // Act
    const alone = expire([archiveRule], repo.inventory());
    const withStandard = expire([archiveRule, anyOlderThan(2, 30)], repo.inventory());

    // Assess
    expect(alone).toEqual({});
    expect(withStandard).toEqual({ [old]: 2, [dangling]: 2 });
  });
});

describe('evaluatePolicy: images held by other images', () => {
  it.each([
    { name: 'untagged older than 1 day', rules: [untaggedOlderThan(1, 1)], indexExpired: true, childrenExpiredAfter: 4 },
    { name: 'any older than 1 day', rules: [anyOlderThan(1, 1)], indexExpired: true, childrenExpiredAfter: 4 },
    { name: 'any beyond the newest 1', rules: [anyCount(1, 1)], indexExpired: false, childrenExpiredAfter: 3 },
    { name: 'any beyond the newest 2', rules: [anyCount(1, 2)], indexExpired: false, childrenExpiredAfter: 2 },
  ])('never expires children of a present index ($name), and ranks them once it is gone', ({ rules, indexExpired, childrenExpiredAfter }) => {
    // Prepare: an old untagged buildx build; its children are untagged too
    const repo = new InventoryBuilder();
    const build = repo.buildx({ tags: [], pushedAt: NOW - 100 * DAY });
    const children = [...build.platforms, ...build.attestations];
    const present = repo.inventory();

    // Act
    const whilePresent = expire(rules, present);
    const afterIndex = expire(rules, without(present, [build.index]));

    // Assess
    for (const child of children) expect(child in whilePresent).toBe(false);
    expect(Object.keys(whilePresent)).toEqual(indexExpired ? [build.index] : []);
    expect(Object.keys(afterIndex)).toHaveLength(childrenExpiredAfter);
    for (const digest of Object.keys(afterIndex)) expect(children).toContain(digest);
  });

  it('children of a tagged, kept index do not take slots in a count ranking', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const kept = repo.buildx({ tags: ['v1'], pushedAt: NOW - 1 * DAY });
    const old = repo.single({ tags: ['v0'], pushedAt: NOW - 10 * DAY });
    const older = repo.single({ tags: ['v-1'], pushedAt: NOW - 20 * DAY });

    // Act
    const expired = expire([anyCount(1, 2)], repo.inventory());

    // Assess: ranking is [v1 index, v0, v-1]; the 4 children are not ranked
    expect(expired).toEqual({ [older]: 1 });
    expect(kept.index in expired || old in expired).toBe(false);
  });

  it('once the index is gone, its children are ranked oldest-first with the rest', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const build = repo.buildx({ tags: [], pushedAt: NOW - 50 * DAY, attestations: false });
    const newer = repo.single({ tags: [], pushedAt: NOW - 1 * DAY });
    const inventory = without(repo.inventory(), [build.index]);

    // Act
    const expired = expire([anyCount(1, 1)], inventory);

    // Assess
    expect(Object.keys(expired).sort()).toEqual([...build.platforms].sort());
    expect(newer in expired).toBe(false);
  });

  it('a child listed by two indexes is held while either is present', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const first = repo.buildx({ tags: [], pushedAt: NOW - 100 * DAY, platforms: 1, attestations: false });
    const text = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: first.platforms[0] }] });
    const inventory = repo.inventory();
    inventory.images.push({ digest: sha256(text), tags: ['v1'], pushedAt: NOW, sizeBytes: 1, manifestMediaType: 'application/vnd.oci.image.index.v1+json' });
    inventory.manifests[sha256(text)] = text;

    // Act
    const bothPresent = expire([untaggedOlderThan(1, 1)], inventory);
    const firstGone = expire([untaggedOlderThan(1, 1)], without(inventory, [first.index]));

    // Assess
    expect(bothPresent).toEqual({ [first.index]: 1 });
    expect(firstGone).toEqual({});
  });

  it.each([
    { name: 'present', subjectPresent: true, expired: false },
    { name: 'absent', subjectPresent: false, expired: true },
  ])('a referrer whose subject is $name: expired = $expired', ({ subjectPresent, expired }) => {
    // Prepare: subject tagged and young; referrer untagged and old
    const repo = new InventoryBuilder();
    const subject = subjectPresent ? repo.single({ tags: ['v1'], pushedAt: NOW }) : sha256('deleted subject');
    const sbom = repo.referrer({ subject, pushedAt: NOW - 30 * DAY });

    // Act
    const result = expire([untaggedOlderThan(1, 1), anyOlderThan(2, 1)], repo.inventory());

    // Assess
    expect(sbom in result).toBe(expired);
    if (expired) expect(result[sbom]).toBe(1);
  });

  it('a referrer of an index child is held while the child is present', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const build = repo.buildx({ tags: ['v1'], pushedAt: NOW - 10 * DAY });
    const signature = repo.referrer({ subject: build.platforms[0]!, pushedAt: NOW - 10 * DAY });

    // Act
    const expired = expire([untaggedOlderThan(1, 1)], repo.inventory());

    // Assess
    expect(expired).toEqual({});
    expect(signature in expired).toBe(false);
  });
});

// Archive storage class. Sources: user guide "Lifecycle policy properties in Amazon ECR" (storageClass, countType
// sinceImagePulled / sinceImageTransitioned), "Examples of lifecycle policies in Amazon ECR" (archive + expire),
// "Archiving an image" (archived images are described with imageStatus ARCHIVED, restored by UpdateImageStorageClass).
describe('evaluatePolicy: archive storage class', () => {
  const archiveNotPulled = (rulePriority: number, days: number): LifecycleRule => ({
    rulePriority,
    selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: days },
    action: { type: 'transition', targetStorageClass: 'archive' },
  });
  const expireArchived = (rulePriority: number, days: number, tagPatternList?: string[]): LifecycleRule => ({
    rulePriority,
    selection: { tagStatus: tagPatternList ? 'tagged' : 'any', ...(tagPatternList ? { tagPatternList } : {}), storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: days },
    action: { type: 'expire' },
  });
  const outcomesOf = (rules: LifecycleRule[], inventory: RepositoryInventory, now = NOW) =>
    Object.fromEntries([...evaluatePolicy({ rules }, buildImageGraph(inventory), now)].map(([digest, o]) => [digest, `${o.action}:${o.rulePriority}`]));

  it("the user guide's example: archives what was not pulled for 90 days, expires what was archived over 365 days ago", () => {
    // Prepare
    const repo = new InventoryBuilder();
    const idle = repo.single({ tags: ['v1'], pushedAt: NOW - 200 * DAY });
    const used = repo.single({ tags: ['v2'], pushedAt: NOW - 200 * DAY });
    repo.find(used).lastPulledAt = NOW - 10 * DAY;
    const longArchived = repo.single({ tags: ['v0'], pushedAt: NOW - 900 * DAY });
    Object.assign(repo.find(longArchived), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 400 * DAY });
    const recentlyArchived = repo.single({ tags: ['v00'], pushedAt: NOW - 900 * DAY });
    Object.assign(repo.find(recentlyArchived), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 100 * DAY });

    // Act
    const outcomes = outcomesOf([archiveNotPulled(1, 90), expireArchived(2, 365)], repo.inventory());

    // Assess
    expect(outcomes).toEqual({ [idle]: 'transition:1', [longArchived]: 'expire:2' });
  });

  it('a rule of one storage class never acts on an image of the other, and an image being restored is in neither', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const archived = repo.single({ tags: [], pushedAt: NOW - 400 * DAY });
    Object.assign(repo.find(archived), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 300 * DAY });
    const restoring = repo.single({ tags: [], pushedAt: NOW - 400 * DAY });
    Object.assign(repo.find(restoring), { imageStatus: 'ACTIVATING', lastArchivedAt: NOW - 300 * DAY });

    // Act
    const outcomes = outcomesOf([untaggedOlderThan(1, 1), expireArchived(2, 90)], repo.inventory());

    // Assess
    expect(outcomes).toEqual({ [archived]: 'expire:2' });
  });

  it('after a restore, ages in standard count from lastActivatedAt instead of the push', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const restored = repo.single({ tags: [], pushedAt: NOW - 400 * DAY });
    Object.assign(repo.find(restored), { imageStatus: 'ACTIVE', lastArchivedAt: NOW - 300 * DAY, lastActivatedAt: NOW - 2 * DAY, lastPulledAt: NOW - 350 * DAY });

    // Act
    const byPush = outcomesOf([untaggedOlderThan(1, 3)], repo.inventory());
    const byPull = outcomesOf([archiveNotPulled(1, 3)], repo.inventory());
    const later = outcomesOf([untaggedOlderThan(1, 3)], repo.inventory(), NOW + 2 * DAY);

    // Assess
    expect(byPush).toEqual({});
    expect(byPull).toEqual({});
    expect(later).toEqual({ [restored]: 'expire:1' });
  });

  it('a higher-priority tag match shields from a lower transition rule, in the same storage class only', () => {
    // Prepare: a protected image in standard, and one in archive.
    const repo = new InventoryBuilder();
    repo.single({ tags: ['keep-a'], pushedAt: NOW - 200 * DAY }); // idle, but shielded from the transition
    const pinnedArchived = repo.single({ tags: ['keep-b'], pushedAt: NOW - 900 * DAY });
    Object.assign(repo.find(pinnedArchived), { imageStatus: 'ARCHIVED', lastArchivedAt: NOW - 400 * DAY });

    // Act
    const standardShieldOnly = outcomesOf([protect(1, 'keep-*'), archiveNotPulled(2, 90), expireArchived(3, 365)], repo.inventory());
    const bothShields = outcomesOf([protect(1, 'keep-*'), expireArchived(2, 36_500, ['keep-*']), archiveNotPulled(3, 90), expireArchived(4, 365)], repo.inventory());

    // Assess
    expect(standardShieldOnly).toEqual({ [pinnedArchived]: 'expire:3' });
    expect(bothShields).toEqual({});
  });

  it('an archived image without lastArchivedAt is never selected by time in archive (unsure: kept)', () => {
    // Prepare
    const repo = new InventoryBuilder();
    const archived = repo.single({ tags: [], pushedAt: NOW - 900 * DAY });
    repo.find(archived).imageStatus = 'ARCHIVED';

    // Act / Assess
    expect(outcomesOf([expireArchived(1, 90)], repo.inventory())).toEqual({});
  });
});

describe('evaluatePolicy: invariants (property)', () => {
  it('never expires a held image, and at most one rule acts on each image, the lowest-numbered that selects it', () => {
    // Prepare
    const imageSpec = fc.record({
      kind: fc.constantFrom('single', 'buildx', 'referrer'),
      tags: fc.uniqueArray(fc.constantFrom('ci-1', 'ci-2', 'prod-1', 'v1', 'keep-x', 'buildcache'), { maxLength: 2 }),
      age: fc.integer({ min: 0, max: 60 }),
    });
    const ruleSpec = fc.oneof(
      fc.record({ p: fc.constantFrom('ci-*', 'prod-*', 'v*', 'keep-*', '*'), n: fc.integer({ min: 1, max: 3 }) }).map(({ p, n }) => ({ kind: 'tagged' as const, p, n })),
      fc.integer({ min: 1, max: 30 }).map((n) => ({ kind: 'untagged' as const, n })),
      fc.integer({ min: 1, max: 5 }).map((n) => ({ kind: 'any' as const, n })),
    );

    // Act / Assess
    fc.assert(
      fc.property(fc.array(imageSpec, { maxLength: 12 }), fc.array(ruleSpec, { minLength: 1, maxLength: 5 }), (images, specs) => {
        const repo = new InventoryBuilder();
        const held = new Set<Digest>();
        const all: Digest[] = [];
        for (const spec of images) {
          const pushedAt = NOW - spec.age * DAY;
          if (spec.kind === 'buildx') {
            const b = repo.buildx({ tags: [], pushedAt });
            for (const tag of spec.tags) repo.tag(tag, b.index);
            for (const d of [...b.platforms, ...b.attestations]) held.add(d);
            all.push(b.index);
          } else if (spec.kind === 'referrer' && all.length > 0) {
            held.add(repo.referrer({ subject: all[all.length - 1]!, pushedAt }));
          } else {
            all.push(repo.single({ tags: spec.tags, pushedAt }));
          }
        }
        const rules: LifecycleRule[] = specs.map((s, i) =>
          s.kind === 'tagged' ? tagged(i + 1, [s.p], s.n) : s.kind === 'untagged' ? untaggedOlderThan(i + 1, s.n) : anyCount(i + 1, s.n),
        );
        const policy: LifecyclePolicy = { rules };
        const inventory = repo.inventory();
        const outcomes = evaluatePolicy(policy, buildImageGraph(inventory), NOW);
        for (const [digest, outcome] of outcomes) {
          expect(held.has(digest)).toBe(false);
          const tags = inventory.images.find((i) => i.digest === digest)!.tags;
          // the acting rule selects the image, and no lower-numbered rule's tag requirements match it
          expect(tagRequirementsMatch(rules.find((r) => r.rulePriority === outcome.rulePriority)!, tags)).toBe(true);
          for (const rule of rules.filter((r) => r.rulePriority < outcome.rulePriority)) expect(tagRequirementsMatch(rule, tags)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('evaluates at several times in one pass exactly as at each time alone, in the same order', () => {
    // Prepare
    const imageSpec = fc.record({ tags: fc.uniqueArray(fc.constantFrom('ci-1', 'ci-2', 'v1'), { maxLength: 2 }), age: fc.integer({ min: 0, max: 10 }), buildx: fc.boolean() });
    const ruleSpec = fc.oneof(
      fc.integer({ min: 1, max: 3 }).map((n) => (p: number) => tagged(p, ['ci-*'], n)),
      fc.integer({ min: 1, max: 8 }).map((n) => (p: number) => untaggedOlderThan(p, n)),
      fc.integer({ min: 1, max: 8 }).map((n) => (p: number) => anyOlderThan(p, n)),
      fc.integer({ min: 1, max: 8 }).map((n) => (p: number) => taggedOlderThan(p, ['v*'], n)),
    );

    // Act / Assess
    fc.assert(
      fc.property(fc.array(imageSpec, { maxLength: 12 }), fc.array(ruleSpec, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 5 }), (images, specs, later) => {
        const repo = new InventoryBuilder();
        for (const spec of images) {
          if (spec.buildx) repo.buildx({ tags: spec.tags, pushedAt: NOW - spec.age * DAY });
          else repo.single({ tags: spec.tags, pushedAt: NOW - spec.age * DAY });
        }
        const policy: LifecyclePolicy = { rules: specs.map((rule, i) => rule(i + 1)) };
        const times = [NOW, NOW + later * DAY + 1];
        const together = evaluatePolicyAt(policy, buildImageGraph(repo.inventory()), times);
        const alone = times.map((time) => evaluatePolicy(policy, buildImageGraph(repo.inventory()), time));
        expect(together.map((outcomes) => [...outcomes.entries()])).toEqual(alone.map((outcomes) => [...outcomes.entries()]));
      }),
      { numRuns: 300 },
    );
  });
});

/** An independent reading of ECR's tag requirements, for the property above (patterns there have at most one `*`). */
function tagRequirementsMatch(rule: LifecycleRule, tags: string[]): boolean {
  const s = rule.selection;
  if (s.tagStatus === 'any') return true;
  if (s.tagStatus === 'untagged') return tags.length === 0;
  return s.tagPatternList!.every((pattern) => {
    const [head, tail] = pattern.split('*') as [string, string | undefined];
    return tags.some((tag) => (tail === undefined ? tag === head : tag.length >= head.length + tail.length && tag.startsWith(head) && tag.endsWith(tail)));
  });
}
