// The stored-bytes chart as a hand-written SVG: one line per world, GiB against days, a legend. No chart dependency.
import { type DayRow, WORLD_LABELS, WORLD_NAMES, type WorldName } from './simulate.js';

const WIDTH = 960;
const HEIGHT = 820;
const LEFT = 72;
const RIGHT = 24;
const GIB = 2 ** 30;

const STYLE: Record<WorldName, { color: string; width: number; dash?: string }> = {
  none: { color: '#7f7f7f', width: 2, dash: '6 4' },
  naive: { color: '#d95f02', width: 2 },
  janitor: { color: '#1b63c6', width: 3 },
  minimum: { color: '#1a9850', width: 2, dash: '2 3' },
};

export interface ChartOptions {
  title: string;
  subtitle?: string;
  /** Day of the first failed pull per world, marked on its line. */
  firstLoss?: Partial<Record<WorldName, number>>;
}

/** A round axis step giving about `ticks` ticks up to `max`. */
function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (n: number) => (Math.round(n * 10) / 10).toString();

interface Box {
  top: number;
  height: number;
}

/** One plot: grid, axes, a line per world in `worlds`, loss markers. */
function panel(out: string[], rows: readonly DayRow[], worlds: readonly WorldName[], box: Box, heading: string, options: ChartOptions): void {
  const plotW = WIDTH - LEFT - RIGHT;
  const lastDay = Math.max(1, rows.at(-1)?.day ?? 1);
  const maxGib = Math.max(1, ...rows.flatMap((r) => worlds.map((w) => r.stored[w].bytes / GIB)));
  const yStep = niceStep(maxGib, 6);
  const yMax = Math.ceil(maxGib / yStep) * yStep;
  const xStep = Math.max(1, niceStep(lastDay, 9));
  const x = (day: number) => LEFT + (day / lastDay) * plotW;
  const y = (gib: number) => box.top + box.height - (gib / yMax) * box.height;

  out.push(`<text x="${LEFT}" y="${box.top - 10}" font-size="13" font-weight="bold" fill="#333">${escape(heading)}</text>`);
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(`<line x1="${LEFT}" y1="${fixed(y(v))}" x2="${LEFT + plotW}" y2="${fixed(y(v))}" stroke="${v === 0 ? '#444' : '#e3e3e3'}" stroke-width="1"/>`);
    out.push(`<text x="${LEFT - 8}" y="${fixed(y(v) + 4)}" font-size="12" fill="#444" text-anchor="end">${Number(v.toFixed(2))}</text>`);
  }
  for (let d = 0; d <= lastDay + 1e-9; d += xStep) {
    out.push(`<line x1="${fixed(x(d))}" y1="${box.top + box.height}" x2="${fixed(x(d))}" y2="${box.top + box.height + 5}" stroke="#444" stroke-width="1"/>`);
    out.push(`<text x="${fixed(x(d))}" y="${box.top + box.height + 19}" font-size="12" fill="#444" text-anchor="middle">${Number(d.toFixed(2))}</text>`);
  }
  out.push(`<line x1="${LEFT}" y1="${box.top}" x2="${LEFT}" y2="${box.top + box.height}" stroke="#444" stroke-width="1"/>`);
  out.push(`<text x="${LEFT + plotW / 2}" y="${box.top + box.height + 38}" font-size="13" fill="#222" text-anchor="middle">day</text>`);
  out.push(`<text transform="translate(22 ${box.top + box.height / 2}) rotate(-90)" font-size="13" fill="#222" text-anchor="middle">stored GiB</text>`);

  // The thick janitor line first, so the thinner lines stay visible where they run together.
  for (const world of [...worlds].sort((a, b) => STYLE[b].width - STYLE[a].width)) {
    const style = STYLE[world];
    const points = rows.map((r) => `${fixed(x(r.day))},${fixed(y(r.stored[world].bytes / GIB))}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${style.color}" stroke-width="${style.width}" stroke-linejoin="round"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''} points="${points}"/>`,
    );
  }
  for (const [world, day] of Object.entries(options.firstLoss ?? {}) as [WorldName, number][]) {
    const row = rows.find((r) => r.day === day);
    if (!row || !worlds.includes(world)) continue;
    const px = x(day);
    const py = y(row.stored[world].bytes / GIB);
    out.push(`<circle cx="${fixed(px)}" cy="${fixed(py)}" r="5" fill="none" stroke="#c00" stroke-width="2"/>`);
    out.push(`<text x="${fixed(px + 8)}" y="${fixed(py + 18)}" font-size="11" fill="#c00">${escape(`day ${day}: ${WORLD_LABELS[world]} deletes its first live image`)}</text>`);
  }
}

/** Two panels: every world on one scale, then the three cleaned worlds zoomed in; a legend with each last value. */
export function storedBytesSvg(rows: readonly DayRow[], options: ChartOptions): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="24" font-size="17" font-weight="bold" fill="#222">${escape(options.title)}</text>`);
  if (options.subtitle) out.push(`<text x="${LEFT}" y="43" font-size="12" fill="#555">${escape(options.subtitle)}</text>`);

  const top: Box = { top: 130, height: 270 };
  const bottom: Box = { top: 490, height: 260 };
  panel(out, rows, WORLD_NAMES, top, 'all four worlds', options);
  panel(out, rows, WORLD_NAMES.filter((w) => w !== 'none'), bottom, 'zoomed in: the hand-written ECR policy, ecr-janitor and the live-set minimum', options);

  // Legend, in one row between the title and the first panel, with each world's last value.
  const last = rows.at(-1);
  let lx = LEFT;
  const ly = 68;
  for (const world of WORLD_NAMES) {
    const style = STYLE[world];
    const label = WORLD_LABELS[world] + (last ? `: ${(last.stored[world].bytes / GIB).toFixed(1)} GiB` : '');
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${style.color}" stroke-width="${style.width}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}" font-size="12" fill="#222">${escape(label)}</text>`);
    lx += 32 + label.length * 6.4 + 22;
  }
  if (last) out.push(`<text x="${LEFT}" y="${ly + 20}" font-size="11" fill="#555">${escape(`values on day ${last.day} (${last.date}); each manifest counted once`)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
