// `npm run bench -- --scale`: one night for 1,000 repositories / 1M images, modelled on the emulator at 100 ms per call.
//
// The janitor runs for real (the Lambda path: memory-sized scheduler, pipelined previews, writes on their own client
// behind the token buckets, per-image decisions dropped) over HTTP against a seeded emulator in another process. Time
// is VIRTUAL so the bench takes minutes, not the hours 100 ms per call would take serially:
// - every ECR attempt costs 100 ms of virtual time (a middleware on both clients, retries included);
// - a lifecycle preview answers IN_PROGRESS until 2 s (or 10 s) of virtual time after its Start;
// - the janitor's own CPU time is charged to the virtual clock as it is spent (one thread: nothing else runs then);
// - run-state reads and writes cost 20 ms (an S3 GET/PUT);
// - the clock moves to the next timer only when no request is in flight, so no call is ever answered early;
// - each run is a process of its own with V8's old space capped (LAMBDA_HEAP_MB), so its RSS is the Lambda path's.
// Calls are checked against an honest lower bound computed from the seed, the run state and ECR's own preview answers,
// never from the janitor's plan. Every call counts: preview polls and retries included.
//
//   tsx scripts/bench-scale.ts                 the whole section (what `npm run bench -- --scale` runs)
//   tsx scripts/bench-scale.ts --images N      the same over about N images (N / 1,000 repositories)
//   tsx scripts/bench-scale.ts --first-night S  only a first night with S-second previews (while iterating)
//   tsx scripts/bench-scale.ts --run <json>    one janitor run in this process (child mode), JSON on stdout
//   BENCH_TRACE=FILE                           also write every call as [virtual ms, operation, repository] lines
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ECRClient } from '@aws-sdk/client-ecr';
import { createEcrRegistry } from '../lambda/adapters/ecr-registry.js';
import { createConfigPinSource } from '../lambda/adapters/pins-config.js';
import { createFileStateStore } from '../lambda/adapters/state-file.js';
import { scheduleLimits, wireThroughput } from '../lambda/adapters/throughput-aws.js';
import { DEFAULT_WRITE_RATES } from '../lambda/adapters/write-limiter.js';
import type { StateStore } from '../lambda/app/ports.js';
import { runJanitor, type LogPort } from '../lambda/app/run-janitor.js';
import type { EmulatorStats } from '../emulator/server.js';
import { benchConfig, OPERATIONS, type SeedSummary } from './bench-api.js';
import { benchPlanner } from './bench-planner.js';

const CALL_MS = 100;
const STATE_IO_MS = 20;
const LAMBDA_MEMORY_MB = 1024;
/** The janitor's V8 old space in the runs: the 600 MB RSS goal less room for code, buffers and new space. */
const LAMBDA_HEAP_MB = 480;
const LAMBDA_TIMEOUT_MS = 15 * 60_000;
const IMAGES = 1_000_000;
export const GOALS = { firstRunMin2s: 10, firstRunMin10s: 15, steadyNightMin: 2, peakRssMb: 600, callsOverLowerBound: 1.1, planner100kCpuMs: 1000 };

// ---------------------------------------------------------------- virtual time

/** A clock that jumps to the next timer once nothing real is in flight, after charging the CPU spent meanwhile. */
export class VirtualTime {
  now = 0;
  private readonly timers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  private inFlight = 0;
  private stepping = false;
  private cpuMark = process.cpuUsage();
  /** CPU spells of 200 ms or more, as [virtual ms at their end, ms]: the write stream cannot send during them. */
  readonly longCpu: [number, number][] = [];

  sleep = (ms: number): Promise<void> =>
    new Promise<void>((wake) => {
      this.push({ at: this.now + Math.max(0, ms), seq: this.seq++, wake });
      this.kick();
    });

  async io<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      this.kick();
    }
  }

  private kick(): void {
    if (this.stepping) return;
    this.stepping = true;
    // Two turns of the event loop: every continuation of what just finished has run (and issued its next request).
    setImmediate(() => setImmediate(() => this.step()));
  }

  private step(): void {
    this.stepping = false;
    const used = process.cpuUsage(this.cpuMark);
    this.cpuMark = process.cpuUsage();
    const cpuMs = (used.user + used.system) / 1000;
    this.now += cpuMs;
    if (cpuMs >= 200) this.longCpu.push([this.now, cpuMs]);
    if (this.inFlight > 0 || this.timers.length === 0) return;
    const first = this.pop()!;
    this.now = Math.max(this.now, first.at);
    const due = [first];
    while (this.timers.length > 0 && this.timers[0]!.at <= this.now) due.push(this.pop()!);
    for (const timer of due) timer.wake();
    this.kick();
  }

  // A binary heap by (at, seq).
  private push(timer: { at: number; seq: number; wake: () => void }): void {
    const heap = this.timers;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): { at: number; seq: number; wake: () => void } | undefined {
    const heap = this.timers;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** An ECR client as the Lambda's (adaptive retries, 8 attempts), on the emulator, every attempt 100 ms of virtual time. */
/** BENCH_TRACE=FILE: every call as [virtual ms, operation, repository], written as JSON lines after the run. */
const callTrace: [number, string, string][] = [];

function modelledClient(endpoint: string, time: VirtualTime, previewMs: number, previewStarts: Map<string, number>): ECRClient {
  const client = new ECRClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    retryMode: 'adaptive',
    maxAttempts: 8,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (process.env.BENCH_TRACE) callTrace.push([time.now, (context.commandName ?? '').replace(/Command$/, ''), (args.input as { repositoryName?: string }).repositoryName ?? '']);
      await time.sleep(CALL_MS);
      return time.io(() => next(args));
    },
    { step: 'deserialize', priority: 'low', name: 'benchModelledLatency' },
  );
  // ECR takes a while to compute a preview; the emulator answers at once. Until `previewMs` after its Start, the
  // first page reads IN_PROGRESS with no results, as ECR's does.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { repositoryName?: string; nextToken?: string };
      const result = await next(args);
      const repository = input.repositoryName ?? '';
      if (context.commandName === 'StartLifecyclePolicyPreviewCommand') previewStarts.set(repository, time.now);
      if (context.commandName === 'GetLifecyclePolicyPreviewCommand' && input.nextToken === undefined) {
        const started = previewStarts.get(repository);
        const output = result.output as { status?: string; previewResults?: unknown[]; nextToken?: string };
        if (started !== undefined && time.now < started + previewMs && output.status === 'COMPLETE') {
          output.status = 'IN_PROGRESS';
          output.previewResults = [];
          delete output.nextToken;
        }
      }
      return result;
    },
    { step: 'initialize', name: 'benchPreviewDuration' },
  );
  return client;
}

function timedStateStore(store: StateStore, time: VirtualTime): StateStore {
  return {
    load: async (repository) => {
      await time.sleep(STATE_IO_MS);
      return time.io(() => store.load(repository));
    },
    save: async (state) => {
      await time.sleep(STATE_IO_MS);
      return time.io(() => store.save(state));
    },
  };
}

// ---------------------------------------------------------------- one run (child process)

interface RunRequest {
  seedFile: string;
  stateDir: string;
  previewMs: number;
}

export interface OperationRow {
  operation: string;
  calls: number;
  lowerBound: number;
  received: number;
}

export interface ScaleRun {
  previewMs: number;
  modelledMin: number;
  realMs: number;
  cpuMs: number;
  peakRssMb: number;
  peakImagesInFlight: number;
  concurrency: number;
  maxImagesInFlight: number;
  previewPolls: number;
  operations: OperationRow[];
  calls: number;
  lowerBound: number;
  ratio: number;
  tagsAdded: number;
  tagsRemoved: number;
  policiesInstalled: number;
  failed: number;
  refused: number;
  notInstalled: string[];
  writeStream: WriteStreamTrace;
}

/**
 * When the PutImage stream sent and when it idled: `starvedS` is time with no PutImage waiting (nothing planned to tag
 * yet: scheduling), `blockedS` time with one waiting beyond the bucket's interval (the janitor's CPU held the sends).
 */
export interface WriteStreamTrace {
  puts: number;
  firstAskS: number;
  firstSendS: number;
  lastSendS: number;
  /** lastSendS less what the bucket alone needs from 0: what the stream lost. */
  lostS: number;
  starvedS: number;
  blockedS: number;
  /** CPU spells of 200 ms or more: count and their sum. */
  longCpu: { spells: number; totalS: number; longestS: number };
  lastPolicyInstallS: number;
}

/** Sends and asks in virtual ms (both in order of time), the bucket's interval: where the stream went quiet. */
export function traceWriteStream(asks: readonly number[], sends: readonly number[], intervalMs: number, burst: number): Omit<WriteStreamTrace, 'longCpu' | 'lastPolicyInstallS'> {
  const s = (ms: number) => Math.round(ms / 100) / 10;
  let starved = 0;
  let blocked = 0;
  let asked = 0;
  for (let i = 0; i + 1 < sends.length; i++) {
    const gap = sends[i + 1]! - sends[i]!;
    if (gap <= intervalMs) continue;
    while (asked < asks.length && asks[asked]! <= sends[i]!) asked++;
    // Someone waiting at the gap's start (more asks up to now than sends): the bucket or the CPU held it. Otherwise
    // the stream starved until the next ask, past the interval the bucket would have made it wait anyway.
    const lost = gap - intervalMs;
    const waiting = asked > i + 1;
    const starvedHere = waiting ? 0 : Math.min(lost, Math.max(0, (asks[asked] ?? sends[i + 1]!) - sends[i]! - intervalMs));
    starved += starvedHere;
    blocked += lost - starvedHere;
  }
  const lastSend = sends.at(-1) ?? 0;
  const ideal = Math.max(0, sends.length - burst) * intervalMs;
  return {
    puts: sends.length,
    firstAskS: s(asks[0] ?? 0),
    firstSendS: s(sends[0] ?? 0),
    lastSendS: s(lastSend),
    lostS: s(lastSend - ideal),
    starvedS: s(starved),
    blockedS: s(blocked),
  };
}

const quietLog: LogPort = { info() {}, warn() {}, error() {} };

async function emulatorStats(endpoint: string): Promise<EmulatorStats> {
  return (await (await fetch(`${endpoint}/_emulator/stats`)).json()) as EmulatorStats;
}

const pages = (n: number, size: number) => Math.ceil(n / size);

/**
 * The fewest calls this night's work needs, from the seed, the run state before the run and ECR's preview answers:
 * DescribeRepositories pages; per repository DescribeImages pages (at least one), GetLifecyclePolicy (drift is only
 * seen by reading it), BatchGetImage for index manifests the state lacks and, separately, the manifests of non-index
 * images to tag (which those are is known only once the inventory is read), one PutImage per digest to protect, and
 * for a repository whose policy changes one Start, the preview's result pages (at least one read) and one Put;
 * BatchDeleteImage per 100 lapsed protection tags. Nothing in it comes from the janitor's plan.
 */
function lowerBound(seed: SeedSummary, before: ReadonlyMap<string, { hasPolicy: boolean; knownIndexes: number }>, previewSizes: ReadonlyMap<string, number>, firstNight: boolean): Record<string, number> {
  const bound: Record<string, number> = Object.fromEntries(OPERATIONS.map((op) => [op, 0]));
  bound.DescribeRepositories = pages(seed.repositories.length, 1000);
  for (const repository of seed.repositories) {
    const { hasPolicy, knownIndexes } = before.get(repository.name)!;
    bound.DescribeImages! += Math.max(1, pages(repository.images, 1000));
    bound.GetLifecyclePolicy! += 1;
    bound.BatchGetImage! += pages(Math.max(0, repository.indexes - knownIndexes), 100);
    if (firstNight) {
      bound.BatchGetImage! += pages(repository.toProtectNonIndex ?? 0, 100);
      bound.PutImage! += repository.toProtect ?? 0;
      // Lapsed protection tags are not removable tonight: with no run state behind them their grace restarts
      // (README "Protection tags"), and on the next nights they are within pinGraceDays. So none in the bound.
    }
    if (!hasPolicy) {
      bound.StartLifecyclePolicyPreview! += 1;
      bound.GetLifecyclePolicyPreview! += Math.max(1, pages(previewSizes.get(repository.name) ?? 0, 100));
      bound.PutLifecyclePolicy! += 1;
    }
  }
  return bound;
}

/** Before the run: whether each repository has a policy, and how many index manifests its run state holds. */
async function beforeTheRun(endpoint: string, seed: SeedSummary, store: StateStore): Promise<Map<string, { hasPolicy: boolean; knownIndexes: number }>> {
  // A client of its own, before the run's counts start: the janitor's counts stay the janitor's.
  const client = createEcrRegistry(new ECRClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } }));
  const result = new Map<string, { hasPolicy: boolean; knownIndexes: number }>();
  for (const repository of seed.repositories) {
    const state = await store.load(repository.name);
    result.set(repository.name, { hasPolicy: (await client.getLifecyclePolicy(repository.name)) !== null, knownIndexes: Object.keys(state?.indexManifests ?? {}).length });
  }
  return result;
}

async function runOnce(request: RunRequest): Promise<ScaleRun> {
  const seed = JSON.parse(readFileSync(request.seedFile, 'utf8')) as SeedSummary;
  const config = benchConfig(seed);
  const fileStore = createFileStateStore(request.stateDir);
  const hadState = (await fileStore.load(seed.repositories[0]!.name)) !== null;
  const before = await beforeTheRun(seed.endpoint, seed, fileStore);
  const time = new VirtualTime();
  const previewStarts = new Map<string, number>();
  const reads = createEcrRegistry(modelledClient(seed.endpoint, time, request.previewMs, previewStarts));
  const writes = createEcrRegistry(modelledClient(seed.endpoint, time, request.previewMs, previewStarts));

  // ECR's own answer to each preview, for the lower bound's result pages.
  const previewSizes = new Map<string, number>();
  const readPreview = reads.readLifecyclePolicyPreview.bind(reads);
  reads.readLifecyclePolicyPreview = async (repository, policyText) => {
    const read = await readPreview(repository, policyText);
    if (read.status === 'complete') previewSizes.set(repository, read.preview.expiring.length + read.preview.transitioning.length);
    return read;
  };
  // The write stream's trace: when each PutImage was asked for (before its token) and sent (after it).
  const putSends: number[] = [];
  const putAsks: number[] = [];
  const policyInstalls: number[] = [];
  const sendTag = writes.putTag.bind(writes);
  writes.putTag = (...args) => (putSends.push(time.now), sendTag(...args));
  const installPolicy = reads.putLifecyclePolicy.bind(reads);
  reads.putLifecyclePolicy = async (...args) => {
    await installPolicy(...args);
    policyInstalls.push(time.now);
  };
  const wired = wireThroughput({
    reads,
    writes,
    config,
    memoryMb: LAMBDA_MEMORY_MB,
    endsAt: LAMBDA_TIMEOUT_MS,
    now: () => time.now,
    sleep: time.sleep,
  });
  const { throughput } = wired;
  const registry = {
    ...wired.registry,
    putTag: (...args: Parameters<typeof wired.registry.putTag>) => {
      if (process.env.BENCH_TRACE) callTrace.push([time.now, 'ask PutImage', args[0]]);
      putAsks.push(time.now);
      return wired.registry.putTag(...args);
    },
  };
  const limits = scheduleLimits(config, LAMBDA_MEMORY_MB);
  const stateStore = timedStateStore(fileStore, time);
  const statsBefore = await emulatorStats(seed.endpoint);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const report = await runJanitor(
    { registry, pinSources: [createConfigPinSource(config)], stateStore, clock: { now: () => seed.now }, log: quietLog, throughput },
    { config, mode: 'run', retainImageDecisions: false },
  );
  const realMs = Math.round(performance.now() - start);
  if (process.env.BENCH_TRACE) writeFileSync(process.env.BENCH_TRACE, callTrace.map((entry) => JSON.stringify(entry)).join('\n'));
  const used = process.cpuUsage(cpu);
  const modelledMs = time.now;
  const after = await emulatorStats(seed.endpoint);
  const bound = lowerBound(seed, before, previewSizes, !hadState);
  const operations = [...new Set([...OPERATIONS, ...Object.keys(report.apiCalls)])].map((operation) => ({
    operation,
    calls: report.apiCalls[operation] ?? 0,
    lowerBound: bound[operation] ?? 0,
    received: (after.calls[operation] ?? 0) - (statsBefore.calls[operation] ?? 0),
  }));
  const calls = operations.reduce((sum, o) => sum + o.calls, 0);
  const min = operations.reduce((sum, o) => sum + o.lowerBound, 0);
  return {
    previewMs: request.previewMs,
    modelledMin: Math.round((modelledMs / 60_000) * 100) / 100,
    realMs,
    cpuMs: Math.round((used.user + used.system) / 1000),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    peakImagesInFlight: throughput.scheduler.peakImagesInFlight,
    concurrency: limits.concurrency,
    maxImagesInFlight: limits.maxImagesInFlight,
    previewPolls: throughput.previews?.polls ?? 0,
    operations,
    calls,
    lowerBound: min,
    ratio: min === 0 ? (calls === 0 ? 1 : Infinity) : Math.round((calls / min) * 1000) / 1000,
    tagsAdded: report.repositories.reduce((sum, r) => sum + r.actions.tagsAdded, 0),
    tagsRemoved: report.repositories.reduce((sum, r) => sum + r.actions.tagsRemoved, 0),
    policiesInstalled: report.repositories.filter((r) => r.actions.policyInstalled).length,
    failed: report.totals.failed,
    refused: report.totals.refused,
    writeStream: {
      ...traceWriteStream(putAsks, putSends, 1000 / DEFAULT_WRITE_RATES.putImagePerSecond, DEFAULT_WRITE_RATES.putImageBurst),
      longCpu: {
        spells: time.longCpu.length,
        totalS: Math.round(time.longCpu.reduce((sum, [, ms]) => sum + ms, 0) / 100) / 10,
        longestS: Math.round(Math.max(0, ...time.longCpu.map(([, ms]) => ms)) / 100) / 10,
      },
      lastPolicyInstallS: Math.round((policyInstalls.at(-1) ?? 0) / 100) / 10,
    },
    notInstalled: report.repositories.flatMap((r) => r.actions.notDone.filter((n) => n.startsWith('install lifecycle policy')).map((n) => `${r.repository}: ${n}`)).slice(0, 5),
  };
}

// ---------------------------------------------------------------- the section (parent process)

function startHost(images: number): Promise<{ child: ChildProcess; seed: SeedSummary }> {
  const script = fileURLToPath(new URL('./bench-api.ts', import.meta.url));
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', script, '--serve', String(images)], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      try {
        resolvePromise({ child, seed: JSON.parse(line) as SeedSummary });
      } catch (error) {
        reject(new Error(`emulator host said ${line}: ${(error as Error).message}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`emulator host exited with ${code} before it was ready`)));
    child.once('error', reject);
  });
}

function summaryOf(run: ScaleRun): string {
  const ops = run.operations.map((o) => `${o.operation} ${o.calls}/${o.lowerBound}`).join(', ');
  const w = run.writeStream;
  const stream = `PutImage stream: ${w.puts} sent ${w.firstSendS}-${w.lastSendS} s (first asked ${w.firstAskS} s), ${w.lostS} s lost: ${w.starvedS} s starved, ${w.blockedS} s blocked; CPU spells >= 200 ms: ${w.longCpu.spells} (${w.longCpu.totalS} s, longest ${w.longCpu.longestS} s); last policy in at ${w.lastPolicyInstallS} s`;
  return `  ${stream}\n  ${run.modelledMin} min modelled, ${run.realMs} ms real, ${run.cpuMs} ms CPU, ${run.peakRssMb} MiB RSS, ${run.peakImagesInFlight} images in flight; calls ${run.calls} / bound ${run.lowerBound} = ${run.ratio}; ${run.failed} failed, ${run.refused} refused; ${ops}`;
}

async function childRun(request: RunRequest, log: (line: string) => void): Promise<ScaleRun> {
  const run = await childRunQuiet(request);
  log(summaryOf(run));
  return run;
}

function childRunQuiet(request: RunRequest): Promise<ScaleRun> {
  // V8's old space capped as in a small function, so RSS follows what the janitor keeps rather than lazy collection.
  const child = spawn(process.execPath, [`--max-old-space-size=${LAMBDA_HEAP_MB}`, '--no-warnings', '--import', 'tsx', fileURLToPath(import.meta.url), '--run', JSON.stringify(request)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`bench-scale run exited with ${code}`));
      resolvePromise(JSON.parse(last) as ScaleRun);
    });
  });
}

/** Asks the emulator host to put tags and policies back as seeded (no image was expired: its lifecycle never ran). */
function restoreSeed(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.trim() !== 'restored') return;
      lines.close();
      resolvePromise();
    });
    child.stdin!.write('restore\n');
  });
}

function stopHost(child: ChildProcess): void {
  child.stdin?.end();
  child.kill('SIGTERM');
}

export interface ScaleBench {
  images: number;
  repositories: number;
  pins: number;
  first2s: ScaleRun;
  steady: ScaleRun;
  first10s: ScaleRun;
  planner100kCpuMs: number[];
  bench: Record<keyof typeof GOALS, number>;
}

/** A seeded emulator host in a child process and a work folder, for `nights`; both are gone afterwards. */
async function withSeededHost<T>(
  images: number,
  log: (line: string) => void,
  nights: (host: { child: ChildProcess; seed: SeedSummary }, seedFile: string, work: string) => Promise<T>,
): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'ecr-janitor-bench-scale-'));
  try {
    log(`seeding ${images.toLocaleString('en-US')} images...`);
    const host = await startHost(images);
    const seedFile = join(work, 'seed.json');
    writeFileSync(seedFile, JSON.stringify(host.seed));
    try {
      return await nights(host, seedFile, work);
    } finally {
      stopHost(host.child);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Seeds once, runs a first and a steady night, restores the seed for the 10 s first night, times the planner. */
export async function benchScale(images = IMAGES, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<ScaleBench> {
  const { seed, first2s, steady, first10s } = await withSeededHost(images, log, async (host, seedFile, work) => {
    const stateDir = mkdtempSync(join(work, 'state-a-'));
    log('first night, 2 s previews...');
    const first2s = await childRun({ seedFile, stateDir, previewMs: 2_000 }, log);
    log('a steady night...');
    const steady = await childRun({ seedFile, stateDir, previewMs: 2_000 }, log);
    // The registry as seeded again (no image was expired: the emulator's lifecycle never ran), and no run state.
    log('the registry back as seeded, for a first night with 10 s previews...');
    await restoreSeed(host.child);
    const first10s = await childRun({ seedFile, stateDir: mkdtempSync(join(work, 'state-b-')), previewMs: 10_000 }, log);
    return { seed: host.seed, first2s, steady, first10s };
  });
  log('planner, 100k images, 5 times...');
  const planner100kCpuMs = Array.from({ length: 5 }, () => benchPlanner(100_000).cpuMs);
  const median = [...planner100kCpuMs].sort((a, b) => a - b)[2]!;
  const runs = [first2s, steady, first10s];
  return {
    images: seed.images,
    repositories: seed.repositories.length,
    pins: seed.pins.length,
    first2s,
    steady,
    first10s,
    planner100kCpuMs,
    bench: {
      firstRunMin2s: first2s.modelledMin,
      firstRunMin10s: first10s.modelledMin,
      steadyNightMin: steady.modelledMin,
      peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
      callsOverLowerBound: Math.max(...runs.map((r) => r.ratio)),
      planner100kCpuMs: median,
    },
  };
}

/** While iterating: seeds `images` and runs one first night with `previewMs` previews, its summary line only. */
export async function benchFirstNight(images: number, previewMs: number, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<ScaleRun> {
  return withSeededHost(images, log, (_host, seedFile, work) => {
    log(`first night, ${previewMs / 1000} s previews...`);
    return childRun({ seedFile, stateDir: mkdtempSync(join(work, 'state-')), previewMs }, log);
  });
}

const n = (value: number) => value.toLocaleString('en-US');

/** The section's table; returns the lines (the README quotes them). */
export function scaleTable(result: ScaleBench): string[] {
  const { first2s, steady, first10s } = result;
  const lines: string[] = [];
  const rows: string[][] = [['operation', 'first night (2 s previews)', 'lower bound', 'steady night', 'lower bound ', 'first night (10 s previews)', 'lower bound  ']];
  const byOp = (run: ScaleRun) => new Map(run.operations.map((o) => [o.operation, o]));
  const [a, b, c] = [byOp(first2s), byOp(steady), byOp(first10s)];
  for (const operation of a.keys()) {
    const cell = (m: Map<string, OperationRow>) => m.get(operation) ?? { calls: 0, lowerBound: 0 };
    rows.push([operation, n(cell(a).calls), n(cell(a).lowerBound), n(cell(b).calls), n(cell(b).lowerBound), n(cell(c).calls), n(cell(c).lowerBound)]);
  }
  rows.push(['total (x lower bound)', `${n(first2s.calls)} (${first2s.ratio.toFixed(2)})`, n(first2s.lowerBound), `${n(steady.calls)} (${steady.ratio.toFixed(2)})`, n(steady.lowerBound), `${n(first10s.calls)} (${first10s.ratio.toFixed(2)})`, n(first10s.lowerBound)]);
  rows.push(['modelled minutes at 100 ms per call', first2s.modelledMin.toFixed(1), '', steady.modelledMin.toFixed(1), '', first10s.modelledMin.toFixed(1), '']);
  rows.push(['peak RSS MiB (Lambda path)', String(first2s.peakRssMb), '', String(steady.peakRssMb), '', String(first10s.peakRssMb), '']);
  const stream = (run: ScaleRun) => `${run.writeStream.firstSendS} s; ${run.writeStream.starvedS} / ${run.writeStream.blockedS} s`;
  if (first2s.writeStream.puts > 0) rows.push(['first PutImage; stream idle: starved / held', stream(first2s), '', steady.writeStream.puts > 0 ? stream(steady) : '-', '', stream(first10s), '']);
  rows.push(['peak images in flight', n(first2s.peakImagesInFlight), '', n(steady.peakImagesInFlight), '', n(first10s.peakImagesInFlight), '']);
  rows.push(['tags added / removed, policies', `${n(first2s.tagsAdded)} / ${n(first2s.tagsRemoved)}, ${n(first2s.policiesInstalled)}`, '', `${n(steady.tagsAdded)} / ${n(steady.tagsRemoved)}, ${n(steady.policiesInstalled)}`, '', `${n(first10s.tagsAdded)} / ${n(first10s.tagsRemoved)}, ${n(first10s.policiesInstalled)}`, '']);
  rows.push(['failed / refused repositories', `${first2s.failed} / ${first2s.refused}`, '', `${steady.failed} / ${steady.refused}`, '', `${first10s.failed} / ${first10s.refused}`, '']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  lines.push(
    `\nOne night at scale: ${n(result.images)} images in ${result.repositories} repositories, ${result.pins} pins; 100 ms per call (virtual time), ` +
      `${first2s.concurrency} repositories calling at once, at most ${n(first2s.maxImagesInFlight)} images in flight (1,024 MB function)`,
  );
  lines.push(line(rows[0]!), line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows.slice(1)) lines.push(line(row));
  const mismatched = [first2s, steady, first10s].flatMap((run) => run.operations.filter((o) => o.received !== o.calls).map((o) => `${o.operation} ${o.received} vs ${o.calls}`));
  lines.push(mismatched.length === 0 ? 'the emulator received exactly the calls the janitor counted' : `the emulator received other counts than the janitor's: ${mismatched.join(', ')}`);
  const goals = Object.entries(GOALS).map(([key, goal]) => `${key} ${result.bench[key as keyof typeof GOALS]} (goal <= ${goal}: ${result.bench[key as keyof typeof GOALS] <= goal ? 'met' : 'MISSED'})`);
  lines.push(`goals: ${goals.join('; ')}`);
  lines.push(`planner, 100k images, CPU ms of 5 runs: ${result.planner100kCpuMs.join(', ')} (median ${result.bench.planner100kCpuMs})`);
  for (const run of [first2s, steady, first10s]) if (run.notInstalled.length > 0) lines.push(`not installed (${run.previewMs / 1000} s previews): ${run.notInstalled.join(' | ')}`);
  return lines;
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--run');
  if (at >= 0) {
    process.stdout.write(`${JSON.stringify(await runOnce(JSON.parse(argv[at + 1]!) as RunRequest))}\n`);
    return;
  }
  const imagesAt = argv.indexOf('--images');
  const images = imagesAt >= 0 ? Number(argv[imagesAt + 1]) : IMAGES;
  if (!(Number.isInteger(images) && images >= 1000)) throw new Error(`--images must be a whole number of at least 1000, got ${argv[imagesAt + 1]}`);
  const firstNightAt = argv.indexOf('--first-night');
  if (firstNightAt >= 0) {
    const previewMs = Number(argv[firstNightAt + 1] ?? 2) * 1000;
    if (!(previewMs > 0)) throw new Error(`--first-night takes the preview's duration in seconds, e.g. --first-night 2; got ${argv[firstNightAt + 1]}`);
    await benchFirstNight(images, previewMs);
    return;
  }
  const result = await benchScale(images);
  for (const line of scaleTable(result)) console.log(line);
  console.log(`BENCH ${JSON.stringify(result.bench)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
