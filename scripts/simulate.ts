// `npm run simulate`: 90 days of the seed workload (two accounts, about 40 buildx builds a day) through the local ECR
// emulator, cleaned by nobody, by a hand-written ECR lifecycle policy and by ecr-janitor, against the live-set minimum.
// Prints a daily table and $/month per world, writes stored-bytes.svg and daily.csv, exits 1 if the janitor world ever
// failed a pull of a live or pinned image, if a janitor repository run did not end ok (refused, blocked, failed), or
// (with --faults) if a fault scenario lost anything or did not converge.
//   --days N      days to simulate (default 90)
//   --faults      also run the fault scenarios (throttling, 5xx, partial deletes, crash before policy, tag moved in
//                 flight, read failures on night 2, lost state, corrupt state)
//   --fault-days N  days per fault scenario (default 20)
//   --every N     print every Nth day in the table (default 5 for runs over 30 days, else 1)
//   --out DIR     where the chart and the CSV go (default simulation-out/)
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runFaultScenarios } from './simulation/faults.js';
import { storedBytesSvg } from './simulation/chart-svg.js';
import { dailyCsv, dailyTable, faultSummary, stageTimes, worldSummary } from './simulation/report.js';
import { simulate } from './simulation/simulate.js';

interface Args {
  days: number;
  faults: boolean;
  faultDays: number;
  every: number | undefined;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { days: 90, faults: false, faultDays: 20, every: undefined, out: 'simulation-out' };
  const positive = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number >= ${min}, got ${value ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    switch (flag) {
      case '--days':
        args.days = positive(flag, argv[++i], 1);
        break;
      case '--fault-days':
        args.faultDays = positive(flag, argv[++i], 12);
        break;
      case '--every':
        args.every = positive(flag, argv[++i], 1);
        break;
      case '--faults':
        args.faults = true;
        break;
      case '--out': {
        const dir = argv[++i];
        if (!dir) throw new Error('--out needs a directory');
        args.out = dir;
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write('usage: npm run simulate -- [--days N] [--faults] [--fault-days N] [--every N] [--out DIR]\n');
        process.exit(0);
      default:
        throw new Error(`unknown argument ${flag}; usage: npm run simulate -- [--days N] [--faults] [--fault-days N] [--every N] [--out DIR]`);
    }
  }
  return args;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const progress = (text: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r${text}\u001b[K`);
  };
  const started = performance.now();

  out(`ecr-janitor simulation: ${args.days} days of the seed workload on the local ECR emulator`);
  out('two accounts (web + api, worker), 20 buildx builds a day each: 2 platforms + provenance/SBOM attestations, :buildcache (mode=max),');
  out('ci-N and main tags, a v1.N release by re-tag every 3 days with a signature (OCI 1.1 referrer), deployments pinned by digest every 4 days');
  out('worlds: no janitor | ECR policy alone (untagged 3 days + keep 25 "ci", installed once) | ecr-janitor (nightly) | live-set minimum (computed)\n');

  const result = await simulate({ days: args.days, onDay: (row) => progress(`day ${row.day + 1}/${args.days}`) });
  progress('');
  if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');

  const every = args.every ?? (args.days > 30 ? 5 : 1);
  for (const line of dailyTable(result.rows, every)) out(line);
  out(`(every ${every === 1 ? '' : `${every}th `}day; reaped = what the 03:00 run reports gone since its previous run; failed pulls = live or recently pinned images that did not resolve that night)\n`);
  for (const line of worldSummary(result)) out(line);
  out('\nfindings:');
  for (const finding of result.findings) out(`- ${finding}`);

  const dir = resolve(args.out);
  await mkdir(dir, { recursive: true });
  const naiveLoss = result.lost.filter((l) => l.world === 'naive').map((l) => l.day);
  const janitorLoss = result.lost.filter((l) => l.world === 'janitor').map((l) => l.day);
  const svg = storedBytesSvg(result.rows, {
    title: `Stored bytes over ${args.days} days: the seed workload in two accounts, ~${result.options.buildsPerDay * 2} builds a day`,
    subtitle: 'no janitor vs a hand-written ECR lifecycle policy vs ecr-janitor vs the live-set minimum (GiB of manifests stored, each once)',
    firstLoss: {
      ...(naiveLoss.length > 0 ? { naive: Math.min(...naiveLoss) } : {}),
      ...(janitorLoss.length > 0 ? { janitor: Math.min(...janitorLoss) } : {}),
    },
  });
  await writeFile(join(dir, 'stored-bytes.svg'), svg, 'utf8');
  await writeFile(join(dir, 'daily.csv'), dailyCsv(result.rows), 'utf8');
  out(`\nwrote ${join(args.out, 'stored-bytes.svg')} and ${join(args.out, 'daily.csv')}`);
  out(`simulation: ${(result.timings.totalMs / 1000).toFixed(1)} s (${stageTimes(result)})`);

  // A policy refused or held night after night loses nothing but cleans nothing either: that fails the run too.
  let code = result.failedPulls.janitor === 0 && result.janitorRunsNotOk.length === 0 ? 0 : 1;
  if (args.faults) {
    out(`\nfault scenarios (${args.faultDays} days each, a fault-free reference world in lockstep, the janitor's SDK client as in production):`);
    const faultStarted = performance.now();
    const scenarios = await runFaultScenarios({ days: args.faultDays }, (r) => progress(`fault scenario ${r.name} done`));
    if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
    for (const line of faultSummary(scenarios)) out(line);
    const failed = scenarios.filter((s) => !s.ok);
    out(`\nfault scenarios: ${scenarios.length - failed.length} of ${scenarios.length} passed in ${((performance.now() - faultStarted) / 1000).toFixed(1)} s`);
    if (failed.length > 0) code = 1;
  }

  out(
    code === 0
      ? `\nOK: ecr-janitor lost no live or pinned image${args.faults ? ', and every fault scenario converged' : ''} (total ${((performance.now() - started) / 1000).toFixed(1)} s)`
      : `\nFAILED: ${failureSummary(result)} (total ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return code;
}

function failureSummary(result: Awaited<ReturnType<typeof simulate>>): string {
  if (result.failedPulls.janitor > 0) return `ecr-janitor failed ${result.failedPulls.janitor} pull(s) of live or pinned images`;
  if (result.janitorRunsNotOk.length > 0) return `${result.janitorRunsNotOk.length} janitor repository run(s) did not end ok, e.g. ${result.janitorRunsNotOk[0]}`;
  return 'a fault scenario failed';
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`simulate: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
