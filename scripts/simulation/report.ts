// What `npm run simulate` prints and writes: the daily table, the totals, $ per month per world, the fault scenarios,
// and daily.csv.
import { monthlyCostUsd } from '../../lambda/domain/report.js';
import type { FaultScenarioResult } from './faults.js';
import { type DayRow, type SimulationResult, WORLD_LABELS, WORLD_NAMES } from './simulate.js';

const GIB = 2 ** 30;
export const PRICE_PER_GB_MONTH = 0.1;

const gib = (bytes: number) => (bytes / GIB).toFixed(1);
const usd = (bytes: number) => `$${monthlyCostUsd(bytes, PRICE_PER_GB_MONTH).toFixed(2)}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Column {
  title: [string, string];
  cell: (row: DayRow) => string;
}

const COLUMNS: Column[] = [
  { title: ['', 'day'], cell: (r) => String(r.day) },
  { title: ['', 'date'], cell: (r) => r.date },
  { title: ['pushed', 'images'], cell: (r) => String(r.pushedImages) },
  { title: ['no janitor', 'GiB'], cell: (r) => gib(r.stored.none.bytes) },
  { title: ['ECR policy', 'GiB'], cell: (r) => gib(r.stored.naive.bytes) },
  { title: ['ecr-janitor', 'GiB'], cell: (r) => gib(r.stored.janitor.bytes) },
  { title: ['minimum', 'GiB'], cell: (r) => gib(r.stored.minimum.bytes) },
  { title: ['reaped', 'images'], cell: (r) => String(r.janitor.reaped.images) },
  { title: ['reaped', 'GiB'], cell: (r) => gib(r.janitor.reaped.bytes) },
  { title: ['', 'protected'], cell: (r) => String(r.janitor.protectedImages) },
  { title: ['API', 'calls'], cell: (r) => String(r.janitor.apiCalls) },
  { title: ['failed pulls', 'ECR/janitor'], cell: (r) => `${r.failedPulls.naive}/${r.failedPulls.janitor}` },
];

/** Header, one line per shown day, the totals line; `every` shows every Nth day (the first and last always). */
export function dailyTable(rows: readonly DayRow[], every: number): string[] {
  const shown = rows.filter((r, i) => i === 0 || i === rows.length - 1 || r.day % every === every - 1);
  const totals = totalsCells(rows);
  const cells = shown.map((r) => COLUMNS.map((c) => c.cell(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title[0].length, c.title[1].length, totals[i]!.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => (i === 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const out = [line(COLUMNS.map((c) => c.title[0])), line(COLUMNS.map((c) => c.title[1])), line(widths.map((w) => '-'.repeat(w)))];
  for (const row of cells) out.push(line(row));
  out.push(line(widths.map((w) => '-'.repeat(w))));
  out.push(line(totals));
  return out;
}

function totalsCells(rows: readonly DayRow[]): string[] {
  const last = rows.at(-1);
  if (!last) return COLUMNS.map(() => '');
  const total = (f: (r: DayRow) => number) => rows.reduce((sum, r) => sum + f(r), 0);
  return [
    'total',
    `${rows.length} days`,
    String(last.pushedImages),
    gib(last.stored.none.bytes),
    gib(last.stored.naive.bytes),
    gib(last.stored.janitor.bytes),
    gib(last.stored.minimum.bytes),
    String(total((r) => r.janitor.reaped.images)),
    gib(total((r) => r.janitor.reaped.bytes)),
    String(last.janitor.protectedImages),
    String(total((r) => r.janitor.apiCalls)),
    `${total((r) => r.failedPulls.naive)}/${total((r) => r.failedPulls.janitor)}`,
  ];
}

/** Final GiB, $/month, failed pulls and distinct images lost per world, and the janitor's gap to the minimum. */
export function worldSummary(result: SimulationResult): string[] {
  const last = result.rows.at(-1);
  if (!last) return [];
  const lostImages = (world: 'naive' | 'janitor') => result.lost.filter((l) => l.world === world).length;
  const pulls: Record<string, string> = {
    none: 'n/a (nothing deleted)',
    naive: `${result.failedPulls.naive} (${lostImages('naive')} images lost)`,
    janitor: `${result.failedPulls.janitor} (${lostImages('janitor')} images lost)`,
    minimum: 'n/a (computed)',
  };
  const rows = WORLD_NAMES.map((w) => [WORLD_LABELS[w], gib(last.stored[w].bytes), usd(last.stored[w].bytes), String(last.stored[w].images), pulls[w]!]);
  const header = ['world', 'GiB', '$/month', 'images', 'failed pulls (over all days)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (v: readonly string[]) => v.map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out = [`stored on day ${last.day} (${last.date}), at $${PRICE_PER_GB_MONTH.toFixed(2)}/GB-month:`, line(header), line(widths.map((w) => '-'.repeat(w)))];
  for (const row of rows) out.push(line(row));
  const gap = last.stored.janitor.bytes - last.stored.minimum.bytes;
  const saved = last.stored.none.bytes - last.stored.janitor.bytes;
  out.push('');
  out.push(
    `ecr-janitor vs the live-set minimum: +${gib(gap)} GiB (${usd(gap)}/month, ${((last.stored.janitor.bytes / Math.max(1, last.stored.minimum.bytes) - 1) * 100).toFixed(0)}% above)`,
  );
  out.push(`ecr-janitor vs no janitor: -${gib(saved)} GiB (${usd(saved)}/month less)`);
  const vsNaive = last.stored.janitor.bytes - last.stored.naive.bytes;
  out.push(
    `ecr-janitor vs ECR policy alone: ${vsNaive >= 0 ? '+' : '-'}${gib(Math.abs(vsNaive))} GiB (${usd(Math.abs(vsNaive))}/month ${vsNaive >= 0 ? 'more' : 'less'}): ` +
      'the releases, their signatures and the deployed digests the hand-written policy deletes',
  );
  return out;
}

export function faultSummary(results: readonly FaultScenarioResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    const statuses = new Map<string, number>();
    for (const run of r.faultedRuns) {
      const status = /: (ok|failed|blocked)/.exec(run)?.[1] ?? '?';
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    out.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.description}`);
    out.push(`      fault nights: ${r.faultNights.join(', ') || 'none'}; faulted repository runs: ${[...statuses].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`);
    for (const line of r.injected.slice(0, 4)) out.push(`      injected: ${line}`);
    if (r.injected.length > 4) out.push(`      injected: ... ${r.injected.length - 4} more`);
    const failedRuns = r.faultedRuns.filter((run) => !/: ok;/.test(run));
    for (const line of failedRuns.slice(0, 2)) out.push(`      run: ${line}`);
    out.push(`      janitor wall time on the fault nights: ${seconds(r.runMs.faulted)} (fault-free: ${seconds(r.runMs.reference)})`);
    out.push(`      failed pulls of live or pinned images: ${r.failedPulls} (fault-free world: ${r.referenceFailedPulls})`);
    if (r.convergence) out.push(`      converged: ${r.convergence.details.join('; ')}`);
    out.push(
      `      stored images equal to the fault-free world's from day ${r.sameImagesFromDay ?? 'never'}` +
        (r.faultNights.length > 0 ? ` (last fault night ${r.faultNights.at(-1)})` : ''),
    );
    for (const problem of r.problems) out.push(`      PROBLEM: ${problem}`);
    out.push(`      scenario time ${seconds(r.elapsedMs)}`);
  }
  return out;
}

export function dailyCsv(rows: readonly DayRow[]): string {
  const header = [
    'day',
    'date',
    'pushed_images',
    'pushed_today',
    'releases',
    ...WORLD_NAMES.flatMap((w) => [`${w}_bytes`, `${w}_images`]),
    'janitor_reaped_images',
    'janitor_reaped_bytes',
    'janitor_protected_images',
    'janitor_api_calls',
    'janitor_tags_added',
    'janitor_tags_removed',
    'janitor_failed_repositories',
    'naive_lifecycle_expired',
    'janitor_lifecycle_expired',
    'naive_failed_pulls',
    'janitor_failed_pulls',
  ];
  const lines = [header.join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.day,
        r.date,
        r.pushedImages,
        r.pushedToday,
        r.releases,
        ...WORLD_NAMES.flatMap((w) => [r.stored[w].bytes, r.stored[w].images]),
        r.janitor.reaped.images,
        r.janitor.reaped.bytes,
        r.janitor.protectedImages,
        r.janitor.apiCalls,
        r.janitor.tagsAdded,
        r.janitor.tagsRemoved,
        r.janitor.failedRepositories,
        r.lifecycleExpired.naive,
        r.lifecycleExpired.janitor,
        r.failedPulls.naive,
        r.failedPulls.janitor,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function stageTimes(result: SimulationResult): string {
  const s = result.timings.stagesMs;
  return (
    `CI pushes through the SDK ${seconds(s.ciPushes)}, janitor runs ${seconds(s.janitorRuns)}, lifecycle ${seconds(s.lifecycle)}, ` +
    `measuring ${seconds(s.measure)}, pull checks ${seconds(s.pullChecks)}`
  );
}
