// The fault-free simulation: the seed workload replayed day by day into two cleaning worlds (a hand-written ECR policy;
// ecr-janitor) plus the ledger (no janitor) and the live-set minimum computed from it. Each day: the janitor runs at
// 03:00, CI pushes 08:00-19:00 (releases and deployments at 19:00), ECR's lifecycle runs at 22:00, then every world is
// measured and every image that must resolve is pulled.
import type { RunReport } from '../../lambda/app/report-types.js';
import { BUILDKIT_CACHE_MEDIA_TYPE } from '../../lambda/domain/graph.js';
import type { JanitorConfig } from '../../lambda/domain/types.js';
import { apiCallsOf, type LogCounts, NAIVE_POLICY_TEXT, runJanitorIn, simulationConfig } from './janitor-run.js';
import { DAY, DEFAULT_SHAPE, type FailedPull, type Footprint, HOUR, sum, type WorkloadShape, World } from './world.js';

export const SIMULATION_START = Date.UTC(2026, 0, 5);
export const WORLD_NAMES = ['none', 'naive', 'janitor', 'minimum'] as const;
export type WorldName = (typeof WORLD_NAMES)[number];

export const WORLD_LABELS: Record<WorldName, string> = {
  none: 'no janitor',
  naive: 'ECR policy alone',
  janitor: 'ecr-janitor',
  minimum: 'live-set minimum',
};

export interface SimulationOptions {
  days?: number;
  /** Builds per day per account (two accounts). */
  buildsPerDay?: number;
  shape?: Partial<WorkloadShape>;
  pinGraceDays?: number;
  start?: number;
  /** Called after each simulated day, for progress output. */
  onDay?: (row: DayRow) => void;
}

export interface DayRow {
  day: number;
  /** End of the day (23:00), ISO date. */
  date: string;
  /** Images (manifests) pushed so far, and today. */
  pushedImages: number;
  pushedToday: number;
  releases: number;
  stored: Record<WorldName, Footprint>;
  janitor: {
    /** What the 03:00 run reports as gone since its previous run. */
    reaped: Footprint;
    protectedImages: number;
    apiCalls: number;
    tagsAdded: number;
    tagsRemoved: number;
    failedRepositories: number;
  };
  /** Images ECR's lifecycle expired tonight, per cleaning world. */
  lifecycleExpired: { naive: number; janitor: number };
  /** Pulls of live or recently pinned images that failed tonight. */
  failedPulls: { naive: number; janitor: number };
}

export interface LostImage extends FailedPull {
  world: 'naive' | 'janitor';
  /** First day the pull failed. */
  day: number;
}

export interface StageTimes {
  ciPushes: number;
  janitorRuns: number;
  lifecycle: number;
  measure: number;
  pullChecks: number;
}

export interface SimulationResult {
  options: { days: number; buildsPerDay: number; pinGraceDays: number; shape: WorkloadShape };
  config: JanitorConfig;
  rows: DayRow[];
  /** Pull failures summed over every day's check (an image lost on day 10 fails again every later day). */
  failedPulls: { naive: number; janitor: number };
  /** Distinct images that ever failed to resolve, with the first day. */
  lost: LostImage[];
  findings: string[];
  /** Janitor repository runs that did not end ok (failed, blocked, refused): a janitor that stops cleaning is a failure. */
  janitorRunsNotOk: string[];
  /** What the janitor world stores beyond the live-set minimum on the last day, by kind. */
  gap: { kind: string; images: number; bytes: number }[];
  /** The per-image pull check agreed with the workload's own on the last day. */
  crossCheck: { naive: boolean; janitor: boolean };
  timings: { totalMs: number; stagesMs: StageTimes };
}

export async function simulate(options: SimulationOptions = {}): Promise<SimulationResult> {
  const started = performance.now();
  const days = options.days ?? 90;
  const shape: WorkloadShape = { ...DEFAULT_SHAPE, ...options.shape, ...(options.buildsPerDay !== undefined ? { buildsPerDay: options.buildsPerDay } : {}) };
  const pinGraceDays = options.pinGraceDays ?? 7;
  const start = options.start ?? SIMULATION_START;
  const config = simulationConfig(pinGraceDays);
  const stages: StageTimes = { ciPushes: 0, janitorRuns: 0, lifecycle: 0, measure: 0, pullChecks: 0 };
  const timed = async <T>(stage: keyof StageTimes, work: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try {
      return await work();
    } finally {
      stages[stage] += performance.now() - t;
    }
  };

  const janitorWorld = await World.open({ name: 'janitor', shape, start, ledger: true, janitorState: true });
  const naiveWorld = await World.open({ name: 'naive', shape, start });
  const rows: DayRow[] = [];
  const lost = new Map<string, LostImage>();
  const failedPulls = { naive: 0, janitor: 0 };
  const logCounts: LogCounts = { warn: 0, error: 0 };
  const janitorFailures: string[] = [];
  const crossCheck = { naive: true, janitor: true };
  let gap: SimulationResult['gap'] = [];
  try {
    await naiveWorld.putPolicy(NAIVE_POLICY_TEXT);
    for (let day = 0; day < days; day++) {
      const startOfDay = start + day * DAY;
      const pushedBefore = janitorWorld.pushedImages();

      // 03:00: the janitor's nightly run (the Lambda's schedule), one run per account.
      janitorWorld.setClock(startOfDay + 3 * HOUR);
      const reports = await timed('janitorRuns', () => Promise.all(janitorWorld.accounts.map((account) => runJanitorIn(account, config, 'run', {}, logCounts))));
      for (const report of reports) for (const r of report.repositories) if (r.status !== 'ok') janitorFailures.push(`day ${day} ${r.repository}: ${r.status} ${r.error ?? r.blocked ?? ''}`);

      // 08:00-19:00: CI, identical in both worlds.
      await timed('ciPushes', () => Promise.all([janitorWorld.runDay(day, startOfDay), naiveWorld.runDay(day, startOfDay)]));

      // 22:00: ECR's lifecycle.
      janitorWorld.setClock(startOfDay + 22 * HOUR);
      naiveWorld.setClock(startOfDay + 22 * HOUR);
      const expired = await timed('lifecycle', () => ({ janitor: janitorWorld.runLifecycle(), naive: naiveWorld.runLifecycle() }));

      // 23:00: measure, then pull everything that must resolve.
      janitorWorld.setClock(startOfDay + 23 * HOUR);
      naiveWorld.setClock(startOfDay + 23 * HOUR);
      const stored = await timed('measure', () => measure(janitorWorld, naiveWorld, config, pinGraceDays));
      const failed = await timed('pullChecks', async () => ({
        janitor: await janitorWorld.failedPulls(pinGraceDays, janitorWorld),
        naive: await naiveWorld.failedPulls(pinGraceDays, janitorWorld),
      }));
      for (const world of ['naive', 'janitor'] as const) {
        failedPulls[world] += failed[world].length;
        for (const miss of failed[world]) {
          const key = `${world} ${miss.account} ${miss.repository}@${miss.digest}`;
          if (!lost.has(key)) lost.set(key, { ...miss, world, day });
        }
      }
      if (day === days - 1) {
        gap = gapBreakdown(janitorWorld, config, pinGraceDays);
        // The batched check above against the workload's own one-image-at-a-time pulls.
        for (const [world, target] of [['naive', naiveWorld], ['janitor', janitorWorld]] as const) {
          const own = new Set((await target.workloadUnresolvable()).map((i) => `${i.repository}@${i.digest}`));
          const ours = new Set(failed[world].filter((f) => !f.why.startsWith('signature') && !f.why.startsWith('pinned')).map((f) => `${f.repository}@${f.digest}`));
          crossCheck[world] = [...own].every((k) => ours.has(k)) && [...ours].every((k) => own.has(k));
        }
      }

      const row: DayRow = {
        day,
        date: new Date(startOfDay + 23 * HOUR).toISOString().slice(0, 10),
        pushedImages: janitorWorld.pushedImages(),
        pushedToday: janitorWorld.pushedImages() - pushedBefore,
        releases: janitorWorld.accounts.reduce((n, a) => n + a.workload.liveImages().filter((i) => i.why.startsWith('release')).length, 0),
        stored,
        janitor: janitorSummary(reports),
        lifecycleExpired: { naive: expired.naive.images, janitor: expired.janitor.images },
        failedPulls: { naive: failed.naive.length, janitor: failed.janitor.length },
      };
      rows.push(row);
      options.onDay?.(row);
    }
  } finally {
    await janitorWorld.close();
    await naiveWorld.close();
  }

  const result: SimulationResult = {
    options: { days, buildsPerDay: shape.buildsPerDay, pinGraceDays, shape },
    config,
    rows,
    failedPulls,
    lost: [...lost.values()],
    gap,
    findings: [],
    janitorRunsNotOk: janitorFailures,
    crossCheck,
    timings: { totalMs: performance.now() - started, stagesMs: stages },
  };
  result.findings = findingsOf(result, janitorFailures, logCounts);
  return result;
}

function measure(janitorWorld: World, naiveWorld: World, config: JanitorConfig, pinGraceDays: number): Record<WorldName, Footprint> {
  const ledgers = janitorWorld.accounts.map((a) => a.ledger!);
  const minimum = sum(
    janitorWorld.accounts.map((account, i) => ledgers[i]!.liveSetMinimum([...account.workload.liveImages(), ...account.recentPins(pinGraceDays)], config.ciTags)),
  );
  return {
    none: sum(ledgers.map((l) => l.footprint())),
    naive: naiveWorld.footprint(),
    janitor: janitorWorld.footprint(),
    minimum,
  };
}

/** The janitor world's images outside the live-set minimum, by why they are still there. */
function gapBreakdown(world: World, config: JanitorConfig, pinGraceDays: number): SimulationResult['gap'] {
  const kinds = new Map<string, { images: number; bytes: number }>();
  const count = (kind: string, bytes: number) => {
    const entry = kinds.get(kind) ?? { images: 0, bytes: 0 };
    entry.images += 1;
    entry.bytes += bytes;
    kinds.set(kind, entry);
  };
  for (const account of world.accounts) {
    const minimum = account.ledger!.liveSetMinimum([...account.workload.liveImages(), ...account.recentPins(pinGraceDays)], config.ciTags).digests;
    for (const store of account.emulator.model.listRepositories()) {
      for (const image of store.allImages()) {
        if (minimum.has(`${store.name}@${image.digest}`)) continue;
        if (image.artifactMediaType === BUILDKIT_CACHE_MEDIA_TYPE) count(`superseded :buildcache manifests (untagged, expire ${config.untaggedExpireDays} days after their push)`, image.ownSizeBytes);
        else if (image.listedDigests.length > 0) count('image indexes outside the minimum', image.ownSizeBytes);
        else if (store.isListedByPresentIndex(image.digest)) count('manifests listed by an index outside the minimum', image.ownSizeBytes);
        else if (image.subjectDigest) count('referrers outside the minimum', image.ownSizeBytes);
        else if (image.tags.length === 0) count(`platform images and attestations of expired ci builds (untagged, expire ${config.untaggedExpireDays} days after their push)`, image.ownSizeBytes);
        else count(`other tagged images (${image.tags.slice(0, 2).join(', ')})`, image.ownSizeBytes);
      }
    }
  }
  return [...kinds].map(([kind, v]) => ({ kind, ...v })).sort((a, b) => b.bytes - a.bytes);
}

function janitorSummary(reports: readonly RunReport[]): DayRow['janitor'] {
  const out = { reaped: { images: 0, bytes: 0 }, protectedImages: 0, apiCalls: 0, tagsAdded: 0, tagsRemoved: 0, failedRepositories: 0 };
  for (const report of reports) {
    out.reaped.images += report.totals.reaped.images;
    out.reaped.bytes += report.totals.reaped.bytes;
    out.protectedImages += report.totals.protected.images;
    out.apiCalls += apiCallsOf(report);
    out.failedRepositories += report.totals.failed;
    for (const r of report.repositories) {
      out.tagsAdded += r.actions.tagsAdded;
      out.tagsRemoved += r.actions.tagsRemoved;
    }
  }
  return out;
}

function findingsOf(result: SimulationResult, janitorFailures: string[], logCounts: LogCounts): string[] {
  const findings: string[] = [];
  const last = result.rows.at(-1);
  const lostIn = (world: 'naive' | 'janitor') => result.lost.filter((l) => l.world === world);
  const describeLost = (world: 'naive' | 'janitor') => {
    const items = lostIn(world);
    const kinds = new Map<string, number>();
    for (const item of items) {
      const kind = item.why.replace(/v1\.\d+/g, 'v1.N').replace(/ \(.*\)$/, '');
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    return [...kinds].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${n} ${kind}`).join(', ');
  };
  const janitorLost = lostIn('janitor');
  findings.push(
    janitorLost.length === 0
      ? `ecr-janitor: 0 failed pulls: every live image, every release signature and every digest pinned in the last ${result.options.pinGraceDays} days resolved on every day`
      : `ecr-janitor: ${result.failedPulls.janitor} FAILED PULLS (${janitorLost.length} images: ${describeLost('janitor')}); first on day ${Math.min(...janitorLost.map((l) => l.day))}`,
  );
  const naiveLost = lostIn('naive');
  if (naiveLost.length > 0) {
    findings.push(
      `ECR policy alone: ${result.failedPulls.naive} failed pulls over the run, ${naiveLost.length} distinct images lost (${describeLost('naive')}); ` +
        `first on day ${Math.min(...naiveLost.map((l) => l.day))}: releases and deployments still carry their ci- tag, so "keep the 25 newest ci" expires them`,
    );
  } else findings.push('ECR policy alone: no failed pulls (the run was too short for a release to fall out of the 25 newest ci builds)');
  if (janitorFailures.length > 0) findings.push(`ecr-janitor: ${janitorFailures.length} repository run(s) not ok, e.g. ${janitorFailures.slice(0, 3).join('; ')}`);
  if (logCounts.error > 0) findings.push(`ecr-janitor logged ${logCounts.error} error(s), last: ${logCounts.lastError}`);
  if (!result.crossCheck.janitor || !result.crossCheck.naive) findings.push('the batched pull check disagreed with the workload\'s own check on the last day');
  if (last) {
    const { janitor, minimum, naive } = last.stored;
    const parts = result.gap.map((g) => `${(g.bytes / 2 ** 30).toFixed(1)} GiB in ${g.images} ${g.kind}`);
    findings.push(
      `ecr-janitor keeps ${(janitor.bytes / 2 ** 30).toFixed(1)} GiB against a live-set minimum of ${(minimum.bytes / 2 ** 30).toFixed(1)} GiB ` +
        `(+${((janitor.bytes - minimum.bytes) / 2 ** 30).toFixed(1)} GiB): ${parts.join('; ')}`,
    );
    if (naive.bytes < minimum.bytes) {
      findings.push(`ECR policy alone ends below the live-set minimum (${(naive.bytes / 2 ** 30).toFixed(1)} GiB): it is cheaper only because it deleted live images`);
    }
  }
  return findings;
}
