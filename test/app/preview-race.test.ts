// CI pushing while the janitor installs its policy: ECR's preview sees a newer repository than the plan did. A plan from
// a fresh inventory tells that race (install, or wait a night) from a real disagreement about ECR's semantics (fail).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { CreateRepositoryCommand, GetLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { createEcrRegistry } from '../../lambda/adapters/ecr-registry.js';
import type { RegistryPort, StateStore } from '../../lambda/app/ports.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { parseConfig } from '../../lambda/domain/config.js';
import type { RepositoryState } from '../../lambda/domain/types.js';
import { type EmulatorHandle, makeEmulatorClient, startEmulator } from '../../emulator/server.js';
import { IN_TOTO, OCI_INDEX, pushBuildxBuild, pushReferrer } from '../../emulator/workload.js';

const CONFIG = parseConfig({ ciTags: [{ pattern: 'ci-*', keep: 2 }], maxExpireShare: 1, pins: { ecs: false, lambda: false } }, 'test');
const quiet = { info() {}, warn() {}, error() {} };

let emulator: EmulatorHandle;
let client: ECRClient;
let runClients: ECRClient[];

beforeEach(async () => {
  emulator = await startEmulator({ now: Date.UTC(2026, 0, 1) });
  client = makeEmulatorClient(emulator.endpoint);
  runClients = [];
  await client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
});

afterEach(async () => {
  for (const c of [client, ...runClients]) c.destroy();
  await emulator.close();
});

let build = 0;
async function pushCi(count: number) {
  const pushed = [];
  for (let i = 0; i < count; i++) {
    build += 1;
    pushed.push(await pushBuildxBuild(client, 'app', { tags: [`ci-${build}`], seed: `build-${build}`, layerBytes: 1_000 }));
  }
  return pushed;
}

function memoryState(): StateStore {
  const states = new Map<string, RepositoryState>();
  return { load: async (r) => states.get(r) ?? null, save: async (s) => void states.set(s.repository, s) };
}

/** One run whose registry port is `wrap`ped (the race or the disagreement). */
async function run(wrap: (registry: RegistryPort) => RegistryPort) {
  const runClient = makeEmulatorClient(emulator.endpoint);
  runClients.push(runClient);
  const report = await runJanitor(
    { registry: wrap(createEcrRegistry(runClient, { previewPollMs: 0 })), pinSources: [], stateStore: memoryState(), clock: { now: () => emulator.now() }, log: quiet },
    { config: CONFIG, mode: 'run' },
  );
  return report.repositories[0]!;
}

async function installedPolicy(): Promise<string | undefined> {
  try {
    return (await client.send(new GetLifecyclePolicyCommand({ repositoryName: 'app' }))).lifecyclePolicyText;
  } catch {
    return undefined;
  }
}

/** After the janitor's DescribeImages returns (once), `push` runs: CI racing the run. */
function afterFirstDescribe(push: () => Promise<void>) {
  let fired = false;
  return (registry: RegistryPort): RegistryPort => ({
    ...registry,
    async describeImages(repository, onPage) {
      const images = await registry.describeImages(repository, onPage);
      if (!fired) {
        fired = true;
        await push();
      }
      return images;
    },
  });
}

describe('the policy install when ECR\'s preview disagrees with the plan', () => {
  it('installs the policy when the disagreement is CI pushing newer builds during the run', async () => {
    // Prepare: four ci builds; the plan keeps ci-3 and ci-4, then two more builds push them out of the newest two.
    await pushCi(4);
    emulator.advanceDays(1);

    // Act
    const report = await run(afterFirstDescribe(async () => void (await pushCi(2))));

    // Assess
    expect(report.status).toBe('ok');
    expect(report.actions.failures).toEqual([]);
    expect(report.actions.policyInstalled).toBe(true);
    expect(await installedPolicy()).toBe(report.plan!.policy.desiredText);
  });

  it('waits a night, without failing, when the changed repository needs protection the plan did not add', async () => {
    // Prepare: as above, and the race also signs the newest build (a referrer of a kept image wants a protection tag).
    await pushCi(4);
    emulator.advanceDays(1);
    const race = async () => {
      const [, newest] = await pushCi(2);
      await pushReferrer(client, 'app', { subjectDigest: newest!.indexDigest, subjectMediaType: OCI_INDEX, subjectSize: 500, artifactType: IN_TOTO, seed: 'sig' });
    };

    // Act
    const first = await run(afterFirstDescribe(race));
    const next = await run((registry) => registry);

    // Assess
    expect(first.status).toBe('ok');
    expect(first.actions.policyInstalled).toBe(false);
    expect(first.actions.notDone.join('\n')).toMatch(/changed during the run.*waits for the next run/);
    expect(next.status).toBe('ok');
    expect(next.actions.policyInstalled).toBe(true);
  });

  it('still fails the repository when ECR disagrees about a repository that did not change', async () => {
    // Prepare: ECR (here a wrapped preview) would expire the newest build, which the plan keeps.
    const [, , newest] = await pushCi(3);
    emulator.advanceDays(1);
    let describes = 0;
    const disagreeing = (registry: RegistryPort): RegistryPort => ({
      ...registry,
      async describeImages(repository, onPage) {
        describes += 1;
        return registry.describeImages(repository, onPage);
      },
      async previewLifecyclePolicy(repository, text) {
        const preview = await registry.previewLifecyclePolicy(repository, text);
        return { ...preview, expiring: [...preview.expiring, { digest: newest!.indexDigest }] };
      },
    });

    // Act
    const report = await run(disagreeing);

    // Assess
    expect(report.status).toBe('failed');
    expect(report.actions.failures.map((f) => f.code)).toEqual(['PreviewDisagrees']);
    expect(report.actions.policyInstalled).toBe(false);
    expect(await installedPolicy()).toBeUndefined();
    expect(describes).toBe(2); // the inventory, and the fresh look that found nothing changed
  });
});
