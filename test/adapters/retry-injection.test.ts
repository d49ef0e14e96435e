// makeEcrClient's retryStrategy (issue 12): tests inject the SDK's own StandardRetryStrategy with zero backoff
// (test/support/retries.ts). The SDK still decides what is retried and how often; only the waiting goes. Throttling is
// retryable and ValidationException is not: AWS SDK for JavaScript v3 developer guide, "Retry strategies".
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { makeEcrClient } from '../../lambda/adapters/ecr-registry.js';
import { zeroDelayRetries } from '../support/retries.js';
import { byOperation, fakeTransport, type Responder, TEST_CREDENTIALS } from './fake-aws.js';

const THROTTLED = { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };

/** Answers ThrottlingException `times` times, then an empty repository list. */
function throttledThen(times: number): Responder {
  let calls = 0;
  return () => (++calls <= times ? THROTTLED : { body: { repositories: [] } });
}

describe('an injected retry strategy', () => {
  it('retries throttling as the SDK decides, with no delay between attempts', async () => {
    // Prepare
    const transport = fakeTransport(byOperation({ DescribeRepositories: throttledThen(3) }));
    const client = makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, retryStrategy: zeroDelayRetries(4) });

    // Act
    const response = await client.send(new DescribeRepositoriesCommand({}));

    // Assess
    expect(response.$metadata).toMatchObject({ attempts: 4, totalRetryDelay: 0 });
    expect(transport.count('DescribeRepositories')).toBe(4);
  });

  it('replaces the default 8 attempts: a call throttled past the injected maximum fails after exactly that many', async () => {
    // Prepare
    const transport = fakeTransport(byOperation({ DescribeRepositories: throttledThen(10) }));
    const client = makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, retryStrategy: zeroDelayRetries(2) });

    // Act
    const error = await client.send(new DescribeRepositoriesCommand({})).catch((e: unknown) => e as Error & { $metadata?: { attempts?: number } });

    // Assess
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 2 } });
    expect(transport.count('DescribeRepositories')).toBe(2);
  });

  it('does not retry what the SDK does not retry (ValidationException)', async () => {
    // Prepare
    const transport = fakeTransport(byOperation({ DescribeRepositories: () => ({ status: 400, body: { __type: 'ValidationException', message: 'bad' } }) }));
    const client = makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, retryStrategy: zeroDelayRetries(5) });

    // Act
    const error = await client.send(new DescribeRepositoriesCommand({})).catch((e: unknown) => e as Error);

    // Assess
    expect(error).toMatchObject({ name: 'ValidationException' });
    expect(transport.count('DescribeRepositories')).toBe(1);
  });
});
