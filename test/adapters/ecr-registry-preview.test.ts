// ECR's lifecycle preview through the adapter: polled until COMPLETE, paged, and refused when it is not ours.
import { describe, expect, test } from 'vitest';
import { createEcrRegistry, makeEcrClient } from '../../lambda/adapters/ecr-registry.js';
import { byOperation, digestOf, fakeTransport, ok, type Responder, TEST_CREDENTIALS } from './fake-aws.js';

const POLICY = '{"rules":[]}';

function registryWith(respond: Responder) {
  const transport = fakeTransport(respond);
  const client = makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
  const registry = createEcrRegistry(client, { sleep: async () => {}, previewPollMs: 0, previewTimeoutMs: 60_000 });
  return { registry, transport };
}

describe('previewLifecyclePolicy', () => {
  test('waits while IN_PROGRESS, then pages through the results and keeps only expirations', async () => {
    // Prepare
    let polls = 0;
    const { registry, transport } = registryWith(
      byOperation({
        StartLifecyclePolicyPreview: () => ok({ status: 'IN_PROGRESS', lifecyclePolicyText: POLICY }),
        GetLifecyclePolicyPreview: (request) => {
          polls += 1;
          if (polls === 1) return ok({ status: 'IN_PROGRESS' });
          if (request.json.nextToken === undefined) {
            return ok({
              status: 'COMPLETE',
              lifecyclePolicyText: POLICY,
              previewResults: [
                { imageDigest: digestOf('a'), action: { type: 'EXPIRE' }, appliedRulePriority: 3 },
                { imageDigest: digestOf('b'), action: { type: 'TRANSITION' }, appliedRulePriority: 4 },
              ],
              nextToken: 'more',
            });
          }
          return ok({ status: 'COMPLETE', lifecyclePolicyText: POLICY, previewResults: [{ imageDigest: digestOf('c'), action: { type: 'EXPIRE' } }] });
        },
      }),
    );

    // Act
    const preview = await registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    expect(preview.expiring).toEqual([{ digest: digestOf('a'), rulePriority: 3 }, { digest: digestOf('c') }]);
    expect(transport.count('GetLifecyclePolicyPreview')).toBe(3);
    expect(transport.requests.find((r) => r.operation === 'StartLifecyclePolicyPreview')?.json).toMatchObject({ repositoryName: 'app', lifecyclePolicyText: POLICY });
  });

  test.each([
    ['FAILED', {}, /ended FAILED/],
    ['COMPLETE', { lifecyclePolicyText: '{"rules":[{"other":1}]}' }, /another policy text/],
  ])('refuses a preview that is %s %j', async (status, extra, message) => {
    // Prepare
    const { registry } = registryWith(
      byOperation({
        StartLifecyclePolicyPreview: () => ok({ status: 'IN_PROGRESS' }),
        GetLifecyclePolicyPreview: () => ok({ status, ...extra, previewResults: [] }),
      }),
    );

    // Act
    const attempt = registry.previewLifecyclePolicy('app', POLICY);

    // Assess
    await expect(attempt).rejects.toThrow(message);
  });
});
