// ECR's lifecycle preview through the adapter: asynchronous (StartLifecyclePolicyPreview, then
// GetLifecyclePolicyPreview until COMPLETE — API reference), waited for within a bound, paged, both EXPIRE and
// TRANSITION results read, and refused when it is not an answer about our policy. Anything but a COMPLETE preview of
// our text is PreviewNotCompleted: "not installed tonight", never permission.
import { describe, expect, test } from 'vitest';
import { createEcrRegistry, makeEcrClient, type EcrRegistryOptions } from '../../lambda/adapters/ecr-registry.js';
import { PreviewNotCompletedError } from '../../lambda/app/ports.js';
import { byOperation, digestOf, fakeTransport, jsonError, ok, type Responder, TEST_CREDENTIALS } from './fake-aws.js';

const POLICY = JSON.stringify({
  rules: [
    { rulePriority: 2, description: 'untagged', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: { type: 'expire' } },
    { rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: { type: 'transition', targetStorageClass: 'archive' } },
  ],
});

/** A fake clock the fake sleep moves on, so waits are counted, not timed. */
function registryWith(respond: Responder, options: EcrRegistryOptions = {}) {
  const transport = fakeTransport(respond);
  const client = makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, maxAttempts: 1 });
  let clock = 0;
  const sleeps: number[] = [];
  const registry = createEcrRegistry(client, {
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    previewPollMs: 1_000,
    previewMaxPollMs: 8_000,
    previewTimeoutMs: 60_000,
    ...options,
  });
  return { registry, transport, sleeps };
}

const complete = (extra: Record<string, unknown> = {}) => ok({ status: 'COMPLETE', lifecyclePolicyText: POLICY, previewResults: [], ...extra });

describe('previewLifecyclePolicy', () => {
  test('waits with backoff while IN_PROGRESS, then pages through EXPIRE and TRANSITION results', async () => {
    // Prepare
    let polls = 0;
    const { registry, transport, sleeps } = registryWith(
      byOperation({
        StartLifecyclePolicyPreview: () => ok({ status: 'IN_PROGRESS', lifecyclePolicyText: POLICY }),
        GetLifecyclePolicyPreview: (request) => {
          polls += 1;
          if (polls <= 5) return ok({ status: 'IN_PROGRESS' });
          if (request.json.nextToken === undefined) {
            return complete({
              previewResults: [
                { imageDigest: digestOf('a'), action: { type: 'EXPIRE' }, appliedRulePriority: 2 },
                { imageDigest: digestOf('b'), action: { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' }, appliedRulePriority: 1 },
              ],
              nextToken: 'more',
            });
          }
          return complete({ previewResults: [{ imageDigest: digestOf('c'), action: { type: 'EXPIRE' } }] });
        },
      }),
    );

    // Act
    const preview = await registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    expect(preview).toEqual({
      expiring: [{ digest: digestOf('a'), rulePriority: 2 }, { digest: digestOf('c') }],
      transitioning: [{ digest: digestOf('b'), rulePriority: 1, targetStorageClass: 'ARCHIVE' }],
    });
    expect(sleeps).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(transport.count('GetLifecyclePolicyPreview')).toBe(7);
    expect(transport.requests.at(-1)!.json).toMatchObject({ repositoryName: 'app', nextToken: 'more' });
  });

  test('accepts the policy text handed back normalised (keys reordered, whitespace gone, rules sorted, defaults explicit)', async () => {
    // Prepare: what an ECR that normalises stored text could answer for POLICY.
    const parsed = JSON.parse(POLICY) as { rules: { rulePriority: number; selection: object; action: object; description?: string }[] };
    const normalised = JSON.stringify({
      rules: [...parsed.rules]
        .sort((a, b) => a.rulePriority - b.rulePriority)
        .map((r) => ({ action: r.action, selection: { storageClass: 'standard', ...r.selection }, rulePriority: r.rulePriority, ...(r.description ? { description: r.description } : {}) })),
    });
    const { registry } = registryWith(
      byOperation({
        StartLifecyclePolicyPreview: () => ok({ status: 'IN_PROGRESS' }),
        GetLifecyclePolicyPreview: () => complete({ lifecyclePolicyText: normalised, previewResults: [{ imageDigest: digestOf('a'), action: { type: 'EXPIRE' } }] }),
      }),
    );

    // Act
    const preview = await registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    expect(normalised).not.toBe(POLICY);
    expect(preview.expiring).toEqual([{ digest: digestOf('a') }]);
  });

  test('waits for a preview someone else started, then starts its own', async () => {
    // Prepare: the first Start meets another preview (LifecyclePolicyPreviewInProgressException), which completes after 2 polls.
    let starts = 0;
    let polls = 0;
    const { registry, transport } = registryWith(
      byOperation({
        StartLifecyclePolicyPreview: () =>
          ++starts === 1 ? jsonError('LifecyclePolicyPreviewInProgressException', 'The previous lifecycle policy preview request has not completed') : ok({ status: 'IN_PROGRESS' }),
        GetLifecyclePolicyPreview: () => (++polls <= 2 ? ok({ status: 'IN_PROGRESS' }) : complete()),
      }),
    );

    // Act
    const preview = await registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    expect(preview).toEqual({ expiring: [], transitioning: [] });
    expect(transport.requests.map((r) => r.operation)).toEqual([
      'StartLifecyclePolicyPreview',
      'GetLifecyclePolicyPreview',
      'GetLifecyclePolicyPreview',
      'GetLifecyclePolicyPreview',
      'StartLifecyclePolicyPreview',
      'GetLifecyclePolicyPreview',
    ]);
  });

  test.each([
    { name: 'still IN_PROGRESS at the deadline', start: () => ok({ status: 'IN_PROGRESS' }), get: () => ok({ status: 'IN_PROGRESS' }), message: /was still IN_PROGRESS after 60 s; policy not installed/ },
    {
      name: 'blocked by another preview until the deadline',
      start: () => jsonError('LifecyclePolicyPreviewInProgressException', 'busy'),
      get: () => ok({ status: 'IN_PROGRESS' }),
      message: /could not start: another preview of the repository was still running after 60 s/,
    },
    { name: 'EXPIRED', start: () => ok({ status: 'IN_PROGRESS' }), get: () => ok({ status: 'EXPIRED' }), message: /ended EXPIRED; policy not installed/ },
    { name: 'FAILED', start: () => ok({ status: 'IN_PROGRESS' }), get: () => ok({ status: 'FAILED' }), message: /ended FAILED/ },
    {
      name: 'COMPLETE for another policy text',
      start: () => ok({ status: 'IN_PROGRESS' }),
      get: () => complete({ lifecyclePolicyText: POLICY.replace('"countNumber":3', '"countNumber":4') }),
      message: /is for another policy text/,
    },
    { name: 'COMPLETE for a text that is not a policy', start: () => ok({ status: 'IN_PROGRESS' }), get: () => complete({ lifecyclePolicyText: 'not json' }), message: /is for another policy text/ },
    {
      name: 'listing an action it does not know',
      start: () => ok({ status: 'IN_PROGRESS' }),
      get: () => complete({ previewResults: [{ imageDigest: digestOf('a'), action: { type: 'SHRED' } }] }),
      message: /with an action we do not know \(SHRED\)/,
    },
  ])('a preview $name is PreviewNotCompleted, never an empty answer', async ({ start, get, message }) => {
    // Prepare
    const { registry, sleeps } = registryWith(byOperation({ StartLifecyclePolicyPreview: start, GetLifecyclePolicyPreview: get }));

    // Act
    const attempt = registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    await expect(attempt).rejects.toThrow(PreviewNotCompletedError);
    await expect(attempt).rejects.toThrow(message);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(60_000);
  });

  test('waits with zero delays are still bounded (a preview that never completes cannot spin forever)', async () => {
    // Prepare
    const { registry, transport } = registryWith(
      byOperation({ StartLifecyclePolicyPreview: () => ok({ status: 'IN_PROGRESS' }), GetLifecyclePolicyPreview: () => ok({ status: 'IN_PROGRESS' }) }),
      { previewPollMs: 0 },
    );

    // Act
    const attempt = registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    await expect(attempt).rejects.toThrow(PreviewNotCompletedError);
    expect(transport.count('GetLifecyclePolicyPreview')).toBeLessThanOrEqual(201);
  });

  test('any other error of Start (access, an invalid policy) is thrown as it is', async () => {
    // Prepare
    const { registry } = registryWith(byOperation({ StartLifecyclePolicyPreview: () => jsonError('AccessDeniedException', 'no') }));

    // Act
    const attempt = registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
