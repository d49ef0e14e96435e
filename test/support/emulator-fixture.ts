// One emulator per test file, reset before each test with an empty repository `app` and the clock at `now`.
import { CreateRepositoryCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type EmulatorHandle, makeEmulatorClient, startEmulator } from '../../emulator/server.js';

export interface EmulatorFixture {
  emulator: EmulatorHandle;
  client: ECRClient;
}

export function useEmulator(options: { now: number; repository?: string }): EmulatorFixture {
  const fixture = {} as EmulatorFixture;
  beforeAll(async () => {
    fixture.emulator = await startEmulator({ now: options.now });
    fixture.client = makeEmulatorClient(fixture.emulator.endpoint);
  });
  afterAll(async () => {
    fixture.client.destroy();
    await fixture.emulator.close();
  });
  beforeEach(async () => {
    fixture.emulator.reset();
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
