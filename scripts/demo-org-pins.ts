// Two-account demo of organization-wide pins on the emulator (`npx tsx scripts/demo-org-pins.ts`): account B runs a
// service on an image from account A's registry; B's janitor publishes that use, A's janitor reads it and keeps the
// image after CI has ranked it out of the newest 25 and ECR's lifecycle has run. Without the org pins A loses it.
// The organization's S3 bucket is played by a directory with the same key layout (adapters/pins-org.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { type EmulatorHandle, makeEmulatorClient, startEmulator } from '../emulator/server.js';
import { pushSingleImage } from '../emulator/workload.js';
import { createEcrRegistry } from '../lambda/adapters/ecr-registry.js';
import { PinCollector } from '../lambda/adapters/pin-collector.js';
import { createDirectoryOrgPinStore, createOrgPinSource, publishOrgPins } from '../lambda/adapters/pins-org.js';
import { createFileStateStore } from '../lambda/adapters/state-file.js';
import type { PinSource } from '../lambda/app/ports.js';
import { type LogPort, runJanitor } from '../lambda/app/run-janitor.js';
import { parseConfig } from '../lambda/domain/config.js';
import type { OrgReference } from '../lambda/domain/org-pins.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const A = { accountId: '111111111111', region: 'eu-west-1' };
const B = { accountId: '222222222222', region: 'eu-west-1' };
const CONFIG = parseConfig({ maxExpireShare: 1, ciTags: [{ pattern: 'ci-*', keep: 25 }], pins: { ecs: false, lambda: false } }, 'org-pins demo');

export interface OrgPinsDemoResult {
  deployedDigest: string;
  survived: boolean;
  expired: number;
  publishedDocuments: number;
}

const quiet: LogPort = { info: () => {}, warn: () => {}, error: () => {} };
/** The emulator's asynchronous preview moves on by polls, not by time: poll without waiting. */
const EMULATOR_PREVIEW = { previewPollMs: 0 };

/** `withOrgPins: false` runs A's janitor without the org pin source: the control. */
export async function runOrgPinsDemo(options: { out?: (line: string) => void; withOrgPins?: boolean } = {}): Promise<OrgPinsDemoResult> {
  const out = options.out ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), 'ecr-janitor-org-pins-'));
  const emulators: EmulatorHandle[] = [];
  try {
    const registryA = await startEmulator({ now: START, accountId: A.accountId, region: A.region, profile: 'pessimistic' });
    const registryB = await startEmulator({ now: START, accountId: B.accountId, region: B.region, profile: 'pessimistic' });
    emulators.push(registryA, registryB);
    const clientA = makeEmulatorClient(registryA.endpoint);
    const clientB = makeEmulatorClient(registryB.endpoint);
    await clientA.send(new CreateRepositoryCommand({ repositoryName: 'platform/api' }));
    await clientB.send(new CreateRepositoryCommand({ repositoryName: 'team-b/worker' }));
    const store = createDirectoryOrgPinStore(join(dir, 'org-bucket'));

    // CI in account A pushes 30 builds; account B deploys the newest as service team-b/api.
    const digests: string[] = [];
    for (let n = 1; n <= 30; n++) {
      registryA.setClock(START + n * 60_000);
      digests.push((await pushSingleImage(clientA, 'platform/api', { tags: [`ci-${n}`], seed: `api-${n}`, bytes: 10_000 })).digest);
    }
    const deployed = digests.at(-1)!;
    const imageUri = `${A.accountId}.dkr.ecr.${A.region}.amazonaws.com/platform/api:ci-30`;
    out(`account ${B.accountId} runs service prod/api on ${imageUri} (${deployed.slice(0, 19)}...) from account ${A.accountId}'s registry`);

    // B's nightly janitor: its ECS scan sees the foreign image, which it publishes for A.
    const foreign: OrgReference[] = [];
    const ecsB: PinSource = {
      name: 'ecs',
      async discover() {
        const pins = new PinCollector(B, (reference) => foreign.push(reference));
        pins.add(imageUri, 'ecs:prod/api', deployed);
        return pins.references();
      },
    };
    const stateB = createFileStateStore(join(dir, 'state-b'));
    await runJanitor({ registry: createEcrRegistry(clientB, EMULATOR_PREVIEW), pinSources: [ecsB], stateStore: stateB, clock: { now: () => registryB.now() }, log: quiet }, { config: CONFIG, mode: 'run' });
    const publishedDocuments = await publishOrgPins(store, B, foreign, registryB.now());
    out(`B's janitor published ${foreign.length} use(s) of other registries in ${publishedDocuments} document(s) under org-pins/${A.accountId}/${A.region}/`);

    // A's nightly janitor reads what the organization publishes about its registry.
    const orgSource = createOrgPinSource(store, A, { now: () => registryA.now(), onStale: (stale) => out(`stale publishers: ${stale.map((s) => s.publisher.accountId).join(', ')}`) });
    const stateA = createFileStateStore(join(dir, 'state-a'));
    const runA = () =>
      runJanitor(
        { registry: createEcrRegistry(clientA, EMULATOR_PREVIEW), pinSources: options.withOrgPins === false ? [] : [orgSource], stateStore: stateA, clock: { now: () => registryA.now() }, log: quiet },
        { config: CONFIG, mode: 'run' },
      );
    const night1 = await runA();
    out(`A's janitor: ${night1.repositories.map((r) => `${r.repository} ${r.status}, ${r.actions.tagsAdded} protection tag(s) added`).join('; ')}`);

    // CI pushes 30 more builds, then ECR's lifecycle runs before the next nightly run.
    for (let n = 31; n <= 60; n++) {
      registryA.setClock(START + DAY / 2 + n * 60_000);
      await pushSingleImage(clientA, 'platform/api', { tags: [`ci-${n}`], seed: `api-${n}`, bytes: 10_000 });
    }
    registryA.setClock(START + DAY);
    const lifecycle = registryA.runLifecycle();
    const survived = !lifecycle.expired.some((e) => e.digest === deployed);
    out(`ECR lifecycle expired ${lifecycle.expired.length} image(s); B's image ${survived ? 'survived' : 'WAS EXPIRED'}`);
    clientA.destroy();
    clientB.destroy();
    return { deployedDigest: deployed, survived, expired: lifecycle.expired.length, publishedDocuments };
  } finally {
    for (const emulator of emulators) await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && /demo-org-pins\.ts$/.test(process.argv[1])) {
  runOrgPinsDemo({ out: (line) => process.stdout.write(`${line}\n`) }).then(
    (result) => {
      process.exitCode = result.survived ? 0 : 1;
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
