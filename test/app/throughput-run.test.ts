// The Lambda's way through a big account, end to end on the emulator (pessimistic profile: previews IN_PROGRESS for 3
// polls, concurrent Starts refused): pipelined previews, writes on their own client, memory-sized scheduling. The
// safety of the preview is unchanged: no COMPLETE answer, no policy; out of time is "not tonight", never permission.
import { CreateRepositoryCommand, DescribeRepositoriesCommand, GetLifecyclePolicyCommand, TagResourceCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { makeEmulatorClient } from '../../emulator/server.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { createEcrRegistry } from '../../lambda/adapters/ecr-registry.js';
import { createConfigPinSource } from '../../lambda/adapters/pins-config.js';
import { wireThroughput } from '../../lambda/adapters/throughput-aws.js';
import type { StateStore } from '../../lambda/app/ports.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { parseConfig } from '../../lambda/domain/config.js';
import type { RepositoryState } from '../../lambda/domain/types.js';
import { useEmulator } from '../support/emulator-fixture.js';

const NOW = Date.UTC(2026, 0, 1);
const fixture = useEmulator({ now: NOW });
const quiet = { info() {}, warn() {}, error() {} };
const NAMES = ['app', 'svc-a', 'svc-b', 'svc-c', 'svc-d'];

function memoryState(): StateStore {
  const states = new Map<string, RepositoryState>();
  return { load: async (repository) => states.get(repository) ?? null, save: async (state) => void states.set(state.repository, state) };
}

async function policyOf(client: ECRClient, repository: string): Promise<string | undefined> {
  try {
    return (await client.send(new GetLifecyclePolicyCommand({ repositoryName: repository }))).lifecyclePolicyText;
  } catch {
    return undefined;
  }
}

async function seed(): Promise<string> {
  let pinned = '';
  for (const name of NAMES) {
    if (name !== 'app') await fixture.client.send(new CreateRepositoryCommand({ repositoryName: name }));
    const image = await pushSingleImage(fixture.client, name, { tags: ['v1'], seed: name, bytes: 1_000 });
    if (name === 'svc-b') pinned = image.digest;
  }
  return pinned;
}

/** One Lambda-style run: reads and writes on two clients, a fake clock the waits move on. */
async function run(stateStore: StateStore, pinned: string, options: { endsAt?: number; optInTag?: { key: string; value: string } } = {}) {
  const config = parseConfig(
    {
      maxExpireShare: 1,
      concurrency: 2,
      pins: { digests: [{ repository: 'svc-b', digest: pinned }], ecs: false, lambda: false },
      ...(options.optInTag ? { repositories: { include: ['*'], exclude: [], tag: options.optInTag } } : {}),
    },
    'test',
  );
  const clock = { now: 0 };
  const writeClient = makeEmulatorClient(fixture.emulator.endpoint);
  const writes = createEcrRegistry(writeClient);
  const reads = createEcrRegistry(fixture.client);
  const { registry, throughput } = wireThroughput({
    reads,
    writes,
    config,
    now: () => clock.now,
    sleep: async (ms) => void (clock.now += ms),
    ...(options.endsAt !== undefined ? { endsAt: options.endsAt } : {}),
  });
  try {
    const report = await runJanitor(
      { registry, pinSources: [createConfigPinSource(config)], stateStore, clock: { now: () => NOW }, log: quiet, throughput },
      { config, mode: 'run', retainImageDecisions: false },
    );
    return { report, writesCounted: writes.callCounts(), readsCounted: reads.callCounts(), throughput };
  } finally {
    writeClient.destroy();
  }
}

describe('the Lambda path: pipelined previews and a write stream', () => {
  it('installs every policy once its own preview is COMPLETE, tags through the write client, and counts every call', async () => {
    // Prepare
    const pinned = await seed();

    // Act
    const { report, writesCounted, readsCounted, throughput } = await run(memoryState(), pinned);

    // Assess
    expect(report.repositories.map((r) => [r.repository, r.status, r.actions.policyInstalled])).toEqual(NAMES.map((name) => [name, 'ok', true]));
    for (const name of NAMES) expect(await policyOf(fixture.client, name)).toBeDefined();
    expect(writesCounted).toEqual({ PutImage: 1 });
    expect(readsCounted.PutImage).toBeUndefined();
    expect(report.apiCalls.PutImage).toBe(1);
    // Every poll counted: 5 previews, each IN_PROGRESS 3 times before COMPLETE under this profile.
    expect(report.apiCalls.GetLifecyclePolicyPreview).toBe(20);
    expect(throughput.previews?.polls).toBe(20);
  });

  it('a preview still running when the invocation must end: not installed, not failed, and the next run installs it', async () => {
    // Prepare: the invocation ends 61 s in; the pipeline stops waiting a minute before (FINISH_MARGIN_MS)
    const pinned = await seed();
    const state = memoryState();

    // Act
    const first = await run(state, pinned, { endsAt: 61_500 });
    const policiesAfterFirst = await Promise.all(NAMES.map((name) => policyOf(fixture.client, name)));
    const next = await run(state, pinned);

    // Assess
    for (const repository of first.report.repositories) {
      expect(repository.actions.policyInstalled).toBe(false);
      expect(repository.status).toBe('refused');
      expect(repository.actions.failures).toEqual([]);
      expect(repository.actions.notDone.join(' ')).toMatch(/when the invocation had to end; policy not installed this run, the next run resumes it/);
    }
    expect(first.report.repositories.find((r) => r.repository === 'svc-b')!.actions.tagsAdded).toBe(1);
    expect(policiesAfterFirst).toEqual(NAMES.map(() => undefined));
    expect(next.report.repositories.map((r) => [r.status, r.actions.policyInstalled])).toEqual(NAMES.map(() => ['ok', true]));
    // The next run adopted the previews still running rather than starting new ones.
    expect(next.report.apiCalls.StartLifecyclePolicyPreview).toBe(NAMES.length);
  });

  it('a repository whose opt-in tag cannot be read is failed, not cleaned, on this path too', async () => {
    // Prepare: every repository opted in, but ListTagsForResource fails on every attempt
    const pinned = await seed();
    for (const name of NAMES) {
      const arn = (await fixture.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories![0]!.repositoryArn!;
      await fixture.client.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'ecr-janitor', Value: 'managed' }] }));
    }
    fixture.emulator.setFaults({ serverErrorEveryN: 1, operations: ['ListTagsForResource'] });

    // Act
    const { report } = await run(memoryState(), pinned, { optInTag: { key: 'ecr-janitor', value: 'managed' } });
    fixture.emulator.clearFaults();

    // Assess
    expect(report.repositories.map((r) => [r.repository, r.status, r.actions.policyInstalled])).toEqual(NAMES.map((name) => [name, 'failed', false]));
    for (const repository of report.repositories) expect(repository.error).toMatch(/^repository tag read: /);
    expect(await Promise.all(NAMES.map((name) => policyOf(fixture.client, name)))).toEqual(NAMES.map(() => undefined));
  });
});
