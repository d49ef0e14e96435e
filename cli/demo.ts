// `npm run demo`: the janitor end to end against the embedded ECR emulator, two accounts, no AWS account needed.
// Seeds two weeks of CI history, runs the janitor as the nightly Lambda would, lets ECR's lifecycle run for a few
// nights, then prints what was reaped (images, bytes, $) and checks that every live image still resolves.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEcrRegistry } from '../lambda/adapters/ecr-registry.js';
import { createFileStateStore } from '../lambda/adapters/state-file.js';
import type { LogPort } from '../lambda/app/run-janitor.js';
import { runJanitor } from '../lambda/app/run-janitor.js';
import type { RunReport } from '../lambda/app/report-types.js';
import { formatBytes, formatReport } from './format.js';
import { parseConfig } from '../lambda/domain/config.js';
import { monthlyCostUsd } from '../lambda/domain/report.js';
import { type ProfileName, profileFromEnvironment } from '../emulator/profiles.js';
import { type EmulatorHandle, makeEmulatorClient, startEmulator } from '../emulator/server.js';
import { SeedWorkload } from '../emulator/seed-workload.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 1);
const HISTORY_DAYS = 14;
const NIGHTS = 5;

const CONFIG = parseConfig(
  {
    untaggedExpireDays: 3,
    ciTags: [{ pattern: 'ci-*', keep: 25 }],
    protectedTags: ['buildcache', 'v*'],
    pins: { ecs: false, lambda: false },
  },
  'demo',
);

interface Account {
  id: string;
  team: string;
  repositories: string[];
  emulator: EmulatorHandle;
  workload: SeedWorkload;
  stateDir: string;
  before?: Footprint;
  pushedBefore: number;
  reaped: { images: number; bytes: number };
  lastReport?: RunReport;
}

interface Footprint {
  images: number;
  bytes: number;
}

const quietLog: LogPort = { info() {}, warn() {}, error() {} };

export async function runDemo(io: { out: (line: string) => void; profile?: ProfileName }): Promise<number> {
  const { out } = io;
  // The worst plausible reading of what AWS leaves open unless told (--profile, or ECR_EMULATOR_PROFILE).
  const profile = io.profile ?? profileFromEnvironment();
  // The warning is about future SDK releases, not this demo; real `plan`/`run` still show it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const started = performance.now();
  out('ecr-janitor demo: two AWS accounts on the embedded local ECR emulator (no AWS account needed)');
  out(`emulator profile: ${profile} (how it reads what AWS leaves open; see the README)`);
  out(`config: untagged expire after ${CONFIG.untaggedExpireDays} days, keep the 25 newest ci-*, protect ${CONFIG.protectedTags.join(', ')} and deployed digests`);

  const accounts = await Promise.all([
    openAccount('111111111111', 'team-a', ['web', 'api'], profile),
    openAccount('222222222222', 'team-b', ['worker'], profile),
  ]);
  try {
    // Two weeks of CI with no janitor: about 40 builds a day over both accounts.
    for (const account of accounts) {
      for (let day = 0; day < HISTORY_DAYS; day++) await account.workload.runDay(day, START + day * DAY);
      account.before = footprint(account);
      account.pushedBefore = account.workload.imagesPushed;
      out(
        `\naccount ${account.id} (${account.team}): ${HISTORY_DAYS} days of CI in ${account.repositories.join(', ')} -> ` +
          `${account.before.images} images, ${formatBytes(account.before.bytes)} (~$${monthlyCostUsd(account.before.bytes, CONFIG.pricePerGbMonth).toFixed(2)}/month)`,
      );
    }

    // Night 1: the janitor installs the policy and protects what deployments pin; then the nights go by. One more run
    // after the last night reports what that night's lifecycle reaped.
    for (let night = 0; night <= NIGHTS; night++) {
      const day = HISTORY_DAYS + night;
      for (const account of accounts) {
        account.emulator.setClock(START + day * DAY + 3 * HOUR);
        const report = await janitorRun(account);
        account.lastReport = report;
        account.reaped.images += report.totals.reaped.images;
        account.reaped.bytes += report.totals.reaped.bytes;
        if (night === 0) {
          out(`\n=== night 1, account ${account.id}: the first janitor run ===`);
          out(formatReport(report, { pricePerGbMonth: CONFIG.pricePerGbMonth, listLimit: 3 }).trimStart());
        }
        if (night === NIGHTS) continue;
        await account.workload.runDay(day, START + day * DAY);
        account.emulator.setClock(START + day * DAY + 22 * HOUR);
        account.emulator.runLifecycle();
      }
      const reapedTonight = accounts.map((a) => `${a.id}: ${a.lastReport!.totals.reaped.images} images reaped since the previous run`).join('; ');
      if (night > 0) out(`${night === NIGHTS ? 'closing run' : `night ${night + 1}`}: ${reapedTonight}`);
    }

    out('\n=== after the janitor ===');
    out(`${'account'.padEnd(14)}${'images before'.padStart(14)}${'+pushed'.padStart(9)}${'-reaped'.padStart(9)}${'=after'.padStart(8)}${'stored before'.padStart(15)}${'after'.padStart(11)}${'$/month before'.padStart(16)}${'after'.padStart(8)}${'bytes reaped'.padStart(14)}`);
    let failures = 0;
    let live = 0;
    let totalReaped = 0;
    for (const account of accounts) {
      const before = account.before!;
      const after = footprint(account);
      const price = (bytes: number) => `$${monthlyCostUsd(bytes, CONFIG.pricePerGbMonth).toFixed(2)}`;
      totalReaped += account.reaped.bytes;
      out(
        `${account.id.padEnd(14)}${String(before.images).padStart(14)}${String(account.workload.imagesPushed - account.pushedBefore).padStart(9)}` +
          `${String(account.reaped.images).padStart(9)}${String(after.images).padStart(8)}${formatBytes(before.bytes).padStart(15)}` +
          `${formatBytes(after.bytes).padStart(11)}${price(before.bytes).padStart(16)}${price(after.bytes).padStart(8)}${formatBytes(account.reaped.bytes).padStart(14)}`,
      );
      const unresolvable = await account.workload.unresolvable();
      live += account.workload.liveImages().length;
      failures += unresolvable.length;
      for (const image of unresolvable) out(`  LOST ${account.id} ${image.repository}@${image.digest} (${image.why})`);
    }
    out(
      `\nreaped over ${NIGHTS} nights: ${formatBytes(totalReaped)}, ~$${monthlyCostUsd(totalReaped, CONFIG.pricePerGbMonth).toFixed(2)}/month of storage ` +
        `(an upper bound: layers shared between images are billed once)`,
    );
    // The janitor must also do its job: a policy in every repository, not refused night after night.
    const withoutPolicy = accounts.flatMap((account) => account.repositories.filter((name) => account.emulator.model.repository(name).policyText === undefined).map((name) => `${account.id}/${name}`));
    out(withoutPolicy.length === 0 ? 'lifecycle policy: installed in every repository' : `lifecycle policy: NOT installed in ${withoutPolicy.join(', ')}`);
    out(
      failures === 0
        ? `live images: all ${live} resolve (deployments pinned by digest, releases and their signatures, main, the current buildcache), with every platform child`
        : `live images: ${failures} of ${live} do NOT resolve`,
    );
    out(`demo finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return failures === 0 && withoutPolicy.length === 0 ? 0 : 1;
  } finally {
    for (const account of accounts) {
      await account.emulator.close();
      await rm(account.stateDir, { recursive: true, force: true });
    }
  }
}

async function openAccount(id: string, team: string, repositories: string[], profile: ProfileName): Promise<Account> {
  const emulator = await startEmulator({ now: START, accountId: id, profile });
  const client = makeEmulatorClient(emulator.endpoint);
  const workload = new SeedWorkload(client, {
    seed: id,
    repositories,
    buildsPerDay: 20,
    releaseEveryDays: 3,
    deployEveryDays: 4,
    layerBytes: 60 * 2 ** 20,
    cacheBytes: 40 * 2 ** 20,
    setTime: (ms) => emulator.setClock(ms),
  });
  await workload.createRepositories();
  const stateDir = await mkdtemp(join(tmpdir(), `ecr-janitor-demo-${id}-`));
  return { id, team, repositories, emulator, workload, stateDir, pushedBefore: 0, reaped: { images: 0, bytes: 0 } };
}

async function janitorRun(account: Account): Promise<RunReport> {
  const { emulator, workload } = account;
  return runJanitor(
    {
      // Preview polls do not wait: the emulator's asynchronous preview moves on by polls, not by time.
      registry: createEcrRegistry(makeEmulatorClient(emulator.endpoint), { sleep: async () => {} }),
      pinSources: [{ name: 'ecs', discover: async () => workload.pins() }],
      stateStore: createFileStateStore(account.stateDir),
      clock: { now: () => emulator.now() },
      log: quietLog,
    },
    { config: CONFIG, mode: 'run' },
  );
}

/** What the account stores: every image's own bytes (an index adds nothing beyond its children). */
function footprint(account: Account): Footprint {
  let images = 0;
  let bytes = 0;
  for (const repository of account.repositories) {
    for (const image of account.emulator.model.repository(repository).allImages()) {
      images += 1;
      bytes += image.ownSizeBytes;
    }
  }
  return { images, bytes };
}
