// One emulator per test file, reset before each test with an empty repository `app`, the clock at `now` and the
// profile asked for: pessimistic unless told (the worst plausible reading of what AWS leaves open, emulator/profiles.ts).
// The client retries as the SDK does (3 attempts) without the backoff waits (support/retries.ts).
import { CreateRepositoryCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { ProfileName } from '../../emulator/profiles.js';
import { type EmulatorHandle, startEmulator } from '../../emulator/server.js';
import { zeroDelayEmulatorClient } from './retries.js';

export interface EmulatorFixture {
  emulator: EmulatorHandle;
  client: ECRClient;
}

export function useEmulator(options: { now: number; repository?: string; profile?: ProfileName }): EmulatorFixture {
  const fixture = {} as EmulatorFixture;
  const profile = options.profile ?? 'pessimistic';
  beforeAll(async () => {
    fixture.emulator = await startEmulator({ now: options.now, profile });
    fixture.client = zeroDelayEmulatorClient(fixture.emulator.endpoint);
  });
  afterAll(async () => {
    fixture.client.destroy();
    await fixture.emulator.close();
  });
  beforeEach(async () => {
    fixture.emulator.reset();
    fixture.emulator.setProfile(profile);
    fixture.emulator.setClock(options.now);
    await fixture.client.send(new CreateRepositoryCommand({ repositoryName: options.repository ?? 'app' }));
  });
  return fixture;
}

/** The error a call rejects with; a call that succeeds fails the test. */
export async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
