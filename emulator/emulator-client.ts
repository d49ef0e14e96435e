// An ECRClient pointed at the emulator: fixed region and throwaway credentials, since nothing is signed-checked.
import { ECRClient } from '@aws-sdk/client-ecr';

export interface EmulatorClientOptions {
  /** SDK attempts per call (first try included); the SDK default is 3. */
  maxAttempts?: number;
}

export function makeEmulatorClient(endpoint: string, options: EmulatorClientOptions = {}): ECRClient {
  return new ECRClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  });
}
