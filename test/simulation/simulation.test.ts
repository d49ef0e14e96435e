// `npm run simulate`, short: two weeks of the seed workload at 3 builds a day per account (the full 90-day run is
// `npm run simulate`, which .ci/run runs after the tests). Two weeks still hold releases (every 3 days), deployments
// (every 4) and CI images ranked out of keep-N, so every assertion below can fail: the janitor world loses nothing,
// stores no less than the live-set minimum and less than no janitor; the hand-written ECR policy loses releases and
// deployed digests (that is the finding the full run reports).
import { beforeAll, describe, expect, it } from 'vitest';
import { storedBytesSvg } from '../../scripts/simulation/chart-svg.js';
import { dailyCsv, dailyTable, worldSummary } from '../../scripts/simulation/report.js';
import { simulate, type SimulationResult } from '../../scripts/simulation/simulate.js';

const DAYS = 14;
let result: SimulationResult;

beforeAll(async () => {
  // Act (shared): 14 days, 3 builds a day per account (6 a day in all).
  result = await simulate({ days: DAYS, buildsPerDay: 3 });
});

describe('the fault-free simulation (14 days, 6 builds a day)', () => {
  it('never fails a pull of a live, signed or recently pinned image in the janitor world', () => {
    // Assess
    expect(result.failedPulls.janitor).toBe(0);
    expect(result.lost.filter((l) => l.world === 'janitor')).toEqual([]);
    expect(result.rows.every((r) => r.janitor.failedRepositories === 0)).toBe(true);
    expect(result.crossCheck).toEqual({ naive: true, janitor: true });
  });

  it('installs its policy and ends every repository run ok under the pessimistic profile (never refused night after night)', () => {
    // Assess
    expect(result.janitorRunsNotOk).toEqual([]);
  });

  it('finds that the hand-written ECR policy deletes releases and deployed digests that carry a ci- tag', () => {
    // Assess
    const lost = result.lost.filter((l) => l.world === 'naive');
    expect(result.failedPulls.naive).toBeGreaterThan(0);
    expect(lost.some((l) => l.why.startsWith('deployed by digest') || l.why.startsWith('release'))).toBe(true);
    expect(result.findings.some((f) => f.startsWith('ECR policy alone:') && f.includes('distinct images lost'))).toBe(true);
  });

  it('stores at least the live-set minimum and no more than everything pushed, every day', () => {
    // Assess
    for (const row of result.rows) {
      expect(row.stored.janitor.bytes).toBeGreaterThanOrEqual(row.stored.minimum.bytes);
      expect(row.stored.janitor.bytes).toBeLessThanOrEqual(row.stored.none.bytes);
      // The hand-written policy deletes everything the janitor deletes, and releases too.
      expect(row.stored.naive.bytes).toBeLessThanOrEqual(row.stored.janitor.bytes);
    }
    const last = result.rows.at(-1)!;
    expect(last.stored.janitor.bytes).toBeLessThan(last.stored.none.bytes);
    expect(result.rows.reduce((sum, r) => sum + r.janitor.reaped.bytes, 0)).toBeGreaterThan(0);
    expect(result.gap.reduce((sum, g) => sum + g.bytes, 0)).toBe(last.stored.janitor.bytes - last.stored.minimum.bytes);
  });

  it('accounts for every pushed image: no janitor stores exactly what the workload pushed', () => {
    // Assess
    const last = result.rows.at(-1)!;
    expect(last.stored.none.images).toBe(last.pushedImages);
    expect(result.rows.map((r) => r.day)).toEqual([...Array(DAYS).keys()]);
  });

  it('writes a table with totals, a CSV row per day and an SVG with four lines and a legend', () => {
    // Act
    const table = dailyTable(result.rows, 5);
    const csv = dailyCsv(result.rows).trim().split('\n');
    const svg = storedBytesSvg(result.rows, { title: 'test' });

    // Assess
    expect(table.at(-1)).toMatch(/^total\s+14 days/);
    expect(worldSummary(result).join('\n')).toMatch(/ecr-janitor\s+[\d.]+\s+\$[\d.]+/);
    expect(csv).toHaveLength(DAYS + 1);
    expect(csv[0]).toContain('janitor_bytes');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(4 + 3); // all four worlds, then the three cleaned ones zoomed in
    for (const label of ['no janitor', 'ECR policy alone', 'ecr-janitor', 'live-set minimum']) expect(svg).toContain(label);
  });
});
