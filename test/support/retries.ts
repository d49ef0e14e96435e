// Zero-delay SDK retries, injected (issue 12: rather than mocking Math.random). It is the SDK's own
// StandardRetryStrategy, so what is retried (throttling and transient errors), how many attempts and the retry quota
// stay the SDK's decisions; only the backoff between attempts is 0 ms. Source: AWS SDK for JavaScript v3 developer
// guide, "Retry strategies"; @smithy/util-retry (now @smithy/core/retry). The janitor's clients take it through
// makeEcrClient's `retryStrategy` (test/support/emulator-janitor.ts).
import { ECRClient } from '@aws-sdk/client-ecr';
import { StandardRetryStrategy } from '@smithy/core/retry';

/** The SDK's standard retries (3 attempts unless told) with no wait between attempts. */
export function zeroDelayRetries(maxAttempts = 3): StandardRetryStrategy {
  return new StandardRetryStrategy({ maxAttempts, backoff: { computeNextBackoffDelay: () => 0, setDelayBase: () => {} } });
}

/** A plain ECR client for the emulator (fixed region, throwaway credentials) whose retries do not wait. */
export function zeroDelayEmulatorClient(endpoint: string, maxAttempts = 3): ECRClient {
  return new ECRClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryStrategy: zeroDelayRetries(maxAttempts),
  });
}
