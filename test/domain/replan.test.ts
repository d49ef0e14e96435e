// The domain's decisions around applying a plan (issue 12, Build 6): whether a fresh inventory changed, whether a
// re-plan may stand in when ECR's preview disagrees, which policy waits are refusals, what a dry run would write, and
// the hold of a repository that failed before its plan was applied.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { holdAfterFailure } from '../../lambda/domain/holds.js';
import { describePlannedActions, type PolicyWait, policyWaitNote, refusalOf } from '../../lambda/domain/planned-actions.js';
import { planRepository } from '../../lambda/domain/planner.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { isHoldPolicy, parsePolicyText, policyToText, renderPolicy } from '../../lambda/domain/policy.js';
import type { PreviewVerdict } from '../../lambda/domain/preview-check.js';
import { judgeInstall, replanStandsIn, sameImages } from '../../lambda/domain/replan.js';
import type { RepositoryPlan } from '../../lambda/domain/types.js';
import { DAY, InventoryBuilder, T0 } from '../support/inventory-builder.js';

const config = parseConfig({ maxExpireShare: 1, ciTags: [{ pattern: 'ci-*', keep: 2 }] }, 'test');

function repository(): { repo: InventoryBuilder; pinned: string } {
  const repo = new InventoryBuilder();
  const pinned = repo.single({ tags: ['ci-1'], pushedAt: T0 });
  for (let n = 2; n <= 5; n++) repo.single({ tags: [`ci-${n}`], pushedAt: T0 + n * DAY });
  return { repo, pinned };
}

function planOf(repo: InventoryBuilder, pinned: string[] = []): RepositoryPlan {
  return planRepository({
    inventory: repo.inventory(),
    config,
    pins: { known: true, digests: new Map(pinned.map((d) => [d, ['ecs:prod/api']])) },
    state: null,
    currentPolicyText: null,
    now: T0 + 10 * DAY,
  });
}

describe('sameImages', () => {
  it('is true for the same images and tags, our own protection tags aside', () => {
    // Prepare
    const { repo, pinned } = repository();
    const planned = repo.inventory();
    const ownTag = { digest: pinned, tag: protectionTagFor(pinned), reason: 'pinned by ecs:prod/api' };
    repo.tag(ownTag.tag, pinned);

    // Act
    const same = sameImages(repo.inventory(), planned, [ownTag]);

    // Assess
    expect(same).toBe(true);
  });

  it('is false after a push, a deletion or a tag that moved', () => {
    // Prepare
    const { repo } = repository();
    const planned = repo.inventory();
    const pushed = new InventoryBuilder();
    for (const image of planned.images) pushed.images.push({ ...image, tags: [...image.tags] });
    pushed.single({ tags: ['ci-6'], pushedAt: T0 + 6 * DAY });
    const deleted = { ...planned, images: planned.images.slice(1) };
    const moved = { ...planned, images: planned.images.map((image, i) => (i === 0 ? { ...image, tags: ['ci-9'] } : image)) };

    // Act
    const verdicts = [sameImages(pushed.inventory(), planned, []), sameImages(deleted, planned, []), sameImages(moved, planned, [])];

    // Assess
    expect(verdicts).toEqual([false, false, false]);
  });
});

describe('a re-plan standing in for the plan', () => {
  it('stands in only when it installs with nothing new to protect and is not blocked', () => {
    // Prepare: a plan with a pin (adds a protection tag) and one without.
    const { repo, pinned } = repository();
    const withNewPin = planOf(repo, [pinned]);
    const plain = planOf(repo);
    const blocked = { ...plain, blocked: 'pin discovery failed' };
    const refused = { ...plain, policy: { ...plain.policy, action: 'refuse' as const } };

    // Act
    const verdicts = [replanStandsIn(plain), replanStandsIn(withNewPin), replanStandsIn(blocked), replanStandsIn(refused)];

    // Assess
    expect(withNewPin.protectTags.add).toHaveLength(1);
    expect(verdicts).toEqual([true, false, false, false]);
  });

  it('without a fresh plan, follows the preview verdict: install, disagreement, or a refusal that waits', () => {
    // Prepare
    const agree: PreviewVerdict = { disagrees: false };
    const disagree: PreviewVerdict = { disagrees: true, refusal: "ECR's preview would expire 1 image(s) the plan keeps" };
    const share: PreviewVerdict = { disagrees: false, refusal: 'more than maxExpireShare 0.5' };
    const recheck = () => {
      throw new Error('no fresh plan: nothing to recheck');
    };

    // Act
    const judged = [judgeInstall(agree, undefined, recheck), judgeInstall(disagree, undefined, recheck), judgeInstall(share, undefined, recheck)];

    // Assess
    expect(judged).toEqual([
      { kind: 'install' },
      { kind: 'disagrees', message: "ECR's preview would expire 1 image(s) the plan keeps" },
      { kind: 'wait', wait: { kind: 'preview-refused', reason: 'more than maxExpireShare 0.5' } },
    ]);
  });

  it('a fresh plan that needs new protection makes the policy wait for the next run, without asking the preview again', () => {
    // Prepare
    const { repo, pinned } = repository();
    const fresh = planOf(repo, [pinned]);
    let rechecked = 0;

    // Act
    const judged = judgeInstall({ disagrees: true, refusal: 'disagrees' }, fresh, () => {
      rechecked += 1;
      return { disagrees: false };
    });

    // Assess
    expect(judged).toEqual({ kind: 'wait', wait: { kind: 'repository-changed' } });
    expect(rechecked).toBe(0);
  });

  it('a fresh plan that stands in is held against the same preview: its verdict decides', () => {
    // Prepare
    const { repo } = repository();
    const fresh = planOf(repo);
    const checked: RepositoryPlan[] = [];

    // Act
    const agrees = judgeInstall({ disagrees: true, refusal: 'old plan disagrees' }, fresh, (p) => (checked.push(p), { disagrees: false }));
    const stillDisagrees = judgeInstall({ disagrees: true, refusal: 'old plan disagrees' }, fresh, () => ({ disagrees: true, refusal: 'fresh plan disagrees too' }));

    // Assess
    expect(checked).toEqual([fresh]);
    expect(agrees).toEqual({ kind: 'install' });
    expect(stillDisagrees).toEqual({ kind: 'disagrees', message: 'fresh plan disagrees too' });
  });
});

describe('policy waits', () => {
  it('keep the report wording, and only a refusal the next run does not resolve by itself sets status refused', () => {
    // Prepare
    const waits: PolicyWait[] = [
      { kind: 'protection-incomplete' },
      { kind: 'repository-changed' },
      { kind: 'policy-changed' },
      { kind: 'preview-refused', reason: 'more than maxExpireShare 0.5; policy not installed' },
      { kind: 'preview-not-completed', reason: 'the preview is still running' },
      { kind: 'install-failed' },
    ];

    // Act
    const notes = waits.map(policyWaitNote);
    const refusals = waits.map(refusalOf);

    // Assess
    expect(notes).toEqual([
      'install lifecycle policy: waits until every protection tag is in place',
      'install lifecycle policy: the repository changed during the run and needs another look (new protection or a refusal); the policy waits for the next run',
      'install lifecycle policy: the installed policy changed during the run (another run or a person); it waits for the next run',
      'install lifecycle policy: more than maxExpireShare 0.5; policy not installed',
      'install lifecycle policy: the preview is still running',
      'install lifecycle policy: the preview or the install failed; the installed policy is unchanged',
    ]);
    expect(refusals).toEqual([
      undefined,
      undefined,
      undefined,
      'more than maxExpireShare 0.5; policy not installed',
      'the preview is still running',
      'the preview or the install failed; the installed policy is unchanged',
    ]);
  });

  it('a refusal whose own text says "changed during the run" is still a refusal (the kind decides, not the words)', () => {
    // Prepare
    const wait: PolicyWait = { kind: 'preview-refused', reason: 'the images changed during the run; waits until every protection tag is checked' };

    // Act
    const refusal = refusalOf(wait);

    // Assess
    expect(refusal).toBe(wait.reason);
  });
});

describe('describePlannedActions', () => {
  it('lists the writes in the order they are applied: tags added, the policy, tags removed', () => {
    // Prepare
    const { repo, pinned } = repository();
    const plan = planOf(repo, [pinned]);
    const withRemoval = { ...plan, protectTags: { ...plan.protectTags, remove: [{ digest: 'sha256:old', tag: 'keep-sha256-old', reason: 'lapsed' }] } };
    const held = { ...plan, protectTags: { add: [], remove: [] }, policy: { ...plan.policy, action: 'hold' as const } };

    // Act
    const actions = describePlannedActions(withRemoval);
    const holdActions = describePlannedActions(held);

    // Assess
    expect(actions).toEqual([`add tag ${protectionTagFor(pinned)}`, 'install lifecycle policy', 'remove tag keep-sha256-old']);
    expect(holdActions).toEqual(['put the lifecycle policy on hold']);
  });
});

describe('holdAfterFailure', () => {
  const ours = policyToText(renderPolicy(config));
  const teams = policyToText({ rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }] });

  it('holds a janitor-written policy, and fails closed when the policy in force could not be read', () => {
    // Act
    const held = holdAfterFailure(ours, { afterWrites: false, dryRun: false });
    const unknown = holdAfterFailure(undefined, { afterWrites: false, dryRun: false });

    // Assess
    expect(held !== undefined && isHoldPolicy(parsePolicyText(held))).toBe(true);
    expect(unknown !== undefined && isHoldPolicy(parsePolicyText(unknown))).toBe(true);
  });

  it('puts no hold after writes began, in a dry run, with no policy, or over the team\'s own policy', () => {
    // Act
    const verdicts = [
      holdAfterFailure(ours, { afterWrites: true, dryRun: false }),
      holdAfterFailure(ours, { afterWrites: false, dryRun: true }),
      holdAfterFailure(null, { afterWrites: false, dryRun: false }),
      holdAfterFailure(teams, { afterWrites: false, dryRun: false }),
    ];

    // Assess
    expect(verdicts).toEqual([undefined, undefined, undefined, undefined]);
  });
});
