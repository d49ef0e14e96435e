// `npm run bench`: the speed and size figures the project promises, measured (never asserted in timed tests).
//   ECR API calls per operation for 10k and 100k images against the minimum the work needs (goal: within 1.1x)
//   planner CPU for 100k and 1M images (goal: 100k under 2 s CPU)
//   Lambda bundle size as the CDK builds it (goal: under 1 MB)
//   peak memory of each of those, each measured in a process of its own
// Results: tables on stdout, JSON in bench-results/latest.json.
// Flags: --quick (skip the 1M planner run and the 100k API run); --api-1m (add an API run over 1M images in 1,000
// repositories: about 2 minutes and 4 GB of memory); --scale (only the one-night-at-scale section, scripts/bench-scale.ts:
// 1,000 repositories / 1M images at 100 ms per call in virtual time, the README's Scaling table; its last line is
// `BENCH {...}` with the goals' figures)
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ApiBench, RunMeasurement } from './bench-api.js';
import { benchBundle } from './bench-bundle.js';
import { benchPlanner, type PlannerBench } from './bench-planner.js';
import { benchScale, scaleTable } from './bench-scale.js';

const API_GOAL = 1.1;
const BUNDLE_GOAL_BYTES = 1_000_000;
const PLANNER_GOAL_CPU_MS = 2000;
/** The janitor's V8 old space in the API runs: a stand-in for the default 1,024 MB function (lib/ecr-janitor.ts). */
const JANITOR_HEAP_MB = 900;

function table(title: string, rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}\n${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const row of rows) console.log(line(columns.map((c) => String(row[c]))));
}

const n = (value: number) => value.toLocaleString('en-US');
const ratio = (calls: number, minimum: number) => (minimum === 0 ? (calls === 0 ? '-' : 'inf') : (calls / minimum).toFixed(2));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

/** Runs a section in a child process (its peak RSS is then its own) and returns the JSON it prints last. */
function inChild<T>(script: string, args: string[], nodeFlags: string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, '--no-warnings', '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} exited with ${code}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} ${args.join(' ')} printed no JSON result: ${last.slice(0, 200)}`));
      }
    });
  });
}

interface PlannerSection extends PlannerBench {
  maxRssMb: number;
}

function plannerSection(images: number): PlannerSection {
  const result = benchPlanner(images);
  return { ...result, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

function apiTables(r: ApiBench): void {
  const byOp = (run: RunMeasurement) => new Map(run.operations.map((o) => [o.operation, o]));
  const first = byOp(r.first);
  const steady = byOp(r.steady);
  const rows: Record<string, string | number>[] = [...first.keys()].map((operation) => {
    const f = first.get(operation)!;
    const s = steady.get(operation) ?? { calls: 0, minimum: 0 };
    return {
      operation,
      'first run': n(f.calls),
      minimum: n(f.minimum),
      ratio: ratio(f.calls, f.minimum),
      'steady state': n(s.calls),
      'minimum ': n(s.minimum),
      'ratio ': ratio(s.calls, s.minimum),
    };
  });
  rows.push({
    operation: 'total',
    'first run': n(r.first.calls),
    minimum: n(r.first.minimum),
    ratio: ratio(r.first.calls, r.first.minimum),
    'steady state': n(r.steady.calls),
    'minimum ': n(r.steady.minimum),
    'ratio ': ratio(r.steady.calls, r.steady.minimum),
  });
  rows.push({ operation: 'calls per image', 'first run': r.first.callsPerImage.toFixed(4), minimum: '', ratio: '', 'steady state': r.steady.callsPerImage.toFixed(4), 'minimum ': '', 'ratio ': '' });
  table(
    `ECR API calls: ${n(r.images)} images in ${r.repositories} repositories (${n(r.indexes)} indexes, ${r.pins} pins); ` +
      `first run: ${r.first.tagsAdded} protection tags added, ${r.first.tagsRemoved} removed, ${r.first.policiesInstalled} policies installed`,
    rows,
  );
  const mismatched = [r.first, r.steady].flatMap((run) => run.operations.filter((o) => o.received !== o.calls));
  console.log(
    mismatched.length === 0
      ? 'the emulator received exactly the calls the adapter counted'
      : `the emulator received other counts than the adapter's: ${mismatched.map((o) => `${o.operation} ${o.received} vs ${o.calls}`).join(', ')}`,
  );
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const section = process.argv.indexOf('--section');
  if (section >= 0) {
    // Child mode: one planner measurement, JSON on stdout.
    const images = Number(process.argv[process.argv.indexOf('--images') + 1]);
    console.log(JSON.stringify(plannerSection(images)));
    return;
  }

  const startedAt = new Date().toISOString();
  if (process.argv.includes('--scale')) {
    const result = await benchScale();
    for (const line of scaleTable(result)) console.log(line);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/scale.json', `${JSON.stringify({ startedAt, node: process.version, ...result }, null, 2)}\n`);
    console.log('results: bench-results/scale.json');
    console.log(`BENCH ${JSON.stringify(result.bench)}`);
    return;
  }
  const apiSizes = [...(quick ? [10_000] : [10_000, 100_000]), ...(process.argv.includes('--api-1m') ? [1_000_000] : [])];
  const plannerSizes = quick ? [100_000] : [100_000, 1_000_000];

  const api: ApiBench[] = [];
  for (const images of apiSizes) {
    const r = await inChild<ApiBench>('./bench-api.ts', ['--images', String(images)], [`--max-old-space-size=${JANITOR_HEAP_MB}`]);
    api.push(r);
    apiTables(r);
  }
  table(
    'ECR API: summary (janitor over HTTP to the emulator, 4 repositories at a time; goal: within 1.1x of the minimum)',
    api.map((r) => ({
      images: n(r.images),
      repos: r.repositories,
      'run ms': r.first.wallMs,
      'inventory ms': r.first.inventoryWallMs,
      'janitor cpu ms': r.first.cpuMs,
      'steady run ms': r.steady.wallMs,
      'calls/image': `${r.first.callsPerImage.toFixed(4)} / ${r.steady.callsPerImage.toFixed(4)}`,
      'x minimum': `${r.first.ratio.toFixed(2)} / ${r.steady.ratio.toFixed(2)}`,
      goal: Math.max(r.first.ratio, r.steady.ratio) <= API_GOAL ? 'met' : 'MISSED',
      failed: r.first.failedRepositories + r.steady.failedRepositories,
    })),
  );
  console.log('(a / b: first run / steady state; inventory = DescribeImages + index manifests, wall time with any repository reading)');

  const planner: PlannerSection[] = [];
  for (const images of plannerSizes) planner.push(await inChild<PlannerSection>('./bench.ts', ['--section', 'planner', '--images', String(images)]));
  table(
    'Planner (one repository, synthetic buildx/cache/PR workload)',
    planner.map((r) => ({
      images: n(r.images),
      'cpu ms': r.cpuMs,
      'wall ms': r.wallMs,
      'images/s (cpu)': n(r.imagesPerSecond),
      expired: n(r.expired),
      'heap MiB': r.heapUsedMb,
      goal: r.images < 500_000 ? (r.cpuMs < PLANNER_GOAL_CPU_MS ? 'under 2 s: met' : 'under 2 s: MISSED') : '-',
    })),
  );

  const bundle = await benchBundle();
  table('Lambda bundle (lambda/handler.ts with the construct\'s esbuild options, AWS SDK inside; goal: under 1 MB)', [
    {
      file: 'index.mjs',
      bytes: n(bundle.bytes),
      size: mib(bundle.bytes),
      gzip: `${n(bundle.gzipBytes)} B`,
      'source map': mib(bundle.sourceMapBytes),
      goal: bundle.bytes < BUNDLE_GOAL_BYTES ? 'met' : 'MISSED',
    },
  ]);
  console.log(`largest parts: ${bundle.topInputs.map((t) => `${t.input} ${Math.round(t.bytes / 1024)} KiB`).join(', ')}`);

  table(`Peak memory (each section in its own process; the emulator runs in yet another; janitor heap capped at ${JANITOR_HEAP_MB} MB)`, [
    ...api.map((r) => ({ section: `janitor run, ${n(r.images)} images (first + steady)`, 'peak RSS MiB': r.memory.maxRssMb, 'heap MiB': `${r.memory.peakHeapMb} (peak, sampled)` })),
    ...planner.map((r) => ({ section: `planner, ${n(r.images)} images (inventory build + plan)`, 'peak RSS MiB': r.maxRssMb, 'heap MiB': `${r.heapUsedMb} (live after plan)` })),
  ]);

  mkdirSync('bench-results', { recursive: true });
  const results = {
    startedAt,
    quick,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    goals: { apiRatio: API_GOAL, bundleBytes: BUNDLE_GOAL_BYTES, planner100kCpuMs: PLANNER_GOAL_CPU_MS },
    janitorHeapMb: JANITOR_HEAP_MB,
    api,
    planner,
    bundle,
  };
  writeFileSync('bench-results/latest.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log('\nresults: bench-results/latest.json');
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});
