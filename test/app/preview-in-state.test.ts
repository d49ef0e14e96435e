// Issue 11 point 1: a preview still running when the invocation must end is kept in the run state (since when, for
// which policy text), so the next run knows it exists and for how long it has run; gone from the state once the
// policy is installed. Emulator, pessimistic profile (previews IN_PROGRESS for 3 polls), Lambda wiring.
import { describe, expect, it } from 'vitest';
import { makeEmulatorClient } from '../../emulator/server.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { createEcrRegistry } from '../../lambda/adapters/ecr-registry.js';
import { createConfigPinSource } from '../../lambda/adapters/pins-config.js';
import { parseStateText, stateToText } from '../../lambda/adapters/state-codec.js';
import { wireThroughput } from '../../lambda/adapters/throughput-aws.js';
import type { StateStore } from '../../lambda/app/ports.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { policyTextFingerprint } from '../../lambda/domain/change-check.js';
import { parseConfig } from '../../lambda/domain/config.js';
import type { RepositoryState } from '../../lambda/domain/types.js';
import { useEmulator } from '../support/emulator-fixture.js';

const NOW = Date.UTC(2026, 0, 1);
const fixture = useEmulator({ now: NOW });
const config = parseConfig({ maxExpireShare: 1, concurrency: 1, pins: { ecs: false, lambda: false } }, 'test');

/** Stored through the codec, as S3 stores it. */
function codecState(): StateStore & { states: Map<string, string> } {
  const states = new Map<string, string>();
  return {
    states,
    load: async (repository) => (states.has(repository) ? parseStateText(states.get(repository)!, repository, repository) : null),
    save: async (state) => void states.set(state.repository, stateToText(state)),
  };
}

/** One Lambda-style run; the waits move a fake clock, which the janitor reads too. */
async function run(stateStore: StateStore, clock: { now: number }, endsAt?: number) {
  const messages: string[] = [];
  const log = { info: (_: object, m: string) => void messages.push(m), warn() {}, error() {} };
  const writeClient = makeEmulatorClient(fixture.emulator.endpoint);
  const { registry, throughput } = wireThroughput({
    reads: createEcrRegistry(fixture.client),
    writes: createEcrRegistry(writeClient),
    config,
    now: () => clock.now,
    sleep: async (ms) => void (clock.now += ms),
    ...(endsAt !== undefined ? { endsAt } : {}),
  });
  try {
    const report = await runJanitor(
      { registry, pinSources: [createConfigPinSource(config)], stateStore, clock: { now: () => NOW + clock.now }, log, throughput },
      { config, mode: 'run', retainImageDecisions: false },
    );
    return { report, messages };
  } finally {
    writeClient.destroy();
  }
}

describe('a preview left running, in the run state', () => {
  it('is recorded with its policy text and start, adopted by the next run with its age, and dropped once installed', async () => {
    // Prepare: the first invocation ends 61 s in, while ECR still computes the preview.
    await pushSingleImage(fixture.client, 'app', { tags: ['v1'], seed: 'v1', bytes: 1_000 });
    const store = codecState();
    const clock = { now: 0 };
    const first = await run(store, clock, 61_500);
    const recorded = (await store.load('app')) as RepositoryState;
    clock.now += 3_600_000; // the next invocation, an hour later

    // Act
    const next = await run(store, clock);
    const after = (await store.load('app')) as RepositoryState;

    // Assess
    const repository = first.report.repositories[0]!;
    expect(repository).toMatchObject({ previewLeftRunning: true, actions: { policyInstalled: false } });
    expect(recorded.previewRunning).toEqual({ startedAt: NOW, policyFingerprint: policyTextFingerprint(repository.plan!.policy.desiredText) });
    expect(next.messages, next.messages.join(' / ')).toContain('repository app: the preview of this policy left running by an earlier invocation (60 min ago) is adopted');
    expect(next.report.repositories[0]!.actions.policyInstalled).toBe(true);
    expect(after.previewRunning).toBeUndefined();
  });
});
