// `npm run bench`: the speed and size figures the project promises, measured (never asserted in timed tests).
//   planner CPU for 100k and 1M images (goal: 100k under 2 s CPU)
// Flags: --quick (skip the 1M planner run)
import { benchPlanner } from './bench-planner.js';

const quick = process.argv.includes('--quick');

function table(title: string, rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  console.log(`\n${title}\n${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const row of rows) console.log(line(columns.map((c) => String(row[c]))));
}

const plannerRows = [];
for (const images of quick ? [100_000] : [100_000, 1_000_000]) {
  const r = benchPlanner(images);
  plannerRows.push({
    images: r.images,
    'cpu ms': r.cpuMs,
    'wall ms': r.wallMs,
    'images/s (cpu)': r.imagesPerSecond,
    expired: r.expired,
    'heap MiB': r.heapUsedMb,
    goal: images === 100_000 ? (r.cpuMs < 2000 ? 'under 2 s: met' : 'under 2 s: MISSED') : '-',
  });
}
table('Planner (one repository, synthetic buildx/cache/PR workload)', plannerRows);
console.log(`\npeak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
