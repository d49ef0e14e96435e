import { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, test } from 'vitest';
import { createSsmPinSource } from '../../lambda/adapters/pins-ssm.js';
import { byOperation, digestOf, fakeTransport, jsonError, ok, TEST_CREDENTIALS } from './fake-aws.js';

const REGISTRY = { accountId: '111122223333', region: 'eu-west-1' };
const HOST = '111122223333.dkr.ecr.eu-west-1.amazonaws.com';
const PARAMETER = '/ecr-janitor/pins';

function ssmSourceHolding(value: string) {
  const transport = fakeTransport(
    byOperation({ GetParameter: (request) => ok({ Parameter: { Name: request.json.Name, Type: 'StringList', Value: value } }) }),
  );
  const client = new SSMClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
  return { source: createSsmPinSource(client, PARAMETER, REGISTRY), transport };
}

describe('SSM pin source', () => {
  test('reads the JSON format', async () => {
    // Prepare
    const digest = digestOf('app');
    const { source, transport } = ssmSourceHolding(JSON.stringify([{ repository: 'app', digest }, { repository: 'team/web', tag: '1.4' }]));

    // Act
    const references = await source.discover();

    // Assess
    expect(references).toEqual([
      { repository: 'app', digest, source: `ssm:${PARAMETER}` },
      { repository: 'team/web', tag: '1.4', source: `ssm:${PARAMETER}` },
    ]);
    expect(transport.requests[0]!.json.Name).toBe(PARAMETER);
  });

  test('reads image URIs separated by newlines and commas, keeping only this registry', async () => {
    // Prepare
    const digest = digestOf('web');
    const value = [`${HOST}/app:1.4, ${HOST}/team/web:2@${digest}`, '', `999988887777.dkr.ecr.eu-west-1.amazonaws.com/app:9`, `${HOST}/batch`].join('\n');
    const { source } = ssmSourceHolding(value);

    // Act
    const references = await source.discover();

    // Assess
    expect(references).toEqual([
      { repository: 'app', tag: '1.4', source: `ssm:${PARAMETER}` },
      { repository: 'team/web', tag: '2', digest, source: `ssm:${PARAMETER}` },
      { repository: 'batch', tag: 'latest', source: `ssm:${PARAMETER}` },
    ]);
  });

  test.each([
    ['a bare name', 'app:1.4', /"app:1.4" is not an ECR image URI/],
    ['broken JSON', '[{"repository":', /not valid JSON/],
    ['an entry without digest or tag', '[{"repository":"app"}]', /entry \[0\] needs a digest or a tag/],
    ['a short digest', '[{"repository":"app","digest":"sha256:abc"}]', /entry \[0\]\.digest/],
    ['a misspelt key', '[{"repository":"app","tags":"1"}]', /unknown key\(s\) tags/],
  ])('%s is an error naming the parameter and the expected format', async (_, value, problem) => {
    // Prepare
    const { source } = ssmSourceHolding(value);

    // Act
    const discovery = source.discover();

    // Assess
    await expect(discovery).rejects.toThrow(problem);
    await expect(discovery).rejects.toThrow(/SSM parameter \/ecr-janitor\/pins: .*expected a JSON array like/);
  });

  test('a missing parameter is an error that says how to create it', async () => {
    // Prepare
    const transport = fakeTransport(byOperation({ GetParameter: () => jsonError('ParameterNotFound', 'not found') }));
    const client = new SSMClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
    const source = createSsmPinSource(client, PARAMETER, REGISTRY);

    // Act
    const discovery = source.discover();

    // Assess
    await expect(discovery).rejects.toThrow(/SSM parameter \/ecr-janitor\/pins \(pins.ssmParameter\) does not exist; create it with a JSON array/);
  });
});
