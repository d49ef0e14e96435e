// The emulator's profiles: each open question of ECR read the faithful way and the pessimistic way, through the real
// SDK. Sources of each reading are in emulator/profiles.ts and the README table "Open questions and the emulator's
// profiles".
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  ImageTagAlreadyExistsException,
  InvalidParameterException,
  LifecyclePolicyPreviewInProgressException,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import { FAITHFUL, normalisePolicyText, PESSIMISTIC, profileNamed, withReadings } from '../../emulator/profiles.js';
import { ECR_RATE_QUOTAS, RateLimiter } from '../../emulator/rate-limits.js';
import { makeEmulatorClient, type EmulatorHandle } from '../../emulator/server.js';
import { imageManifest, OCI_MANIFEST, pushSingleImage } from '../../emulator/workload.js';
import { caught, useEmulator } from '../support/emulator-fixture.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const HOUR = 3_600_000;

const fixture = useEmulator({ now: T0 });
let emulator: EmulatorHandle;
let client: ECRClient;
beforeEach(() => {
  ({ emulator, client } = fixture);
});

/** Keys out of order, whitespace, rules out of priority order: what a human or a renderer might submit. */
const SUBMITTED_POLICY = `{
  "rules": [
    { "rulePriority": 20, "selection": { "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 3 }, "action": { "type": "expire" } },
    { "selection": { "tagStatus": "tagged", "tagPatternList": ["ci-*"], "countType": "imageCountMoreThan", "countNumber": 1 }, "rulePriority": 10, "action": { "type": "expire" }, "description": "keep one ci build" }
  ]
}`;

async function pushTagged(tag: string, seed: string): Promise<string> {
  return (await pushSingleImage(client, 'app', { tags: [tag], seed, bytes: 2_000 })).digest;
}

describe('BatchDeleteImage with both imageDigest and imageTag in one id', () => {
  it.each([
    ['faithful', 'removes the tag only (LocalStack)', true],
    ['pessimistic', 'deletes the whole image (moto)', false],
  ] as const)('%s: %s', async (profile, _reading, imageSurvives) => {
    // Prepare
    emulator.setProfile(profile);
    const digest = await pushTagged('v1', 'img');
    await client.send(new PutImageCommand({ repositoryName: 'app', imageManifest: imageManifest('img', 531).text, imageManifestMediaType: OCI_MANIFEST, imageTag: 'keep-me' }));

    // Act
    const result = await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: digest, imageTag: 'keep-me' }] }));

    // Assess
    expect(result.failures).toEqual([]);
    const left = (await client.send(new DescribeImagesCommand({ repositoryName: 'app' }))).imageDetails ?? [];
    if (imageSurvives) expect(left.map((d) => [d.imageDigest, d.imageTags])).toEqual([[digest, ['v1']]]);
    else expect(left).toEqual([]);
  });

  it('removes only the tag under both profiles when the id carries the tag alone', async () => {
    for (const profile of ['faithful', 'pessimistic'] as const) {
      // Prepare
      emulator.reset();
      emulator.setProfile(profile);
      await client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
      const digest = await pushTagged('v1', 'img');
      await client.send(new PutImageCommand({ repositoryName: 'app', imageManifest: imageManifest('img', 531).text, imageManifestMediaType: OCI_MANIFEST, imageTag: 'keep-me' }));

      // Act
      await client.send(new BatchDeleteImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'keep-me' }] }));

      // Assess
      const left = (await client.send(new DescribeImagesCommand({ repositoryName: 'app' }))).imageDetails ?? [];
      expect(left.map((d) => [d.imageDigest, d.imageTags])).toEqual([[digest, ['v1']]]);
    }
  });
});

describe('asynchronous lifecycle preview', () => {
  it('pessimistic: IN_PROGRESS for three polls, a second Start refused meanwhile, then COMPLETE with results', async () => {
    // Prepare
    emulator.setProfile('pessimistic');
    await pushTagged('ci-1', 'a');
    emulator.setClock(T0 + 1000);
    await pushTagged('ci-2', 'b');
    await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));

    // Act
    const secondStart = await caught(client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY })));
    const polls = [];
    for (let i = 0; i < 4; i++) polls.push(await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' })));

    // Assess
    expect(secondStart).toBeInstanceOf(LifecyclePolicyPreviewInProgressException);
    expect(polls.map((p) => p.status)).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'IN_PROGRESS', 'COMPLETE']);
    expect(polls.slice(0, 3).every((p) => p.previewResults === undefined || p.previewResults.length === 0)).toBe(true);
    expect(polls[3]!.previewResults).toHaveLength(1);
    expect(polls[3]!.previewResults![0]).toMatchObject({ imageTags: ['ci-1'], action: { type: 'EXPIRE' }, appliedRulePriority: 10 });
  });

  it('faithful: COMPLETE at the first poll, and a new Start replaces the previous preview', async () => {
    // Prepare
    emulator.setProfile('faithful');
    await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));

    // Act
    const again = await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));
    const poll = await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));

    // Assess
    expect(again.status).toBe('IN_PROGRESS');
    expect(poll.status).toBe('COMPLETE');
  });

  it('a preview stops being in progress after an hour of model time, so a janitor that stopped polling is not locked out', async () => {
    // Prepare
    emulator.setProfile('pessimistic');
    await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));
    emulator.setClock(T0 + HOUR);

    // Act
    const restarted = await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));

    // Assess
    expect(restarted.status).toBe('IN_PROGRESS');
  });

  it.each(['EXPIRED', 'FAILED'] as const)('ends %s when the fault says so, with no results', async (outcome) => {
    // Prepare
    emulator.setProfile(withReadings(PESSIMISTIC, { previewPollsInProgress: 1 }));
    await pushTagged('ci-1', 'a');
    await pushTagged('ci-2', 'b');
    emulator.setFaults({ previewOutcome: outcome });
    await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));

    // Act
    const first = await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));
    const last = await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));

    // Assess
    expect(first.status).toBe('IN_PROGRESS');
    expect(last.status).toBe(outcome);
    expect(last.previewResults ?? []).toEqual([]);
  });
});

describe('policy text as stored and returned', () => {
  it('pessimistic returns it normalised from PutLifecyclePolicy, GetLifecyclePolicy and the preview', async () => {
    // Prepare
    emulator.setProfile(withReadings(PESSIMISTIC, { previewPollsInProgress: 0 }));
    const normalised = normalisePolicyText(SUBMITTED_POLICY);

    // Act
    const put = await client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));
    const got = await client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' }));
    const started = await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));
    const preview = await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));

    // Assess
    expect(normalised).toBe(
      '{"rules":[{"action":{"type":"expire"},"description":"keep one ci build","rulePriority":10,"selection":{"countNumber":1,"countType":"imageCountMoreThan","tagPatternList":["ci-*"],"tagStatus":"tagged"}},' +
        '{"action":{"type":"expire"},"rulePriority":20,"selection":{"countNumber":3,"countType":"sinceImagePushed","countUnit":"days","tagStatus":"untagged"}}]}',
    );
    expect([put.lifecyclePolicyText, got.lifecyclePolicyText, started.lifecyclePolicyText, preview.lifecyclePolicyText]).toEqual([normalised, normalised, normalised, normalised]);
    expect(JSON.parse(normalised)).toEqual({ rules: [...JSON.parse(SUBMITTED_POLICY).rules].reverse() });
  });

  it('faithful returns the bytes as submitted', async () => {
    // Prepare
    emulator.setProfile('faithful');

    // Act
    const put = await client.send(new PutLifecyclePolicyCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));
    const got = await client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' }));

    // Assess
    expect([put.lifecyclePolicyText, got.lifecyclePolicyText]).toEqual([SUBMITTED_POLICY, SUBMITTED_POLICY]);
  });
});

describe('lastRecordedPullTime', () => {
  async function pullTimes(profile: 'faithful' | 'pessimistic'): Promise<(number | undefined)[]> {
    emulator.setProfile(profile);
    const digest = await pushTagged('v1', 'img');
    const seen: (number | undefined)[] = [];
    for (const offset of [HOUR, 5 * HOUR, DAY + 2 * HOUR]) {
      emulator.setClock(T0 + offset);
      await client.send(new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageDigest: digest }] }));
      const detail = (await client.send(new DescribeImagesCommand({ repositoryName: 'app' }))).imageDetails![0]!;
      seen.push(detail.lastRecordedPullTime?.getTime());
    }
    return seen;
  }

  it('faithful records every BatchGetImage as a pull', async () => {
    // Prepare, Act
    const seen = await pullTimes('faithful');

    // Assess
    expect(seen).toEqual([T0 + HOUR, T0 + 5 * HOUR, T0 + DAY + 2 * HOUR]);
  });

  it('pessimistic counts BatchGetImage as a pull but refreshes the time at most once a day', async () => {
    // Prepare, Act
    const seen = await pullTimes('pessimistic');

    // Assess
    expect(seen).toEqual([T0 + HOUR, T0 + HOUR, T0 + DAY + 2 * HOUR]);
  });
});

describe('equal push times', () => {
  it.each([
    ['faithful', 0],
    ['pessimistic', 1],
  ] as const)('%s ranks the tie so that image #%i of two pushed in the same millisecond expires first', async (profile, expiredIndex) => {
    // Prepare: the clock stands still, so both pushes carry the same push time.
    emulator.setProfile(withReadings(profileNamed(profile), { previewPollsInProgress: 0 }));
    const digests = [await pushTagged('ci-1', 'a'), await pushTagged('ci-2', 'b')];
    await client.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'app', lifecyclePolicyText: SUBMITTED_POLICY }));

    // Act
    const preview = await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'app' }));

    // Assess
    expect(preview.previewResults!.map((r) => r.imageDigest)).toEqual([digests[expiredIndex]]);
  });
});

describe('tag mutability with exclusion filters', () => {
  async function moveTag(tag: string): Promise<unknown> {
    await client.send(new PutImageCommand({ repositoryName: 'locked', imageManifest: imageManifest(`first-${tag}`, 100).text, imageManifestMediaType: OCI_MANIFEST, imageTag: tag }));
    return client
      .send(new PutImageCommand({ repositoryName: 'locked', imageManifest: imageManifest(`second-${tag}`, 100).text, imageManifestMediaType: OCI_MANIFEST, imageTag: tag }))
      .then(() => 'moved', (error: unknown) => error);
  }

  it('IMMUTABLE_WITH_EXCLUSION refuses to move a tag unless it matches a filter', async () => {
    // Prepare
    const created = await client.send(
      new CreateRepositoryCommand({
        repositoryName: 'locked',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }, { filterType: 'WILDCARD', filter: 'dev-*' }],
      }),
    );

    // Act
    const release = await moveTag('v1.0.0');
    const latest = await moveTag('latest');
    const dev = await moveTag('dev-feature');

    // Assess
    expect(created.repository).toMatchObject({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }, { filterType: 'WILDCARD', filter: 'dev-*' }] });
    expect(release).toBeInstanceOf(ImageTagAlreadyExistsException);
    expect([latest, dev]).toEqual(['moved', 'moved']);
  });

  it('MUTABLE_WITH_EXCLUSION (set by PutImageTagMutability) refuses to move only the tags matching a filter', async () => {
    // Prepare
    await client.send(new CreateRepositoryCommand({ repositoryName: 'locked' }));
    await client.send(
      new PutImageTagMutabilityCommand({ repositoryName: 'locked', imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'v*' }] }),
    );

    // Act
    const release = await moveTag('v2');
    const main = await moveTag('main');

    // Assess
    expect(release).toBeInstanceOf(ImageTagAlreadyExistsException);
    expect(main).toBe('moved');
  });

  it('refuses exclusion filters without an _WITH_EXCLUSION setting, and such a setting without filters', async () => {
    // Prepare: nothing

    // Act
    const filtersOnMutable = await caught(
      client.send(new CreateRepositoryCommand({ repositoryName: 'a1', imageTagMutability: 'IMMUTABLE', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'x' }] })),
    );
    const noFilters = await caught(client.send(new CreateRepositoryCommand({ repositoryName: 'a2', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' })));

    // Assess
    expect(filtersOnMutable).toBeInstanceOf(InvalidParameterException);
    expect(noFilters).toBeInstanceOf(InvalidParameterException);
    expect((noFilters as Error).message).toMatch(/imageTagMutabilityExclusionFilters/);
  });
});

describe('rate limits', () => {
  it('a token bucket per operation: the quota per second, then refused until time refills it', () => {
    // Prepare
    let now = 0;
    const limiter = new RateLimiter(ECR_RATE_QUOTAS, () => now);

    // Act
    const burst = Array.from({ length: 11 }, () => limiter.take('PutImage'));
    const otherOperation = limiter.take('DescribeImages');
    now += 100;
    const afterTenthOfSecond = [limiter.take('PutImage'), limiter.take('PutImage')];
    const unlisted = Array.from({ length: 1000 }, () => limiter.take('DescribeRegistry')).every(Boolean);

    // Assess: "Rate of PutImage requests: 10 per second" (Amazon ECR service quotas)
    expect(burst.filter(Boolean)).toHaveLength(10);
    expect(burst[10]).toBe(false);
    expect(otherOperation).toBe(true);
    expect(afterTenthOfSecond).toEqual([true, false]);
    expect(unlisted).toBe(true);
  });

  it('with rateLimits on, a burst of PutImage beyond the quota answers ThrottlingException and is counted', async () => {
    // Prepare
    emulator.setRateLimits(true);
    const oneShot = makeEmulatorClient(emulator.endpoint, { maxAttempts: 1 });

    // Act
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        oneShot.send(new PutImageCommand({ repositoryName: 'app', imageManifest: imageManifest(`burst-${i}`, 100).text, imageManifestMediaType: OCI_MANIFEST, imageTag: `b-${i}` })).then(
          () => 'ok',
          (error: unknown) => error,
        ),
      ),
    );
    oneShot.destroy();
    emulator.setRateLimits(false);

    // Assess
    const throttled = results.filter((r) => r !== 'ok');
    expect(throttled.length).toBeGreaterThan(0);
    for (const error of throttled) expect((error as Error).name).toBe('ThrottlingException');
    expect(emulator.stats().rateLimited).toBe(throttled.length);
  });
});

describe('profile switching', () => {
  it('reports the profile it plays and keeps it across reset', () => {
    // Prepare
    emulator.setProfile('faithful');

    // Act
    const before = emulator.profile();
    emulator.reset();
    const after = emulator.profile();

    // Assess
    expect(before).toEqual({ profile: 'faithful', readings: FAITHFUL, rateLimits: false });
    expect(after.profile).toBe('faithful');
    expect(() => profileNamed('optimistic')).toThrow(/faithful, pessimistic/);
  });
});
