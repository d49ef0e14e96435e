// Two engines, one question: what does ECR's lifecycle do to this repository now? The emulator answers from AWS's
// documentation (emulator/lifecycle-engine.ts through previewPolicy, faithful readings); the janitor answers with its
// own evaluator (lambda/domain/evaluator.ts) over the inventory it would read from ECR. Over random repositories
// (tagged and untagged images, indexes with children, referrers, push ages, pulls, archived and restored images) and
// random valid policies, they must agree image by image: same action, same rule.
//
// Known open differences, kept out of the generator (each one an open question both sides must be safe under):
//  - TIES: images pushed in the same millisecond. The emulator ranks them by push order (faithful; the user guide's
//    "Filtering on all images" example B needs it) or the other way (pessimistic); the evaluator by digest. AWS does
//    not document it. Generated push times are therefore distinct.
//  - ARCHIVED INDEX: the user guide says a manifest list's child "cannot be expired or archived without the manifest
//    list being deleted or archived first", so the emulator frees the children of an archived index; the evaluator keeps
//    holding them while the index is present in any storage class (the safer reading). Indexes are never archived here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../lambda/domain/evaluator.js';
import { buildImageGraph } from '../../lambda/domain/graph.js';
import type { ImageRecord, LifecyclePolicy, RepositoryInventory } from '../../lambda/domain/types.js';
import { previewPolicy, runLifecycle } from '../../emulator/lifecycle.js';
import { FAITHFUL_READINGS, PESSIMISTIC_READINGS } from '../../emulator/lifecycle-engine.js';
import { validateLifecyclePolicyText } from '../../emulator/policy-validation.js';
import { isIndexMediaType, RegistryModel, RESTORE_DURATION_MS, type RepositoryStore } from '../../emulator/registry-model.js';
import { imageManifest, OCI_INDEX, OCI_MANIFEST } from '../../emulator/workload.js';

const NOW = Date.UTC(2026, 8, 1, 12);
const DAY = 86_400_000;
const MINUTE = 60_000;
const SECOND = 1_000;

const TAGS = ['v1', 'v2', 'prod-1', 'prod-2', 'ci-1', 'ci-2', 'keep-a', 'beta-1'];
const PATTERNS = ['v*', 'prod-*', '*-1', 'ci-*', 'keep-*', 'v1', '*a*'];
const PREFIXES = ['v', 'prod', 'ci', 'b'];

interface ImageSpec {
  kind: 'image' | 'index' | 'referrer';
  tags: string[];
  ageDays: number;
  pulledDaysAgo?: number;
  /** Index: which earlier images it lists (indexes into the pushed list, modulo). Referrer: its subject. */
  picks: number[];
  /** A referrer about a digest that is not in the repository. */
  absentSubject: boolean;
  storage: { state: 'standard' } | { state: 'archived'; archivedDaysAgo: number } | { state: 'restored'; activatedDaysAgo: number } | { state: 'activating' };
}

const imageSpec: fc.Arbitrary<ImageSpec> = fc.record({
  kind: fc.constantFrom('image', 'image', 'image', 'index', 'referrer'),
  tags: fc.subarray(TAGS, { maxLength: 2 }),
  ageDays: fc.integer({ min: 0, max: 400 }),
  pulledDaysAgo: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
  picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  absentSubject: fc.boolean(),
  storage: fc.oneof(
    { weight: 6, arbitrary: fc.constant({ state: 'standard' as const }) },
    { weight: 2, arbitrary: fc.record({ state: fc.constant('archived' as const), archivedDaysAgo: fc.integer({ min: 0, max: 400 }) }) },
    { weight: 2, arbitrary: fc.record({ state: fc.constant('restored' as const), activatedDaysAgo: fc.integer({ min: 0, max: 400 }) }) },
    { weight: 1, arbitrary: fc.constant({ state: 'activating' as const }) },
  ),
});

/** Pushes the specs oldest first at distinct minutes (see TIES), then archives, restores and pulls as specified. */
function repositoryOf(specs: ImageSpec[]): { model: RegistryModel; store: RepositoryStore } {
  const model = new RegistryModel({ now: NOW });
  const store = model.createRepository('prop');
  const ordered = [...specs].sort((a, b) => b.ageDays - a.ageDays);
  const pushed: { digest: string; text: string; kind: ImageSpec['kind'] }[] = [];
  ordered.forEach((spec, i) => {
    const at = NOW - spec.ageDays * DAY - (ordered.length - i) * MINUTE;
    model.setClock(at);
    const plain = pushed.filter((p) => p.kind === 'image');
    let text: string;
    if (spec.kind === 'index' && plain.length > 0) {
      const children = [...new Set(spec.picks.map((k) => plain[k % plain.length]!))];
      text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.text.length })), annotations: { n: String(i) } });
    } else if (spec.kind === 'referrer' && (pushed.length > 0 || spec.absentSubject)) {
      const subject = spec.absentSubject || pushed.length === 0 ? `sha256:${'e'.repeat(63)}${i % 10}` : pushed[spec.picks[0]! % pushed.length]!.digest;
      text = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.in-toto+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 },
        layers: [{ mediaType: 'application/vnd.in-toto+json', digest: `sha256:${String(i).padStart(64, '0')}`, size: 100 }],
        subject: { mediaType: OCI_MANIFEST, digest: subject, size: 10 },
      });
    } else {
      text = imageManifest(`prop-${i}`, 1_000 + i).text;
    }
    const [first, ...more] = spec.tags;
    const image = store.putImage({ manifest: text, ...(first !== undefined ? { tag: first } : {}) });
    for (const tag of more) store.putImage({ manifest: text, tag });
    pushed.push({ digest: image.digest, text, kind: isIndexMediaType(image.manifestMediaType) ? 'index' : image.subjectDigest ? 'referrer' : 'image' });
    if (spec.pulledDaysAgo !== undefined) image.lastPulledAt = Math.max(at, NOW - spec.pulledDaysAgo * DAY);
    const isIndex = isIndexMediaType(image.manifestMediaType);
    const { storage } = spec;
    // ARCHIVED INDEX (see above): indexes stay in standard storage.
    if (storage.state === 'archived' && !isIndex) store.archiveImage(image, Math.max(at, NOW - storage.archivedDaysAgo * DAY));
    if (storage.state === 'activating' && !isIndex) {
      store.archiveImage(image, at);
      store.restoreImage(image, NOW - MINUTE);
    }
    // Restores finish in the past, at an odd second of their own: a restore time equal to another image's push or
    // restore time is a tie (TIES), and a clock moved past NOW would also finish the other images' restores.
    const offset = (i + 1) * SECOND + 500;
    const activatedAt = storage.state === 'restored' ? Math.max(at + RESTORE_DURATION_MS + offset, NOW - storage.activatedDaysAgo * DAY - offset) : NOW;
    if (storage.state === 'restored' && !isIndex && activatedAt < NOW) {
      store.archiveImage(image, at);
      store.restoreImage(image, activatedAt - RESTORE_DURATION_MS);
      model.setClock(activatedAt);
      store.settleRestores();
    }
  });
  model.setClock(NOW);
  return { model, store };
}

/** The repository as the janitor's inventory reads it: DescribeImages (imageStatus ANY) plus index manifests. */
function inventoryOf(store: RepositoryStore): RepositoryInventory {
  const images: ImageRecord[] = [];
  const manifests: Record<string, string> = {};
  for (const image of store.allImages()) {
    images.push({
      digest: image.digest,
      tags: [...image.tags],
      pushedAt: image.pushedAt,
      sizeBytes: store.sizeInBytes(image),
      manifestMediaType: image.manifestMediaType,
      ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
      ...(image.lastPulledAt !== undefined ? { lastPulledAt: image.lastPulledAt } : {}),
      ...(image.subjectDigest ? { subjectDigest: image.subjectDigest } : {}),
      ...(image.imageStatus ? { imageStatus: image.imageStatus } : {}),
      ...(image.lastArchivedAt !== undefined ? { lastArchivedAt: image.lastArchivedAt } : {}),
      ...(image.lastActivatedAt !== undefined ? { lastActivatedAt: image.lastActivatedAt } : {}),
    });
    if (isIndexMediaType(image.manifestMediaType)) manifests[image.digest] = image.manifest;
  }
  return { repository: store.name, images, manifests };
}

type RuleDraft = Record<string, unknown> & { selection: Record<string, unknown> };

const tagSelection = fc.oneof(
  fc.record({ tagStatus: fc.constant('tagged'), tagPatternList: fc.subarray(PATTERNS, { minLength: 1, maxLength: 2 }) }),
  fc.record({ tagStatus: fc.constant('tagged'), tagPrefixList: fc.subarray(PREFIXES, { minLength: 1, maxLength: 2 }) }),
  fc.constant({ tagStatus: 'untagged' }),
);

const standardRule: fc.Arbitrary<RuleDraft> = fc.tuple(
  tagSelection,
  fc.oneof(
    fc.record({ countType: fc.constant('imageCountMoreThan'), countNumber: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ countType: fc.constant('sinceImagePushed'), countUnit: fc.constant('days'), countNumber: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ countType: fc.constant('sinceImagePulled'), countUnit: fc.constant('days'), countNumber: fc.integer({ min: 1, max: 60 }) }),
  ),
  fc.boolean(),
).map(([tags, count, transition]) => ({
  selection: { ...tags, ...count },
  // sinceImagePulled can only transition ("Examples of lifecycle policies in Amazon ECR", Important note).
  action: transition || count.countType === 'sinceImagePulled' ? { type: 'transition', targetStorageClass: 'archive' } : { type: 'expire' },
}));

const archiveRule: fc.Arbitrary<RuleDraft> = fc.tuple(tagSelection, fc.integer({ min: 90, max: 400 })).map(([tags, days]) => ({
  selection: { ...tags, storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: days },
  action: { type: 'expire' },
}));

const anyStandard: fc.Arbitrary<RuleDraft> = standardRule.map((rule) => ({ ...rule, selection: { ...rule.selection, tagStatus: 'any', tagPatternList: undefined, tagPrefixList: undefined } }));

/** Valid policies only: priorities spread and shuffled, `any` rules last, then checked by the emulator's validation. */
const policyText: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.oneof({ weight: 3, arbitrary: standardRule }, { weight: 1, arbitrary: archiveRule }), { minLength: 1, maxLength: 4 }), fc.option(anyStandard, { nil: undefined }), fc.option(archiveRule, { nil: undefined }), fc.boolean())
  .map(([rules, any, anyArchive, sparse]) => {
    const all = [...rules, ...(any ? [any] : []), ...(anyArchive ? [{ ...anyArchive, selection: { ...anyArchive.selection, tagStatus: 'any', tagPatternList: undefined, tagPrefixList: undefined } }] : [])];
    return JSON.stringify({ rules: all.map((rule, i) => ({ rulePriority: sparse ? (i + 1) * 10 : i + 1, description: `rule ${i + 1}`, ...rule })) });
  })
  .filter((text) => {
    try {
      validateLifecyclePolicyText(text);
      return true;
    } catch {
      return false; // e.g. two untagged rules or the same tag list twice in one storage class
    }
  });

describe('the emulator engine and the janitor evaluator agree on what ECR does (faithful readings)', () => {
  it('gives every image the same action by the same rule', () => {
    let withActions = 0;
    let withHeldChildren = 0;
    fc.assert(
      fc.property(fc.array(imageSpec, { minLength: 1, maxLength: 10 }), policyText, (specs, text) => {
        // Prepare
        const { store } = repositoryOf(specs);
        const policy = validateLifecyclePolicyText(text);

        // Act
        const emulator = previewPolicy(store, policy, NOW, FAITHFUL_READINGS).map((e) => `${e.digest} ${e.action} ${e.rulePriority}`).sort();
        const janitor = [...evaluatePolicy(JSON.parse(text) as LifecyclePolicy, buildImageGraph(inventoryOf(store)), NOW)].map(([digest, o]) => `${digest} ${o.action} ${o.rulePriority}`).sort();

        // Assess
        expect(janitor).toEqual(emulator);
        if (emulator.length > 0) withActions += 1;
        const holds = store.allImages().some((image) => store.isListedByPresentIndex(image.digest) || (image.subjectDigest && store.image(image.subjectDigest)));
        if (holds) withHeldChildren += 1;
        // The readings only differ on what they are about: with no ties and nothing held, pessimistic sees the same.
        if (!holds) expect(previewPolicy(store, policy, NOW, PESSIMISTIC_READINGS).map((e) => `${e.digest} ${e.action} ${e.rulePriority}`).sort()).toEqual(emulator);
      }),
      { numRuns: 300 },
    );
    // Not vacuous: most cases act on something, and many hold index children or referrers.
    expect(withActions).toBeGreaterThan(100);
    expect(withHeldChildren).toBeGreaterThan(50);
  });

  it('under the pessimistic readings, the daily run still never removes or archives what a present index or subject holds', () => {
    let refusals = 0;
    fc.assert(
      fc.property(fc.array(imageSpec, { minLength: 1, maxLength: 10 }), policyText, (specs, text) => {
        // Prepare
        const { model, store } = repositoryOf(specs);
        store.policyText = text;
        const held = store
          .allImages()
          .filter((image) => store.parents(image.digest).some((p) => store.image(p)?.imageStatus !== 'ARCHIVED') || (image.subjectDigest !== undefined && store.image(image.subjectDigest)))
          .map((image) => ({ digest: image.digest, status: image.imageStatus ?? 'ACTIVE' }));

        // Act
        const run = runLifecycle(model, PESSIMISTIC_READINGS);

        // Assess: no rule expired or archived a held image; each is still there in the same state, unless it followed
        // its subject (a referrer of a referrer removed or archived tonight)
        const actedOn = new Set([...run.expired, ...run.transitioned].map((e) => e.digest));
        const followed = new Set([...run.referrersRemoved, ...run.referrersArchived].map((r) => r.digest));
        for (const { digest, status } of held) {
          expect(actedOn.has(digest)).toBe(false);
          if (followed.has(digest)) continue;
          expect(store.image(digest)).toBeDefined();
          expect(store.image(digest)!.imageStatus ?? 'ACTIVE').toBe(status);
        }
        refusals += run.refused.length;
      }),
      { numRuns: 200 },
    );
    expect(refusals).toBeGreaterThan(20);
  });

  it('agrees on a hand-made repository where every kind of image and rule meets (not vacuous)', () => {
    // Prepare: keep-* shielded, 2 newest v* kept, untagged after 5 days, not pulled for 30 days archived
    const { store } = repositoryOf([
      { kind: 'image', tags: ['v1'], ageDays: 50, picks: [0], absentSubject: false, storage: { state: 'standard' } },
      { kind: 'image', tags: ['v2'], ageDays: 40, picks: [0], absentSubject: false, storage: { state: 'standard' } },
      { kind: 'image', tags: ['keep-a'], ageDays: 300, picks: [0], absentSubject: false, storage: { state: 'standard' } },
      { kind: 'image', tags: [], ageDays: 10, picks: [0], absentSubject: false, storage: { state: 'standard' } },
      { kind: 'index', tags: ['prod-1'], ageDays: 3, picks: [4], absentSubject: false, storage: { state: 'standard' } }, // lists the untagged image
      { kind: 'image', tags: ['ci-1'], ageDays: 35, picks: [0], absentSubject: false, storage: { state: 'standard' } },
    ]);
    const text = JSON.stringify({
      rules: [
        { rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['keep-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 36500 }, action: { type: 'expire' } },
        { rulePriority: 2, selection: { tagStatus: 'tagged', tagPatternList: ['v*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
        { rulePriority: 3, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 5 }, action: { type: 'expire' } },
        { rulePriority: 4, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 }, action: { type: 'transition', targetStorageClass: 'archive' } },
      ],
    });

    // Act
    const emulator = previewPolicy(store, validateLifecyclePolicyText(text), NOW, FAITHFUL_READINGS).map((e) => [e.tags.join(',') || '(untagged)', e.action, e.rulePriority]);
    const janitor = evaluatePolicy(JSON.parse(text) as LifecyclePolicy, buildImageGraph(inventoryOf(store)), NOW);

    // Assess: v1 expired by rule 2, ci-1 archived by rule 4; the index child and keep-a stay
    expect(emulator).toEqual([
      ['v1', 'expire', 2],
      ['ci-1', 'transition', 4],
    ]);
    expect([...janitor.values()].map((o) => [o.action, o.rulePriority]).sort()).toEqual([['expire', 2], ['transition', 4]].sort());
  });
});
