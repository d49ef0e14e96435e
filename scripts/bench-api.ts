// ECR API calls of one janitor run against the minimum the work needs, on the local emulator.
//
// Two processes, so the janitor's memory is its own (as in Lambda): `--serve N` seeds an emulator with about N images
// straight into its model (no HTTP) and serves it; the bench process runs the janitor over HTTP with the real SDK and
// the real ECR adapter, twice (first run, then steady state), and compares each operation's calls with the minimum.
//   tsx scripts/bench-api.ts --images 10000     one measurement, JSON on stdout (what scripts/bench.ts runs)
//   tsx scripts/bench-api.ts --serve 10000      the seeded emulator alone (prints its endpoint, serves until killed)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createEcrRegistry } from '../lambda/adapters/ecr-registry.js';
import { createConfigPinSource } from '../lambda/adapters/pins-config.js';
import { createFileStateStore } from '../lambda/adapters/state-file.js';
import type { RegistryPort, StateStore } from '../lambda/app/ports.js';
import type { RunReport } from '../lambda/app/report-types.js';
import { runJanitor, type LogPort } from '../lambda/app/run-janitor.js';
import { parseConfig } from '../lambda/domain/config.js';
import { protectionTagFor } from '../lambda/domain/patterns.js';
import type { Digest } from '../lambda/domain/types.js';
import { makeEmulatorClient, startEmulator, type EmulatorStats } from '../emulator/server.js';
import type { RepositoryStore } from '../emulator/registry-model.js';
import { attestationManifest, BUILDKIT_CACHE_CONFIG, IN_TOTO, imageManifest, OCI_INDEX, OCI_LAYER, OCI_MANIFEST } from '../emulator/workload.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
/** "Now" for the janitor: the end of the seeded history plus an hour. */
const HISTORY_DAYS = 90;
const NOW = T0 + HISTORY_DAYS * DAY + 3_600_000;
const IMAGES_PER_REPOSITORY = 1_000; // average; sizes are skewed (a few big repositories, many small ones)
/** The ECR operations the benches count, in the order their tables list them. */
export const OPERATIONS = [
  'DescribeRepositories',
  'DescribeImages',
  'BatchGetImage',
  'GetLifecyclePolicy',
  'StartLifecyclePolicyPreview',
  'GetLifecyclePolicyPreview',
  'PutLifecyclePolicy',
  'PutImage',
  'BatchDeleteImage',
] as const;
const JANITOR_CONCURRENCY = 4; // run-janitor's default

// ---------------------------------------------------------------- seeding (emulator process)

export interface SeededRepository {
  name: string;
  images: number;
  indexes: number;
  /**
   * Known from the seed, not from any plan: digests that need a protection tag they do not carry yet (the pins, and
   * the OCI referrers of pinned images, which ECR deletes with their subject), and how many of them are not indexes
   * (their manifests are not among the index manifests read anyway).
   */
  toProtect?: number;
  toProtectNonIndex?: number;
  /** Protection tags from an earlier run that no pin needs any more. */
  staleTags?: number;
}

/** The config every bench run uses: the seed's pins, and caps lifted (they are for production, not for this count). */
export function benchConfig(seed: SeedSummary): ReturnType<typeof parseConfig> {
  return parseConfig(
    {
      ciTags: [
        { pattern: 'ci-*', keep: 25 },
        { pattern: 'pr-*', keep: 10 },
      ],
      protectedTags: ['buildcache', 'main'],
      pins: { digests: seed.pins, ecs: false, lambda: false },
      // The first run on a 90-day history expires most of it.
      maxExpireShare: 1,
      maxTagAdditionsPerRun: 100_000,
      maxTagRemovalsPerRun: 100_000,
    },
    'bench',
  );
}

export interface SeedSummary {
  endpoint: string;
  now: number;
  images: number;
  repositories: SeededRepository[];
  pins: { repository: string; digest: Digest }[];
  /** Images carrying a protection tag from an "earlier run" that no pin needs any more. */
  staleProtectionTags: number;
  seedMs: number;
}

/** Repository sizes: Zipf-like (the first repository is the biggest), at least 20 images each, about `total` in all. */
function repositorySizes(total: number): number[] {
  const count = Math.max(1, Math.round(total / IMAGES_PER_REPOSITORY));
  const weights = Array.from({ length: count }, (_, i) => 1 / (i + 1) ** 0.9);
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => Math.max(20, Math.round((w / sum) * total)));
}

function put(store: RepositoryStore, manifest: string, mediaType: string, tags: readonly string[]): Digest {
  let digest: Digest | undefined;
  if (tags.length === 0) digest = store.putImage({ manifest, mediaType }).digest;
  for (const tag of tags) digest = store.putImage({ manifest, mediaType, tag }).digest;
  return digest!;
}

/** What `docker buildx build --push --platform linux/amd64,linux/arm64` leaves: 2 images, 2 attestations, 1 index. */
function pushBuildx(store: RepositoryStore, seed: string, tags: readonly string[]): Digest {
  const platforms = ['linux/amd64', 'linux/arm64'];
  const images = platforms.map((platform) => ({ platform, manifest: imageManifest(seed, 30 * 1024 * 1024, platform) }));
  const attestations = platforms.map((platform) => attestationManifest(seed, platform));
  for (const { manifest } of images) put(store, manifest.text, OCI_MANIFEST, []);
  for (const manifest of attestations) put(store, manifest.text, OCI_MANIFEST, []);
  const entries: object[] = images.map(({ platform, manifest }) => {
    const [os, architecture] = platform.split('/');
    return { mediaType: OCI_MANIFEST, digest: manifest.digest, size: Buffer.byteLength(manifest.text), platform: { architecture, os } };
  });
  attestations.forEach((manifest, i) =>
    entries.push({
      mediaType: OCI_MANIFEST,
      digest: manifest.digest,
      size: Buffer.byteLength(manifest.text),
      annotations: { 'vnd.docker.reference.digest': images[i]!.manifest.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      platform: { architecture: 'unknown', os: 'unknown' },
    }),
  );
  return put(store, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }), OCI_INDEX, tags);
}

/** BuildKit registry cache (`--cache-to type=registry,image-manifest=true`): moves `buildcache`, the old one stays untagged. */
function pushCache(store: RepositoryStore, seed: string): void {
  const config = { mediaType: BUILDKIT_CACHE_CONFIG, digest: fakeBlob(seed, 'cache-config'), size: 5_120 };
  const layers = [{ mediaType: OCI_LAYER, digest: fakeBlob(seed, 'cache-layer'), size: 200 * 1024 * 1024 }];
  put(store, JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: BUILDKIT_CACHE_CONFIG, config, layers }), OCI_MANIFEST, ['buildcache']);
}

/** An OCI 1.1 provenance attestation about `subject` (untagged, with `subject`). */
function pushReferrer(store: RepositoryStore, seed: string, subject: Digest): Digest {
  const subjectText = store.image(subject)!.manifest;
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: IN_TOTO,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
    layers: [{ mediaType: IN_TOTO, digest: fakeBlob(seed, 'provenance'), size: 19_307 }],
    subject: { mediaType: OCI_INDEX, digest: subject, size: Buffer.byteLength(subjectText) },
    annotations: { 'org.opencontainers.image.revision': seed },
  });
  return put(store, text, OCI_MANIFEST, []);
}

function fakeBlob(...parts: string[]): string {
  // Not a real blob digest; only its shape matters to the registry and the janitor.
  let h = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619) >>> 0;
  return `sha256:${h.toString(16).padStart(8, '0').repeat(8)}`;
}

/**
 * About `total` images over total/1000 repositories, each a CI history of 90 days: every build a buildx index
 * (`ci-N`, every 10th also `main`), every 2nd a cache push, every 5th a PR image, every 50th an OCI referrer. Pins:
 * the newest `main`, every 200th build, every 40th PR image. Every 300th build carries a protection tag from an
 * earlier run whose pin is gone.
 */
export async function serveSeeded(total: number): Promise<{ summary: SeedSummary; close: () => Promise<void>; restore: () => void }> {
  const emulator = await startEmulator({ now: T0 });
  const model = emulator.model;
  const start = performance.now();
  const repositories: SeededRepository[] = [];
  const pins: SeedSummary['pins'] = [];
  let stale = 0;
  repositorySizes(total).forEach((target, r) => {
    const name = `team-${Math.floor(r / 10)}/svc-${String(r).padStart(4, '0')}`;
    const store = model.createRepository(name);
    const builds = Math.ceil(target / 5.72); // images per build on average, see above
    const interval = (HISTORY_DAYS * DAY) / builds;
    let indexes = 0;
    let lastMain: Digest | undefined;
    const referrerOf = new Map<Digest, Digest>();
    const indexDigests = new Set<Digest>();
    const staleOn = new Set<Digest>();
    const buildOf = new Map<Digest, number>();
    let lastBuild = 0;
    const pinsBefore = pins.length;
    for (let build = 0; build < builds && store.imageCount < target; build++) {
      model.setClock(T0 + Math.round(build * interval));
      const seed = `${name}#${build}`;
      const tags = build % 10 === 0 ? [`ci-${build}`, 'main'] : [`ci-${build}`];
      const index = pushBuildx(store, seed, tags);
      indexes += 1;
      indexDigests.add(index);
      if (build % 10 === 0) lastMain = index;
      buildOf.set(index, build);
      lastBuild = build;
      if (build % 2 === 0) pushCache(store, seed);
      if (build % 5 === 0) {
        const pr = put(store, imageManifest(`${seed}/pr`, 80 * 1024 * 1024).text, OCI_MANIFEST, [`pr-${build}`]);
        if (build % 200 === 0) pins.push({ repository: name, digest: pr });
      }
      if (build % 50 === 0) referrerOf.set(index, pushReferrer(store, seed, index));
      if (build % 200 === 100) pins.push({ repository: name, digest: index });
      if (build % 300 === 150) {
        store.putImage({ manifest: store.image(index)!.manifest, tag: protectionTagFor(index) });
        stale += 1;
        staleOn.add(index);
      }
    }
    if (lastMain) pins.push({ repository: name, digest: lastMain });
    const needed = new Set<Digest>();
    for (const { digest } of pins.slice(pinsBefore)) needed.add(digest);
    // Referrers of the images that stay (pinned, tagged `main`, among the newest 25 `ci-*`, or carrying a protection
    // tag, which counts as a pin while no run state says otherwise): untagged, they would expire while their subject stays.
    for (const [subject, referrer] of referrerOf) {
      const build = buildOf.get(subject)!;
      if (needed.has(subject) || staleOn.has(subject) || subject === lastMain || build >= lastBuild - 24) needed.add(referrer);
    }
    const toProtect = [...needed].filter((digest) => !staleOn.has(digest));
    repositories.push({
      name,
      images: store.imageCount,
      indexes,
      toProtect: toProtect.length,
      toProtectNonIndex: toProtect.filter((digest) => !indexDigests.has(digest)).length,
      staleTags: [...staleOn].filter((digest) => !needed.has(digest)).length,
    });
  });
  model.setClock(NOW);
  const summary: SeedSummary = {
    endpoint: emulator.endpoint,
    now: NOW,
    images: repositories.reduce((sum, r) => sum + r.images, 0),
    repositories,
    pins,
    staleProtectionTags: stale,
    seedMs: Math.round(performance.now() - start),
  };
  // What the seed left, to bring the registry back to it for another first night (scripts/bench-scale.ts).
  const seededTags = new Map(model.listRepositories().map((store) => [store.name, new Map([...store.images.values()].map((image) => [image.digest, [...image.tags]]))]));
  const restore = () => {
    for (const store of model.listRepositories()) {
      const tags = seededTags.get(store.name)!;
      if (store.images.size !== tags.size) throw new Error(`${store.name} has ${store.images.size} images, the seed left ${tags.size}: images were deleted`);
      store.tagToDigest.clear();
      for (const image of store.images.values()) {
        image.tags = [...tags.get(image.digest)!];
        for (const tag of image.tags) store.tagToDigest.set(tag, image.digest);
      }
      delete store.policyText;
      delete store.preview;
    }
  };
  return { summary, close: () => emulator.close(), restore };
}

// ---------------------------------------------------------------- the measurement (janitor process)

export interface OperationRow {
  operation: string;
  calls: number;
  minimum: number;
  /** What the emulator received (cross-check of the adapter's own count). */
  received: number;
}

export interface RunMeasurement {
  wallMs: number;
  /** Wall time during which at least one repository was reading its inventory (DescribeImages + index manifests). */
  inventoryWallMs: number;
  cpuMs: number;
  operations: OperationRow[];
  calls: number;
  minimum: number;
  ratio: number;
  callsPerImage: number;
  tagsAdded: number;
  tagsRemoved: number;
  policiesInstalled: number;
  failedRepositories: number;
  blockedRepositories: number;
}

export interface ApiBench {
  images: number;
  repositories: number;
  indexes: number;
  pins: number;
  seedMs: number;
  first: RunMeasurement;
  steady: RunMeasurement;
  memory: { maxRssMb: number; peakHeapMb: number };
}

const quietLog: LogPort = { info() {}, warn() {}, error() {} };

/**
 * Wall time with at least one inventory read in flight (from DescribeImages to the index manifests that follow it),
 * and the size of each lifecycle preview ECR returned (its pages are part of the minimum).
 */
function instrument(registry: RegistryPort): { registry: RegistryPort; wallMs: () => number; previewSizes: Map<string, number> } {
  const previewSizes = new Map<string, number>();
  let inFlight = 0;
  let since = 0;
  let total = 0;
  const reading = new Set<string>();
  const begin = (repository: string) => {
    reading.add(repository);
    if (inFlight++ === 0) since = performance.now();
  };
  const end = (repository: string) => {
    if (!reading.delete(repository)) return;
    if (--inFlight === 0) total += performance.now() - since;
  };
  return {
    wallMs: () => Math.round(total),
    previewSizes,
    registry: {
      ...registry,
      async previewLifecyclePolicy(repository, policyText) {
        const preview = await registry.previewLifecyclePolicy(repository, policyText);
        previewSizes.set(repository, preview.expiring.length);
        return preview;
      },
      async describeImages(repository, onPage) {
        begin(repository);
        try {
          return await registry.describeImages(repository, onPage);
        } catch (error) {
          end(repository);
          throw error;
        }
      },
      async getManifests(repository, digests) {
        try {
          return await registry.getManifests(repository, digests);
        } finally {
          end(repository); // only the first fetch after DescribeImages belongs to the inventory
        }
      },
    },
  };
}

async function emulatorStats(endpoint: string): Promise<EmulatorStats> {
  const response = await fetch(`${endpoint}/_emulator/stats`);
  return (await response.json()) as EmulatorStats;
}

const perBatch = (n: number, size: number) => Math.ceil(n / size);

/** The fewest calls that can do this run's work, from the seeded registry and the plan's own changes. */
function minimumCalls(
  seed: SeedSummary,
  report: RunReport,
  previewSizes: ReadonlyMap<string, number>,
  indexesKnown: ReadonlySet<string>,
): Record<string, number> {
  const minimum: Record<string, number> = Object.fromEntries(OPERATIONS.map((op) => [op, 0]));
  minimum.DescribeRepositories = perBatch(seed.repositories.length, 1000);
  const byName = new Map(report.repositories.map((r) => [r.repository, r]));
  for (const repository of seed.repositories) {
    // At least one page even for an empty repository: that is how one learns it is empty.
    minimum.DescribeImages! += Math.max(1, perBatch(repository.images, 1000));
    minimum.GetLifecyclePolicy! += 1;
    const plan = byName.get(repository.name)?.plan;
    if (!plan) continue;
    // Index manifests the run state already holds need no read: only new indexes are fetched.
    const newIndexes = plan.images.filter((image) => image.kind === 'index' && !indexesKnown.has(image.digest)).length;
    minimum.BatchGetImage! += perBatch(newIndexes, 100);
    const kinds = new Map(plan.images.map((image) => [image.digest, image.kind]));
    const adds = plan.protectTags.add;
    // Protection tags on non-index images need their manifests, which the index fetch did not bring.
    minimum.BatchGetImage! += perBatch(adds.filter((a) => kinds.get(a.digest) !== 'index').length, 100);
    minimum.PutImage! += adds.length;
    if (plan.policy.action === 'install') {
      minimum.PutLifecyclePolicy! += 1;
      const previewed = previewSizes.get(repository.name);
      if (previewed !== undefined) {
        // ECR's dry run first: one start, then its results at 100 a page (at least one read to see it COMPLETE;
        // on AWS, reads while it is IN_PROGRESS come on top).
        minimum.StartLifecyclePolicyPreview! += 1;
        minimum.GetLifecyclePolicyPreview! += Math.max(1, perBatch(previewed, 100));
      }
    }
    minimum.BatchDeleteImage! += perBatch(plan.protectTags.remove.length, 100);
  }
  return minimum;
}

async function measureRun(seed: SeedSummary, stateStore: StateStore, pinsConfig: ReturnType<typeof parseConfig>): Promise<{ run: RunMeasurement; report: RunReport }> {
  const indexesKnown = new Set<string>();
  for (const repository of seed.repositories) {
    for (const digest of Object.keys((await stateStore.load(repository.name))?.indexManifests ?? {})) indexesKnown.add(digest);
  }
  const before = await emulatorStats(seed.endpoint);
  const timed = instrument(createEcrRegistry(makeEmulatorClient(seed.endpoint)));
  const cpu = process.cpuUsage();
  const start = performance.now();
  const report = await runJanitor(
    { registry: timed.registry, pinSources: [createConfigPinSource(pinsConfig)], stateStore, clock: { now: () => seed.now }, log: quietLog },
    { config: pinsConfig, mode: 'run', concurrency: JANITOR_CONCURRENCY },
  );
  const wallMs = Math.round(performance.now() - start);
  const used = process.cpuUsage(cpu);
  const after = await emulatorStats(seed.endpoint);
  const minimum = minimumCalls(seed, report, timed.previewSizes, indexesKnown);
  const names = [...new Set([...OPERATIONS, ...Object.keys(report.apiCalls)])];
  const operations = names.map((operation) => ({
    operation,
    calls: report.apiCalls[operation] ?? 0,
    minimum: minimum[operation] ?? 0,
    received: (after.calls[operation] ?? 0) - (before.calls[operation] ?? 0),
  }));
  const calls = operations.reduce((sum, o) => sum + o.calls, 0);
  const min = operations.reduce((sum, o) => sum + o.minimum, 0);
  return {
    report,
    run: {
      wallMs,
      inventoryWallMs: timed.wallMs(),
      cpuMs: Math.round((used.user + used.system) / 1000),
      operations,
      calls,
      minimum: min,
      ratio: min === 0 ? (calls === 0 ? 1 : Infinity) : Math.round((calls / min) * 1000) / 1000,
      callsPerImage: Math.round((calls / seed.images) * 10_000) / 10_000,
      tagsAdded: report.repositories.reduce((sum, r) => sum + r.actions.tagsAdded, 0),
      tagsRemoved: report.repositories.reduce((sum, r) => sum + r.actions.tagsRemoved, 0),
      policiesInstalled: report.repositories.filter((r) => r.actions.policyInstalled).length,
      failedRepositories: report.totals.failed,
      blockedRepositories: report.totals.blocked,
    },
  };
}

function startHost(images: number): Promise<{ child: ChildProcess; seed: SeedSummary }> {
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', String(images)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve({ child, seed: JSON.parse(line) as SeedSummary });
      } catch (error) {
        reject(new Error(`emulator host said ${line}: ${(error as Error).message}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`emulator host exited with ${code} before it was ready`)));
    child.once('error', reject);
  });
}

/** Meant to run in a process of its own: `memory` is then the janitor's alone (the emulator is another process). */
export async function benchApi(images: number): Promise<ApiBench> {
  const { child, seed } = await startHost(images);
  const stateDir = mkdtempSync(join(tmpdir(), 'ecr-janitor-bench-state-'));
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
  try {
    const config = benchConfig(seed);
    // On disk, as the CLI keeps it (S3 in Lambda): state held in memory would count against the janitor's memory.
    const stateStore = createFileStateStore(stateDir);
    // Only the measurements are kept: holding a run's report (every image's decision) would inflate the peak memory.
    const first = (await measureRun(seed, stateStore, config)).run;
    const steady = (await measureRun(seed, stateStore, config)).run;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    return {
      images: seed.images,
      repositories: seed.repositories.length,
      indexes: seed.repositories.reduce((sum, r) => sum + r.indexes, 0),
      pins: seed.pins.length,
      seedMs: seed.seedMs,
      first,
      steady,
      memory: { maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), peakHeapMb: Math.round(peakHeap / 2 ** 20) },
    };
  } finally {
    clearInterval(sampler);
    rmSync(stateDir, { recursive: true, force: true });
    child.stdin?.end();
    child.kill('SIGTERM');
  }
}

async function main(argv: string[]): Promise<void> {
  const flag = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? Number(argv[at + 1]) : undefined;
  };
  const serve = flag('--serve');
  if (serve !== undefined) {
    const { summary, close, restore } = await serveSeeded(serve);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    // "restore" on stdin: tags and policies as seeded again (answers "restored").
    createInterface({ input: process.stdin }).on('line', (line) => {
      if (line.trim() !== 'restore') return;
      restore();
      process.stdout.write('restored\n');
    });
    const stop = () => void close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.stdin.once('end', stop);
    process.stdin.resume();
    return;
  }
  const images = flag('--images');
  if (images === undefined || !Number.isInteger(images) || images < 1) {
    process.stderr.write('usage: tsx scripts/bench-api.ts --images N | --serve N\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await benchApi(images))}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
