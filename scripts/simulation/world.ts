// One simulated world: two AWS accounts, each an emulator with the seed workload pushing into it. Every world is built
// from the same seeds, so every world receives the same bytes; what differs is who cleans up (nobody, a hand-written
// ECR policy, ecr-janitor) and which faults hit it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetImageCommand, PutLifecyclePolicyCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { ACCEPTED_MANIFEST_MEDIA_TYPES } from '../../lambda/adapters/ecr-registry.js';
import type { Digest } from '../../lambda/domain/types.js';
import { type ProfileName, profileFromEnvironment } from '../../emulator/profiles.js';
import { type EmulatorHandle, makeEmulatorClient, startEmulator } from '../../emulator/server.js';
import { type LiveImage, SeedWorkload } from '../../emulator/seed-workload.js';
import { Ledger } from './ledger.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const GIB = 2 ** 30;

export interface AccountSpec {
  id: string;
  team: string;
  repositories: string[];
}

/** The demo's two accounts: team-a builds web and api, team-b builds worker. */
export const ACCOUNTS: readonly AccountSpec[] = [
  { id: '111111111111', team: 'team-a', repositories: ['web', 'api'] },
  { id: '222222222222', team: 'team-b', repositories: ['worker'] },
];

/** What CI does each day, per account. */
export interface WorkloadShape {
  buildsPerDay: number;
  releaseEveryDays: number;
  deployEveryDays: number;
  layerBytes: number;
  cacheBytes: number;
}

export const DEFAULT_SHAPE: WorkloadShape = {
  buildsPerDay: 20,
  releaseEveryDays: 3,
  deployEveryDays: 4,
  layerBytes: 60 * 2 ** 20,
  cacheBytes: 40 * 2 ** 20,
};

export interface Footprint {
  images: number;
  bytes: number;
}

/** An image a client expects to pull, and why. */
export interface PullTarget {
  repository: string;
  digest: Digest;
  why: string;
}

export interface FailedPull extends PullTarget {
  account: string;
}

export class Account {
  /** While set, the workload's pushes keep the clock where it is (a build pushed in the middle of a janitor run). */
  freezeClock = false;
  /** repository@digest -> last time a deployment was seen pinning it. */
  readonly pinnedAt = new Map<string, { repository: string; digest: Digest; at: number }>();
  stateDir = '';

  constructor(
    readonly spec: AccountSpec,
    readonly emulator: EmulatorHandle,
    /** The workload's client (CI pushes, pulls); the janitor gets a client of its own per run. */
    readonly client: ECRClient,
    readonly workload: SeedWorkload,
    readonly ledger: Ledger | undefined,
  ) {}

  /** Notes what deployments pin right now (called around every workload change and before every check). */
  samplePins(): void {
    const at = this.emulator.now();
    for (const pin of this.workload.pins()) {
      if (pin.digest !== undefined) this.pinnedAt.set(`${pin.repository}@${pin.digest}`, { repository: pin.repository, digest: pin.digest, at });
    }
  }

  /** Digests some deployment pinned within `graceDays` before now. */
  recentPins(graceDays: number): PullTarget[] {
    const since = this.emulator.now() - graceDays * DAY;
    return [...this.pinnedAt.values()].filter((p) => p.at >= since).map((p) => ({ repository: p.repository, digest: p.digest, why: 'pinned by a deployment within the pin grace' }));
  }

  footprint(): Footprint {
    let images = 0;
    let bytes = 0;
    for (const store of this.emulator.model.listRepositories()) {
      for (const image of store.allImages()) {
        images += 1;
        bytes += image.ownSizeBytes;
      }
    }
    return { images, bytes };
  }

  /** Every image of every repository, as repository@digest: to compare two worlds image for image. */
  presentImages(): Set<string> {
    const present = new Set<string>();
    for (const store of this.emulator.model.listRepositories()) for (const image of store.allImages()) present.add(`${store.name}@${image.digest}`);
    return present;
  }
}

export interface WorldOptions {
  name: string;
  shape: WorkloadShape;
  start: number;
  /** Record every push in a ledger (the no-janitor world and the live-set minimum are computed from it). */
  ledger?: boolean;
  /** A directory for the janitor's run state, per account. */
  janitorState?: boolean;
  /** How the emulator reads what AWS leaves open; ECR_EMULATOR_PROFILE, else pessimistic (emulator/profiles.ts). */
  profile?: ProfileName;
}

export class World {
  private constructor(
    readonly name: string,
    readonly accounts: Account[],
  ) {}

  static async open(options: WorldOptions): Promise<World> {
    const accounts: Account[] = [];
    for (const spec of ACCOUNTS) {
      const emulator = await startEmulator({ now: options.start, accountId: spec.id, profile: options.profile ?? profileFromEnvironment() });
      const client = makeEmulatorClient(emulator.endpoint);
      let account: Account | undefined;
      const workload = new SeedWorkload(client, {
        seed: spec.id,
        repositories: spec.repositories,
        ...options.shape,
        setTime: (ms) => {
          if (!account?.freezeClock) emulator.setClock(ms);
        },
      });
      const ledger = options.ledger ? new Ledger(spec.id, spec.repositories, options.start) : undefined;
      ledger?.attach(client, () => emulator.now());
      account = new Account(spec, emulator, client, workload, ledger);
      await workload.createRepositories();
      if (options.janitorState) account.stateDir = await mkdtemp(join(tmpdir(), `ecr-janitor-sim-${options.name}-${spec.id}-`));
      accounts.push(account);
    }
    return new World(options.name, accounts);
  }

  setClock(ms: number): void {
    for (const account of this.accounts) account.emulator.setClock(ms);
  }

  /** One day of CI in every account; pins are sampled before and after (deployments move during the day). */
  async runDay(day: number, startOfDay: number): Promise<void> {
    await Promise.all(
      this.accounts.map(async (account) => {
        account.samplePins();
        await account.workload.runDay(day, startOfDay);
        account.samplePins();
      }),
    );
  }

  /** ECR's nightly lifecycle run in every account; returns the images it expired (referrers that followed included). */
  runLifecycle(): Footprint {
    let images = 0;
    let bytes = 0;
    for (const account of this.accounts) {
      const result = account.emulator.runLifecycle();
      images += result.expired.length + result.referrersRemoved.length;
      bytes += result.expired.reduce((sum, e) => sum + e.bytes, 0);
    }
    return { images, bytes };
  }

  /** Installs the same lifecycle policy text in every repository of every account (through the API). */
  async putPolicy(policyText: string): Promise<void> {
    for (const account of this.accounts) {
      for (const repositoryName of account.spec.repositories) {
        await account.client.send(new PutLifecyclePolicyCommand({ repositoryName, lifecyclePolicyText: policyText }));
      }
    }
  }

  footprint(): Footprint {
    return sum(this.accounts.map((a) => a.footprint()));
  }

  pushedImages(): number {
    return this.accounts.reduce((n, a) => n + a.workload.imagesPushed, 0);
  }

  /**
   * Pulls, through the API as a client would, everything that must resolve: the workload's live images (deployed
   * digests, releases, main, current buildcache) with every manifest an index lists, the signatures of releases
   * (from the ledger of `reference`, which saw them pushed), and every digest pinned within the pin grace.
   */
  async failedPulls(graceDays: number, reference: World): Promise<FailedPull[]> {
    const failed: FailedPull[] = [];
    for (const [i, account] of this.accounts.entries()) {
      account.samplePins();
      const ledger = reference.accounts[i]!.ledger;
      const targets: PullTarget[] = [...account.workload.liveImages(), ...account.recentPins(graceDays)];
      if (ledger) {
        for (const image of account.workload.liveImages()) {
          if (!image.why.startsWith('release')) continue;
          for (const signature of ledger.referrersOf(image.repository, image.digest)) {
            targets.push({ repository: image.repository, digest: signature, why: `signature of ${image.why}` });
          }
        }
      }
      for (const miss of await unresolvable(account.client, targets)) failed.push({ ...miss, account: account.spec.id });
    }
    return failed;
  }

  /** The workload's own check (one BatchGetImage per image): used to cross-check `failedPulls`. */
  async workloadUnresolvable(): Promise<LiveImage[]> {
    const failed: LiveImage[] = [];
    for (const account of this.accounts) failed.push(...(await account.workload.unresolvable()));
    return failed;
  }

  async close(): Promise<void> {
    for (const account of this.accounts) {
      account.client.destroy();
      await account.emulator.close();
      if (account.stateDir) await rm(account.stateDir, { recursive: true, force: true });
    }
  }
}

export function sum(footprints: readonly Footprint[]): Footprint {
  return footprints.reduce((a, b) => ({ images: a.images + b.images, bytes: a.bytes + b.bytes }), { images: 0, bytes: 0 });
}

/** BatchGetImage (100 ids a call) for the targets, then for every manifest the returned indexes list; what failed. */
async function unresolvable(client: ECRClient, targets: readonly PullTarget[]): Promise<PullTarget[]> {
  const failed: PullTarget[] = [];
  const byRepository = new Map<string, PullTarget[]>();
  const seen = new Set<string>();
  for (const target of targets) {
    const key = `${target.repository}@${target.digest}`;
    if (seen.has(key)) continue;
    seen.add(key);
    byRepository.set(target.repository, [...(byRepository.get(target.repository) ?? []), target]);
  }
  for (const [repository, wanted] of byRepository) {
    const manifests = await pull(client, repository, wanted.map((t) => t.digest));
    const children: PullTarget[] = [];
    for (const target of wanted) {
      const text = manifests.get(target.digest);
      if (text === undefined) {
        failed.push(target);
        continue;
      }
      const listed = (JSON.parse(text) as { manifests?: { digest: string }[] }).manifests ?? [];
      for (const entry of listed) children.push({ repository, digest: entry.digest, why: `child of ${target.why}` });
    }
    if (children.length === 0) continue;
    const pulled = await pull(client, repository, [...new Set(children.map((c) => c.digest))]);
    for (const child of children) if (!pulled.has(child.digest)) failed.push(child);
  }
  return failed;
}

async function pull(client: ECRClient, repositoryName: string, digests: readonly Digest[]): Promise<Map<Digest, string>> {
  const found = new Map<Digest, string>();
  for (let i = 0; i < digests.length; i += 100) {
    const response = await client.send(
      new BatchGetImageCommand({
        repositoryName,
        imageIds: digests.slice(i, i + 100).map((imageDigest) => ({ imageDigest })),
        acceptedMediaTypes: ACCEPTED_MANIFEST_MEDIA_TYPES,
      }),
    );
    for (const image of response.images ?? []) {
      if (image.imageId?.imageDigest && image.imageManifest !== undefined) found.set(image.imageId.imageDigest, image.imageManifest);
    }
  }
  return found;
}
