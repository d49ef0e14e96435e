// AWS's worked examples and the evaluation rules stated in prose, as tests of the emulator's lifecycle engine: push the
// documented images at the documented ages, install the documented policy, check the preview and the daily run against
// the documented outcome, under the faithful and the pessimistic readings (separately where they differ).
// Pages (ECR user guide):
//  [EX]  "Examples of lifecycle policies in Amazon ECR"
//        https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
//  [HOW] "Automate the cleanup of images by using lifecycle policies in Amazon ECR" — "Lifecycle policy evaluation rules"
//        https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
//  [ARCH] "Archiving an image" https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html
import {
  DescribeImagesCommand,
  GetLifecyclePolicyPreviewCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  UpdateImageStorageClassCommand,
  type ECRClient,
  type GetLifecyclePolicyPreviewCommandOutput,
} from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { previewPolicy, runLifecycle, validatePolicyText } from '../../emulator/lifecycle.js';
import { FAITHFUL_READINGS, PESSIMISTIC_READINGS, tagMatchesWildcard, type LifecycleReadings } from '../../emulator/lifecycle-engine.js';
import { RegistryModel, RESTORE_DURATION_MS, type RepositoryStore } from '../../emulator/registry-model.js';
import { imageManifest, OCI_INDEX, OCI_MANIFEST } from '../../emulator/workload.js';
import { useEmulator } from '../support/emulator-fixture.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const DAY = 86_400_000;

const READINGS: [string, LifecycleReadings][] = [
  ['faithful', FAITHFUL_READINGS],
  ['pessimistic', PESSIMISTIC_READINGS],
];

interface DocImage {
  name: string;
  tags: string[];
  daysAgo: number;
  pulledDaysAgo?: number;
}

/** A repository holding the documented images, pushed in the listed order at NOW minus their age. */
function repositoryOf(images: DocImage[]): { model: RegistryModel; store: RepositoryStore; digest: (name: string) => string; name: (digest: string) => string } {
  const model = new RegistryModel({ now: NOW });
  const store = model.createRepository('docs');
  const digests = new Map<string, string>();
  for (const image of images) {
    model.setClock(NOW - image.daysAgo * DAY);
    const text = imageManifest(`docs-${image.name}`, 1_000).text;
    const [first, ...more] = image.tags;
    const pushed = store.putImage({ manifest: text, ...(first !== undefined ? { tag: first } : {}) });
    for (const tag of more) store.putImage({ manifest: text, tag });
    if (image.pulledDaysAgo !== undefined) pushed.lastPulledAt = NOW - image.pulledDaysAgo * DAY;
    digests.set(image.name, pushed.digest);
  }
  model.setClock(NOW);
  const names = new Map([...digests].map(([name, digest]) => [digest, name]));
  return { model, store, digest: (name) => digests.get(name)!, name: (digest) => names.get(digest) ?? digest };
}

function policyText(rules: unknown[]): string {
  return JSON.stringify({ rules }, null, 2);
}

/** Installs the policy, then returns what the preview lists and what one daily run does, by image name. */
function previewAndRun(images: DocImage[], rules: unknown[], readings: LifecycleReadings) {
  const repo = repositoryOf(images);
  const text = policyText(rules);
  repo.store.policyText = text;
  const preview = previewPolicy(repo.store, validatePolicyText(text), NOW, readings).map((e) => ({ name: repo.name(e.digest), action: e.action, rule: e.rulePriority }));
  const run = runLifecycle(repo.model, readings);
  return {
    ...repo,
    preview,
    expired: run.expired.map((e) => repo.name(e.digest)).sort(),
    transitioned: run.transitioned.map((e) => repo.name(e.digest)).sort(),
    refused: run.refused.map((e) => repo.name(e.digest)).sort(),
    remaining: repo.store.allImages().map((i) => repo.name(i.digest)).sort(),
  };
}

const expire = { type: 'expire' };
const archive = { type: 'transition', targetStorageClass: 'archive' };

// [EX] "Filtering on multiple rules" and "Filtering on multiple tags in a single rule" share these repositories.
const AB_REPO: DocImage[] = [
  { name: 'A', tags: ['beta-1', 'prod-1'], daysAgo: 10 },
  { name: 'B', tags: ['beta-2', 'prod-2'], daysAgo: 9 },
  { name: 'C', tags: ['beta-3'], daysAgo: 8 },
];

describe.each(READINGS)('AWS examples, the same under either reading (%s)', (_label, readings) => {
  it('[EX] Filtering on image age: prod* images older than 14 days expire', () => {
    // Prepare: two prod images either side of 14 days, and an old image the pattern does not select
    const images = [
      { name: 'prod-old', tags: ['prod-1'], daysAgo: 20 },
      { name: 'prod-new', tags: ['prod-2'], daysAgo: 10 },
      { name: 'dev-old', tags: ['dev-1'], daysAgo: 30 },
    ];
    const rules = [{ rulePriority: 1, description: 'Expire images older than 14 days', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: expire }];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess
    expect(result.preview).toEqual([{ name: 'prod-old', action: 'expire', rule: 1 }]);
    expect(result.expired).toEqual(['prod-old']);
    expect(result.remaining).toEqual(['dev-old', 'prod-new']);
  });

  it('[EX] Filtering on image count: keep only one untagged image, expire all others', () => {
    // Prepare
    const images = [
      { name: 'u1', tags: [], daysAgo: 3 },
      { name: 'u2', tags: [], daysAgo: 2 },
      { name: 'u3', tags: [], daysAgo: 1 },
      { name: 't1', tags: ['v1'], daysAgo: 5 },
    ];
    const rules = [{ rulePriority: 1, description: 'Keep only one untagged image, expire all others', selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess: oldest first in the preview ([HOW] "always expires older images before newer ones")
    expect(result.preview.map((e) => e.name)).toEqual(['u1', 'u2']);
    expect(result.expired).toEqual(['u1', 'u2']);
    expect(result.remaining).toEqual(['t1', 'u3']);
  });

  it('[EX] Filtering on multiple rules, Example A: prod* then beta*, keep 1 each: Image A is expired', () => {
    // Prepare
    const rules = [
      { rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
      { rulePriority: 2, description: 'Rule 2', selection: { tagStatus: 'tagged', tagPatternList: ['beta*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
    ];

    // Act
    const result = previewAndRun(AB_REPO, rules, readings);

    // Assess: Rule 2 would mark B too, but B matches Rule 1's tags ("if Image B were expired it would violate Rule 1")
    expect(result.preview).toEqual([{ name: 'A', action: 'expire', rule: 1 }]);
    expect(result.expired).toEqual(['A']);
  });

  it('[EX] Filtering on multiple rules, Example B: beta* first: Images A and B are expired', () => {
    // Prepare
    const rules = [
      { rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPatternList: ['beta*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
      { rulePriority: 2, description: 'Rule 2', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
    ];

    // Act
    const result = previewAndRun(AB_REPO, rules, readings);

    // Assess
    expect(result.preview).toEqual([
      { name: 'A', action: 'expire', rule: 1 },
      { name: 'B', action: 'expire', rule: 1 },
    ]);
    expect(result.expired).toEqual(['A', 'B']);
  });

  it('[EX] Filtering on multiple tags in a single rule, Example A: alpha* AND beta* older than 5 days: Image C is expired', () => {
    // Prepare
    const images = [
      { name: 'A', tags: ['alpha-1'], daysAgo: 12 },
      { name: 'B', tags: ['beta-1'], daysAgo: 11 },
      { name: 'C', tags: ['alpha-2', 'beta-2'], daysAgo: 10 },
      { name: 'D', tags: ['alpha-3'], daysAgo: 4 },
      { name: 'E', tags: ['beta-3'], daysAgo: 3 },
      { name: 'F', tags: ['alpha-4', 'beta-4'], daysAgo: 2 },
    ];
    const rules = [{ rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], countType: 'sinceImagePushed', countNumber: 5, countUnit: 'days' }, action: expire }];
    // The same example with tagPrefixList, as the page showed it before tag patterns existed ([HOW]: "all of the
    // wildcard filters in the tagPrefixList value are matched against any of the image's tags").
    const prefixRules = [{ ...rules[0], selection: { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], countType: 'sinceImagePushed', countNumber: 5, countUnit: 'days' } }];

    // Act
    const result = previewAndRun(images, rules, readings);
    const byPrefix = previewAndRun(images, prefixRules, readings);

    // Assess
    expect(result.preview).toEqual([{ name: 'C', action: 'expire', rule: 1 }]);
    expect(result.expired).toEqual(['C']);
    expect(byPrefix.expired).toEqual(['C']);
  });

  it('[EX] Filtering on multiple tags in a single rule, Example B: tags are not exclusive: Images A and B are expired', () => {
    // Prepare
    const images = [
      { name: 'A', tags: ['alpha-1', 'beta-1', 'gamma-1'], daysAgo: 10 },
      { name: 'B', tags: ['alpha-2', 'beta-2'], daysAgo: 9 },
      { name: 'C', tags: ['alpha-3', 'beta-3', 'gamma-2'], daysAgo: 8 },
    ];
    const rules = [{ rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess
    expect(result.expired).toEqual(['A', 'B']);
    expect(result.remaining).toEqual(['C']);
  });

  it('[EX] Filtering on all images, Example A: any, keep 1: Images A, B and C are expired', () => {
    // Prepare
    const images = [
      { name: 'A', tags: ['alpha-1'], daysAgo: 4 },
      { name: 'B', tags: ['beta-1'], daysAgo: 3 },
      { name: 'C', tags: [], daysAgo: 2 },
      { name: 'D', tags: ['alpha-2'], daysAgo: 1 },
    ];
    const rules = [{ rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire }];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess
    expect(result.preview.map((e) => e.name)).toEqual(['A', 'B', 'C']);
    expect(result.expired).toEqual(['A', 'B', 'C']);
  });

  it('[EX] Filtering on last pulled time / Archive examples: images not pulled in 90 days go to archive, never pulled counts from the push', () => {
    // Prepare: [HOW] "If an image was never pulled, the image's pushed_at_time is used instead of the last_recorded_pulltime."
    const images = [
      { name: 'pulled-lately', tags: ['v1'], daysAgo: 200, pulledDaysAgo: 10 },
      { name: 'pulled-long-ago', tags: ['v2'], daysAgo: 150, pulledDaysAgo: 95 },
      { name: 'never-pulled-old', tags: [], daysAgo: 100 },
      { name: 'never-pulled-new', tags: [], daysAgo: 50 },
    ];
    const rules = [{ rulePriority: 1, description: 'Archive images not pulled in 90 days', selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: archive }];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess: archived, not deleted ([ARCH] "The image is moved to the archival storage class"; status ARCHIVED)
    expect(result.preview).toEqual([
      { name: 'pulled-long-ago', action: 'transition', rule: 1 },
      { name: 'never-pulled-old', action: 'transition', rule: 1 },
    ]);
    expect(result.transitioned).toEqual(['never-pulled-old', 'pulled-long-ago']);
    expect(result.expired).toEqual([]);
    const archived = result.store.image(result.digest('pulled-long-ago'))!;
    expect(archived).toMatchObject({ storageClass: 'ARCHIVE', imageStatus: 'ARCHIVED', lastArchivedAt: NOW });
    // [ARCH] "Archived images cannot be pulled. Requests to pull the archived image will fail with a 404 error."
    const pull = result.store.getImages([{ imageDigest: archived.digest }]);
    expect(pull.images).toEqual([]);
    expect(pull.failures[0]?.failureCode).toBe('ImageNotFound');
  });

  it('[EX] Archiving images older than a specified number of days: prod* older than 30 days go to archive', () => {
    // Prepare
    const images = [
      { name: 'prod-old', tags: ['prod-1'], daysAgo: 31 },
      { name: 'prod-new', tags: ['prod-2'], daysAgo: 29 },
      { name: 'other-old', tags: ['qa-1'], daysAgo: 60 },
    ];
    const rules = [{ rulePriority: 1, description: 'Archive production images older than 30 days', selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: archive }];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess
    expect(result.preview).toEqual([{ name: 'prod-old', action: 'transition', rule: 1 }]);
    expect(result.transitioned).toEqual(['prod-old']);
    expect(result.remaining).toEqual(['other-old', 'prod-new', 'prod-old']);
  });

  it('[EX] Filtering on archive transition time: archived more than 365 days ago expires; standard images are not selected', () => {
    // Prepare
    const images = [
      { name: 'archived-long', tags: ['v1'], daysAgo: 500 },
      { name: 'archived-lately', tags: ['v2'], daysAgo: 500 },
      { name: 'standard-old', tags: ['v3'], daysAgo: 900 },
    ];
    const rules = [{ rulePriority: 1, description: 'Expire images archived for more than 365 days', selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 }, action: expire }];
    const repo = repositoryOf(images);
    repo.store.archiveImage(repo.store.image(repo.digest('archived-long'))!, NOW - 400 * DAY);
    repo.store.archiveImage(repo.store.image(repo.digest('archived-lately'))!, NOW - 100 * DAY);
    repo.store.policyText = policyText(rules);

    // Act
    const preview = previewPolicy(repo.store, validatePolicyText(repo.store.policyText), NOW, readings);
    const run = runLifecycle(repo.model, readings);

    // Assess
    expect(preview.map((e) => [repo.name(e.digest), e.action, e.storageClass])).toEqual([['archived-long', 'expire', 'ARCHIVE']]);
    expect(run.expired.map((e) => repo.name(e.digest))).toEqual(['archived-long']);
    expect(repo.store.allImages().map((i) => repo.name(i.digest)).sort()).toEqual(['archived-lately', 'standard-old']);
  });

  it('[EX] Combining archive and expire rules: an `any` rule per storage class; the standard one does not shield archived images', () => {
    // Prepare: one image past 30 days (archived tonight), one archived 366 days ago (expired tonight), one recent
    const images = [
      { name: 'old', tags: ['v1'], daysAgo: 31 },
      { name: 'long-archived', tags: ['v0'], daysAgo: 800 },
      { name: 'recent', tags: ['v2'], daysAgo: 5 },
    ];
    const rules = [
      { rulePriority: 1, description: 'Archive images older than 30 days', selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: archive },
      { rulePriority: 2, description: 'Expire images archived for more than 365 days', selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 }, action: expire },
    ];
    const repo = repositoryOf(images);
    repo.store.archiveImage(repo.store.image(repo.digest('long-archived'))!, NOW - 366 * DAY);
    repo.store.policyText = policyText(rules);

    // Act
    const policy = validatePolicyText(repo.store.policyText);
    const preview = previewPolicy(repo.store, policy, NOW, readings);
    const run = runLifecycle(repo.model, readings);

    // Assess
    expect(preview.map((e) => [repo.name(e.digest), e.action, e.rulePriority])).toEqual([
      ['old', 'transition', 1],
      ['long-archived', 'expire', 2],
    ]);
    expect(run.transitioned.map((e) => repo.name(e.digest))).toEqual(['old']);
    expect(run.expired.map((e) => repo.name(e.digest))).toEqual(['long-archived']);
    expect(repo.store.image(repo.digest('recent'))?.imageStatus ?? 'ACTIVE').toBe('ACTIVE');
  });
});

describe('[EX] Filtering on all images, Example B: equal push times decide which image rule 3 keeps', () => {
  // D and E are both "Pushed: 1 day ago"; the page lists D first and says rule 3 marks D, so E ranks as the newer.
  const images = [
    { name: 'A', tags: ['alpha-1', 'beta-1'], daysAgo: 4 },
    { name: 'B', tags: [], daysAgo: 3 },
    { name: 'C', tags: ['alpha-2'], daysAgo: 2 },
    { name: 'D', tags: ['git hash'], daysAgo: 1 },
    { name: 'E', tags: [], daysAgo: 1 },
  ];
  const rules = [
    { rulePriority: 1, description: 'Rule 1', selection: { tagStatus: 'tagged', tagPatternList: ['alpha*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
    { rulePriority: 2, description: 'Rule 2', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: expire },
    { rulePriority: 3, description: 'Rule 3', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
  ];

  it('faithful (ties by push order, as the page): Images A, B and D are expired', () => {
    // Prepare: the example as given ('git hash' is not a valid tag, so it is pushed as 'git-hash'; no rule names it)

    // Act
    const result = previewAndRun(images.map((i) => ({ ...i, tags: i.tags.map((t) => t.replace(' ', '-')) })), rules, FAITHFUL_READINGS);

    // Assess: rule 2 leaves E (exactly 1 day old is not older than 1 day); rule 3 cannot mark A, B, C or E
    expect(result.preview).toEqual([
      { name: 'A', action: 'expire', rule: 1 },
      { name: 'B', action: 'expire', rule: 2 },
      { name: 'D', action: 'expire', rule: 3 },
    ]);
    expect(result.expired).toEqual(['A', 'B', 'D']);
  });

  it('pessimistic (equal push times ranked the other way): D counts as the newest, so only A and B go', () => {
    // Prepare: as above

    // Act
    const result = previewAndRun(images.map((i) => ({ ...i, tags: i.tags.map((t) => t.replace(' ', '-')) })), rules, PESSIMISTIC_READINGS);

    // Assess
    expect(result.expired).toEqual(['A', 'B']);
    expect(result.remaining).toEqual(['C', 'D', 'E']);
  });
});

describe.each(READINGS)('evaluation rules stated in prose [HOW] (%s)', (_label, readings) => {
  it('"An image that matches the tagging requirements of a rule cannot be expired or archived by a rule with a lower priority"', () => {
    // Prepare: a rule that never fires shields keep-* from the catch-all
    const images = [
      { name: 'kept', tags: ['keep-1'], daysAgo: 400 },
      { name: 'old', tags: ['v1'], daysAgo: 300 },
      { name: 'new', tags: ['v2'], daysAgo: 1 },
    ];
    const rules = [
      { rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['keep-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 36500 }, action: expire },
      { rulePriority: 2, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: expire },
    ];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess: rule 2 ranks 'kept' among its images ("can still identify them") yet cannot mark it
    expect(result.expired).toEqual(['old']);
    expect(result.remaining).toEqual(['kept', 'new']);
  });

  it('"An image is expired or archived by exactly one or zero rules": two rules marking one image list it once, under the higher one', () => {
    // Prepare
    const images = [{ name: 'x', tags: ['rc-1', 'v1'], daysAgo: 50 }, { name: 'y', tags: ['rc-2'], daysAgo: 1 }];
    const rules = [
      { rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['rc-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 10 }, action: archive },
      { rulePriority: 2, selection: { tagStatus: 'tagged', tagPatternList: ['v*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 10 }, action: expire },
    ];

    // Act
    const result = previewAndRun(images, rules, readings);

    // Assess
    expect(result.preview).toEqual([{ name: 'x', action: 'transition', rule: 1 }]);
    expect(result.transitioned).toEqual(['x']);
    expect(result.expired).toEqual([]);
  });

  it('tagPatternList wildcards: prod* matches prod, prod1, production-team1; *prod* matches repo-production and prod-team', () => {
    // Prepare / Act / Assess: the examples given on the page, and their negatives
    for (const tag of ['prod', 'prod1', 'production-team1']) expect(tagMatchesWildcard(tag, 'prod*')).toBe(true);
    for (const tag of ['repo-production', 'prod-team']) expect(tagMatchesWildcard(tag, '*prod*')).toBe(true);
    expect(tagMatchesWildcard('repo-production', 'prod*')).toBe(false);
    expect(tagMatchesWildcard('pro', '*prod*')).toBe(false);
    expect(tagMatchesWildcard('v1.2', 'v1*2')).toBe(true);
    expect(tagMatchesWildcard('v1x2', 'v1.2')).toBe(false);
  });

  it('"If an image was archived and then restored ..., the image\'s last_activated_at is used instead of pushed_at_time"', () => {
    // Prepare: 'restored' was pushed first but restored 2 days ago: it is younger than 'middle' for ranking and age
    const images = [
      { name: 'restored', tags: ['v1'], daysAgo: 100 },
      { name: 'middle', tags: ['v2'], daysAgo: 20 },
      { name: 'newest', tags: ['v3'], daysAgo: 1 },
    ];
    const repo = repositoryOf(images);
    const restored = repo.store.image(repo.digest('restored'))!;
    repo.store.archiveImage(restored, NOW - 60 * DAY);
    repo.model.setClock(NOW - 2 * DAY - RESTORE_DURATION_MS);
    repo.store.restoreImage(restored, repo.model.now());
    repo.model.setClock(NOW);
    const count = validatePolicyText(policyText([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }, action: expire }]));
    const age = validatePolicyText(policyText([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 10 }, action: expire }]));

    // Act
    const byCount = previewPolicy(repo.store, count, NOW, readings).map((e) => repo.name(e.digest));
    const byAge = previewPolicy(repo.store, age, NOW, readings).map((e) => repo.name(e.digest));

    // Assess
    expect(restored).toMatchObject({ imageStatus: 'ACTIVE', storageClass: 'STANDARD', lastActivatedAt: NOW - 2 * DAY });
    expect(byCount).toEqual(['middle']);
    expect(byAge).toEqual(['middle']);
  });

  it('sinceImagePulled after a restore: "never pulled since the image was restored" counts from last_activated_at', () => {
    // Prepare: pulled 200 days ago, archived, restored 10 days ago, not pulled since
    const repo = repositoryOf([{ name: 'r', tags: ['v1'], daysAgo: 300, pulledDaysAgo: 200 }, { name: 'p', tags: ['v2'], daysAgo: 300, pulledDaysAgo: 200 }]);
    const restored = repo.store.image(repo.digest('r'))!;
    repo.store.archiveImage(restored, NOW - 150 * DAY);
    repo.model.setClock(NOW - 10 * DAY - RESTORE_DURATION_MS);
    repo.store.restoreImage(restored, repo.model.now());
    repo.model.setClock(NOW);
    const policy = validatePolicyText(policyText([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 }, action: archive }]));

    // Act
    const preview = previewPolicy(repo.store, policy, NOW, readings).map((e) => repo.name(e.digest));

    // Assess: 'p' (last pull 200 days ago) goes; 'r' counts from its restore 10 days ago and stays
    expect(preview).toEqual(['p']);
  });

  it('"When reference artifacts are present ..., lifecycle policies automatically expire or archive those artifacts within 24 hours of the deletion or archival of the subject image"', () => {
    // Prepare: two subjects, each with an SBOM referrer; one subject archived, the other deleted
    const repo = repositoryOf([{ name: 'kept', tags: ['v1'], daysAgo: 5 }, { name: 'archived', tags: ['v2'], daysAgo: 5 }, { name: 'deleted', tags: ['v3'], daysAgo: 5 }]);
    const referrerOf = (subject: string, seed: string) =>
      repo.store.putImage({
        manifest: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/vnd.in-toto+json',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
          layers: [{ mediaType: 'application/vnd.in-toto+json', digest: `sha256:${seed.padEnd(64, '0')}`, size: 10 }],
          subject: { mediaType: OCI_MANIFEST, digest: repo.digest(subject), size: 100 },
        }),
      });
    const keptSbom = referrerOf('kept', 'a');
    const archivedSbom = referrerOf('archived', 'b');
    const deletedSbom = referrerOf('deleted', 'c');
    repo.store.archiveImage(repo.store.image(repo.digest('archived'))!, NOW);
    repo.store.deleteImages([{ imageTag: 'v3' }]);

    // Act
    const run = runLifecycle(repo.model, readings);

    // Assess
    expect(run.referrersRemoved.map((r) => r.digest)).toEqual([deletedSbom.digest]);
    expect(run.referrersArchived.map((r) => r.digest)).toEqual([archivedSbom.digest]);
    expect(repo.store.image(archivedSbom.digest)?.imageStatus).toBe('ARCHIVED');
    expect(repo.store.image(keptSbom.digest)?.imageStatus ?? 'ACTIVE').toBe('ACTIVE');
  });
});

describe('"If an image is referenced by a manifest list, it cannot be expired or archived without the manifest list being deleted or archived first" [HOW]', () => {
  /** A tagged index listing an untagged child, both 10 days old, and a loose untagged image as old. */
  function indexWithChild() {
    const model = new RegistryModel({ now: NOW - 10 * DAY });
    const store = model.createRepository('docs');
    const child = imageManifest('docs-child', 1_000);
    const loose = imageManifest('docs-loose', 1_000);
    store.putImage({ manifest: child.text });
    store.putImage({ manifest: loose.text });
    const index = store.putImage({
      manifest: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.text.length, platform: { os: 'linux', architecture: 'amd64' } }] }),
      tag: 'v1',
    });
    model.setClock(NOW);
    store.policyText = policyText([{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: expire }]);
    return { model, store, child: child.digest, loose: loose.digest, index: index.digest };
  }

  it('faithful: the child is neither listed by the preview nor expired while its index is there; it goes the run after the index', () => {
    // Prepare
    const { model, store, child, loose } = indexWithChild();

    // Act
    const preview = previewPolicy(store, validatePolicyText(store.policyText!), NOW, FAITHFUL_READINGS).map((e) => e.digest);
    const first = runLifecycle(model, FAITHFUL_READINGS);
    store.deleteImages([{ imageTag: 'v1' }]);
    const second = runLifecycle(model, FAITHFUL_READINGS);

    // Assess
    expect(preview).toEqual([loose]);
    expect(first.expired.map((e) => e.digest)).toEqual([loose]);
    expect(first.refused).toEqual([]);
    expect(second.expired.map((e) => e.digest)).toEqual([child]);
  });

  it('pessimistic: the preview lists the child as EXPIRE (containers-roadmap #2613) but the run refuses it while the index is there', () => {
    // Prepare
    const { model, store, child, loose, index } = indexWithChild();

    // Act
    const preview = previewPolicy(store, validatePolicyText(store.policyText!), NOW, PESSIMISTIC_READINGS).map((e) => [e.digest, e.action]);
    const run = runLifecycle(model, PESSIMISTIC_READINGS);

    // Assess
    expect(preview).toEqual(expect.arrayContaining([[child, 'expire'], [loose, 'expire']]));
    expect(run.expired.map((e) => e.digest)).toEqual([loose]);
    expect(run.refused).toEqual([expect.objectContaining({ digest: child, action: 'expire' })]);
    expect(store.image(child)).toBeDefined();
    expect(store.image(index)).toBeDefined();
  });

  it('both readings: once the index is archived, the child is free to go ("deleted or archived first")', () => {
    for (const readings of [FAITHFUL_READINGS, PESSIMISTIC_READINGS]) {
      // Prepare
      const { model, store, child, index } = indexWithChild();
      store.archiveImage(store.image(index)!, NOW);

      // Act
      const run = runLifecycle(model, readings);

      // Assess
      expect(run.expired.map((e) => e.digest)).toContain(child);
    }
  });
});

/** Polls the preview until it is no longer IN_PROGRESS (the pessimistic profile answers IN_PROGRESS a few times). */
async function finishedPreview(client: ECRClient): Promise<GetLifecyclePolicyPreviewCommandOutput> {
  for (let poll = 0; poll < 20; poll += 1) {
    const preview = await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));
    if (preview.status !== 'IN_PROGRESS') return preview;
  }
  throw new Error('the preview stayed IN_PROGRESS for 20 polls');
}

describe('referrers whose subject is present follow their subject [HOW] (and containers-roadmap #2613 for the pessimistic listing)', () => {
  it('faithful: an untagged SBOM of a kept image is not listed; pessimistic: listed as EXPIRE, refused at execution', () => {
    for (const [readings, listed] of [[FAITHFUL_READINGS, false], [PESSIMISTIC_READINGS, true]] as const) {
      // Prepare: a tagged subject and its untagged SBOM, both 10 days old; untagged images expire after 3 days
      const repo = repositoryOf([{ name: 'subject', tags: ['v1'], daysAgo: 10 }]);
      repo.model.setClock(NOW - 10 * DAY);
      const sbom = repo.store.putImage({
        manifest: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/vnd.in-toto+json',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 },
          layers: [{ mediaType: 'application/vnd.in-toto+json', digest: `sha256:${'5'.repeat(64)}`, size: 10 }],
          subject: { mediaType: OCI_MANIFEST, digest: repo.digest('subject'), size: 100 },
        }),
      });
      repo.model.setClock(NOW);
      repo.store.policyText = policyText([{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: expire }]);

      // Act
      const preview = previewPolicy(repo.store, validatePolicyText(repo.store.policyText), NOW, readings).map((e) => e.digest);
      const run = runLifecycle(repo.model, readings);

      // Assess
      expect(preview).toEqual(listed ? [sbom.digest] : []);
      expect(run.expired).toEqual([]);
      expect(run.refused.map((r) => r.digest)).toEqual(listed ? [sbom.digest] : []);
      expect(repo.store.image(sbom.digest)).toBeDefined();
    }
  });
});

describe.each(['faithful', 'pessimistic'] as const)('through the API (%s profile): the combined archive + expire example goes in, previews and restores [EX] [ARCH]', (profile) => {
  const fixture = useEmulator({ now: NOW - 40 * DAY, profile });

  it('accepts the policy, previews a TRANSITION with the storage class, archives it, hides it from the default DescribeImages and restores it', async () => {
    // Prepare
    const { client, emulator } = fixture;
    const repo = emulator.model.repository('app');
    const image = repo.putImage({ manifest: imageManifest('api-old', 1_000).text, tag: 'v1' });
    emulator.setClock(NOW);
    const text = policyText([
      { rulePriority: 1, description: 'Archive images older than 30 days', selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }, action: archive },
      { rulePriority: 2, description: 'Expire images archived for more than 365 days', selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 }, action: expire },
    ]);

    // Act
    await client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: text }));
    await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));
    const preview = await finishedPreview(client);
    const run = emulator.runLifecycle();
    const active = await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));
    const archived = await client.send(new DescribeImagesCommand({ repositoryName: 'app', filter: { imageStatus: 'ARCHIVED' } }));
    const restore = await client.send(new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageTag: 'v1' }, targetStorageClass: 'STANDARD' }));
    emulator.setClock(NOW + RESTORE_DURATION_MS);
    const afterRestore = await client.send(new DescribeImagesCommand({ repositoryName: 'app', filter: { imageStatus: 'ANY' } }));

    // Assess
    expect(preview.previewResults).toEqual([
      expect.objectContaining({ imageDigest: image.digest, action: { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' }, appliedRulePriority: 1, storageClass: 'STANDARD' }),
    ]);
    expect(run.transitioned.map((e) => e.digest)).toEqual([image.digest]);
    expect(active.imageDetails).toEqual([]);
    expect(archived.imageDetails).toEqual([expect.objectContaining({ imageDigest: image.digest, imageStatus: 'ARCHIVED', lastArchivedAt: new Date(NOW) })]);
    expect(restore.imageStatus).toBe('ACTIVATING');
    expect(afterRestore.imageDetails).toEqual([expect.objectContaining({ imageStatus: 'ACTIVE', lastActivatedAt: new Date(NOW + RESTORE_DURATION_MS) })]);
  });
});
