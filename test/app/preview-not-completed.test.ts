// A lifecycle preview the janitor cannot finish (EXPIRED, FAILED, still IN_PROGRESS at the deadline) means "policy not
// installed tonight", never permission, and the report says so: a failure a person sees, the reason in notDone.
// API reference, GetLifecyclePolicyPreview: status IN_PROGRESS | COMPLETE | EXPIRED | FAILED.
import type { ECRClient } from '@aws-sdk/client-ecr';
import { CreateRepositoryCommand, GetLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PESSIMISTIC, withReadings } from '../../emulator/profiles.js';
import { type EmulatorHandle, makeEmulatorClient, startEmulator } from '../../emulator/server.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { createEcrRegistry, type EcrRegistryOptions } from '../../lambda/adapters/ecr-registry.js';
import type { StateStore } from '../../lambda/app/ports.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { parseConfig } from '../../lambda/domain/config.js';

const CONFIG = parseConfig({ maxExpireShare: 1, pins: { ecs: false, lambda: false } }, 'test');
const quiet = { info() {}, warn() {}, error() {} };
const noState: StateStore = { load: async () => null, save: async () => {} };

let emulator: EmulatorHandle;
let client: ECRClient;

beforeEach(async () => {
  emulator = await startEmulator({ now: Date.UTC(2026, 0, 1), profile: 'pessimistic' });
  client = makeEmulatorClient(emulator.endpoint);
  await client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
  await pushSingleImage(client, 'app', { tags: ['v1'], seed: 'v1', bytes: 1_000 });
});

afterEach(async () => {
  client.destroy();
  await emulator.close();
});

/** One run; the preview wait runs on a fake clock its sleeps move on. */
async function run(options: EcrRegistryOptions = {}) {
  let clock = 0;
  const registry = createEcrRegistry(client, { sleep: async (ms) => void (clock += ms), now: () => clock, ...options });
  const report = await runJanitor({ registry, pinSources: [], stateStore: noState, clock: { now: () => emulator.now() }, log: quiet }, { config: CONFIG, mode: 'run' });
  return report.repositories[0]!;
}

async function installedPolicy(): Promise<string | undefined> {
  try {
    return (await client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' }))).lifecyclePolicyText;
  } catch {
    return undefined;
  }
}

describe('a lifecycle preview that gives no answer', () => {
  it.each(['EXPIRED', 'FAILED'] as const)('ending %s: the policy is not installed, and the repository reports why', async (outcome) => {
    // Prepare
    emulator.setFaults({ previewOutcome: outcome });

    // Act
    const report = await run();

    // Assess
    expect(report.status).toBe('failed');
    expect(report.actions.policyInstalled).toBe(false);
    expect(report.actions.failures).toContainEqual(expect.objectContaining({ code: 'PreviewNotCompleted' }));
    expect(report.actions.notDone).toContain(`install lifecycle policy: the lifecycle policy preview of app ended ${outcome}; policy not installed this run`);
    expect(await installedPolicy()).toBeUndefined();
  });

  it('still IN_PROGRESS at the deadline: the policy is not installed; with time enough it is', async () => {
    // Prepare: a preview that stays IN_PROGRESS for 6 polls, and waits of 1, 2, 4 s... within 5 s, then within 60 s.
    emulator.setProfile(withReadings(PESSIMISTIC, { previewPollsInProgress: 6 }));

    // Act
    const short = await run({ previewPollMs: 1_000, previewTimeoutMs: 5_000 });
    const afterShort = await installedPolicy();
    const long = await run({ previewPollMs: 1_000, previewTimeoutMs: 60_000 });

    // Assess
    expect(short.actions.notDone).toContainEqual(expect.stringMatching(/preview of app was still IN_PROGRESS after 5 s; policy not installed this run/));
    expect(short.status).toBe('failed');
    expect(afterShort).toBeUndefined();
    expect(long.actions).toMatchObject({ policyInstalled: true, failures: [] });
    expect(await installedPolicy()).toBeDefined();
  });
});
