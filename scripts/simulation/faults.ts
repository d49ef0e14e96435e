// Fault scenarios in the simulation harness. Each runs a faulted janitor world in lockstep with a fault-free reference
// world built from the same seeds and schedule: inject the fault on its night(s), check every day that nothing live or
// recently pinned fails to pull, then check that the first clean run converges (a re-plan right after it adds and
// removes no protection tag and leaves the policy unchanged) and that the faulted world stores exactly the images of the
// reference world (same digests, so same bytes) from a night or two on, to the end.
import { readdirSync, rmSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryPort, StateStore } from '../../lambda/app/ports.js';
import type { RunReport } from '../../lambda/app/report-types.js';
import type { JanitorConfig } from '../../lambda/domain/types.js';
import { type JanitorRunHooks, type LogCounts, type RetryMode, runJanitorIn, simulationConfig } from './janitor-run.js';
import { SIMULATION_START } from './simulate.js';
import { type Account, DAY, DEFAULT_SHAPE, type Footprint, HOUR, type WorkloadShape, World } from './world.js';

export const FAULT_SCENARIOS = [
  'throttling',
  'server-errors',
  'partial-deletes',
  'crash-before-policy',
  'tag-moved-in-flight',
  'read-failures',
  'lost-state',
  'corrupt-state',
] as const;
export type FaultScenarioName = (typeof FAULT_SCENARIOS)[number];

export interface FaultScenarioOptions {
  /** Days simulated (default 20). */
  days?: number;
  buildsPerDay?: number;
  shape?: Partial<WorkloadShape>;
  pinGraceDays?: number;
  start?: number;
  /** First fault night (default days - 9, so a release, a deployment and a lapsed pin fall inside the fault window). */
  faultNight?: number;
  throttleEveryN?: number;
  serverErrorEveryN?: number;
  /** The janitor's SDK retry mode (default adaptive, as in production). */
  retryMode?: RetryMode;
}

export interface FaultScenarioResult {
  name: FaultScenarioName;
  description: string;
  /** Nights (days) whose janitor run was faulted. */
  faultNights: number[];
  /** What was actually injected and what the janitor made of it. */
  injected: string[];
  /** Per-repository outcome of each faulted run, e.g. "day 15 web: failed (ImageInaccessible ...)". */
  faultedRuns: string[];
  /** Pulls of live or recently pinned images that failed in the faulted world, summed over days (must be 0). */
  failedPulls: number;
  referenceFailedPulls: number;
  /** The first clean run after the faults: its statuses and the re-plan right after it. */
  convergence: { day: number; runOk: boolean; replanClean: boolean; details: string[] } | undefined;
  /** First day from which the faulted world stores exactly the reference world's images, through the last day. */
  sameImagesFromDay: number | undefined;
  /** Wall time of the janitor's runs on the fault nights (slowest account per night, summed), faulted and reference, in ms. */
  runMs: { faulted: number; reference: number };
  /** Stored bytes of both worlds at the end of each day from the first fault night on. */
  bytes: { day: number; faulted: Footprint; reference: Footprint }[];
  ok: boolean;
  problems: string[];
  elapsedMs: number;
}

interface Schedule {
  /** The janitor's first run (a janitor adopted on a registry with history). */
  janitorStartDay: number;
  /** Days whose CI runs at 03:00 with the clock held (pushed while, or right after, the janitor runs). */
  ciAtRunTime: Set<number>;
}

interface NightContext {
  day: number;
  startOfDay: number;
  account: Account;
  /** Hooks for this account's run tonight: where an injection wraps the registry port or the state store. */
  hooks: JanitorRunHooks;
}

interface Injection {
  description: string;
  schedule(days: number, faultNight: number): Schedule;
  faultNights(days: number, faultNight: number): number[];
  /** Prepares this account's faulted run; returns whether the fault is armed tonight. */
  arm(context: NightContext, state: InjectionState): Promise<boolean>;
  disarm(context: NightContext, state: InjectionState): void;
  /** At most this many nights after the last fault night for the faulted world to store the reference's images. */
  allowedLagNights: number | ((pinGraceDays: number) => number);
  /** Whether a faulted run may report a repository failed (a write ECR refused) or must absorb the fault (retries, a race). */
  runsMayFail: boolean;
}

interface InjectionState {
  config: JanitorConfig;
  options: Required<Pick<FaultScenarioOptions, 'throttleEveryN' | 'serverErrorEveryN'>>;
  injected: string[];
  /** Set by an injection that pushed tonight's CI itself (in the middle of the run). */
  ciDone: Set<string>;
  counters: Record<string, number>;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

function sdkFaults(kind: 'throttle' | 'server'): Injection {
  return {
    description:
      kind === 'throttle'
        ? 'throttling: every Nth ECR call of the janitor (every operation) answers ThrottlingException, three nights running'
        : 'server errors: every Nth ECR call of the janitor (every operation) answers 500 ServerException, three nights running',
    schedule: () => ({ janitorStartDay: 0, ciAtRunTime: new Set() }),
    faultNights: (_days, f) => range(f, 3),
    async arm({ account }, state) {
      account.emulator.setFaults(kind === 'throttle' ? { throttleEveryN: state.options.throttleEveryN } : { serverErrorEveryN: state.options.serverErrorEveryN });
      const stats = account.emulator.stats();
      state.counters[`faulted:${account.spec.id}`] = kind === 'throttle' ? stats.throttled : stats.serverErrors;
      state.counters[`total:${account.spec.id}`] = stats.total;
      return true;
    },
    disarm({ account, day }, state) {
      const stats = account.emulator.stats();
      const faulted = (kind === 'throttle' ? stats.throttled : stats.serverErrors) - (state.counters[`faulted:${account.spec.id}`] ?? 0);
      const total = stats.total - (state.counters[`total:${account.spec.id}`] ?? 0);
      account.emulator.clearFaults();
      const every = kind === 'throttle' ? state.options.throttleEveryN : state.options.serverErrorEveryN;
      state.injected.push(
        `day ${day} account ${account.spec.id}: ${faulted} of ${total} calls (every ${every}) answered ${kind === 'throttle' ? 'ThrottlingException' : '500 ServerException'}; retried by the SDK`,
      );
    },
    allowedLagNights: 1,
    // The SDK retries throttling and 5xx: the run must absorb them.
    runsMayFail: false,
  };
}

const partialDeletes: Injection = {
  description: 'partial BatchDeleteImage failures: ECR refuses (failures[], ImageInaccessible) every lapsed protection tag the janitor removes',
  schedule: () => ({ janitorStartDay: 0, ciAtRunTime: new Set() }),
  faultNights: (days, f) => range(f, Math.max(0, days - 2 - f)),
  async arm({ account, day }, state) {
    if (state.counters.done) return false;
    // What the run is about to remove: a read-only plan first.
    const plan = await runJanitorIn(account, state.config, 'plan');
    const digests = plan.repositories.flatMap((r) => r.plan?.protectTags.remove.map((x) => x.digest) ?? []);
    if (digests.length === 0) return false;
    account.emulator.setFaults({ failDeletesOf: digests });
    state.injected.push(`day ${day} account ${account.spec.id}: BatchDeleteImage refuses ${digests.length} image(s) whose protection lapsed`);
    state.counters[`armed:${account.spec.id}`] = 1;
    return true;
  },
  disarm({ account }, state) {
    account.emulator.clearFaults();
    if (state.counters[`armed:${account.spec.id}`]) state.counters.done = 1;
  },
  allowedLagNights: 1,
  runsMayFail: true,
};

/** The first run of a janitor adopted after `faultNight` days of CI: protection tags go in, then the process dies. */
const crashBeforePolicy: Injection = {
  description:
    'crash between protect and policy install: on its first night the janitor adds the protection tags, then PutLifecyclePolicy throws ' +
    'as if the process died there (the run state of those repositories is not saved either)',
  schedule: (_days, f) => ({ janitorStartDay: f, ciAtRunTime: new Set() }),
  faultNights: (_days, f) => [f],
  async arm(context, state) {
    const { account, day } = context;
    const tagged = new Set<string>();
    const crashed = new Set<string>();
    context.hooks.wrapRegistry = (registry): RegistryPort => ({
      ...registry,
      async putTag(repository, digest, manifest, tag) {
        await registry.putTag(repository, digest, manifest, tag);
        tagged.add(repository);
      },
      async putLifecyclePolicy(repository, text) {
        if (tagged.has(repository) && !crashed.has(repository)) {
          crashed.add(repository);
          state.injected.push(`day ${day} account ${account.spec.id} ${repository}: PutLifecyclePolicy crashed after the protection tags went in`);
          const error = new Error('simulated crash between protect and policy install');
          error.name = 'SimulatedCrash';
          throw error;
        }
        await registry.putLifecyclePolicy(repository, text);
      },
    });
    context.hooks.wrapStateStore = (store): StateStore => ({
      load: (repository) => store.load(repository),
      async save(repositoryState) {
        if (!crashed.has(repositoryState.repository)) await store.save(repositoryState);
      },
    });
    return true;
  },
  disarm() {},
  // The policy goes in a night late; ECR reaps index children the night after their index, so two lifecycle runs.
  allowedLagNights: 2,
  runsMayFail: true,
};

/** CI pushes (main moves, a release tag appears, the deployment moves) between the janitor's inventory and its apply. */
const tagMovedInFlight: Injection = {
  description:
    'tag moved while a run is in flight: the day\'s CI (new builds move main and push older ci- builds out of the 25 newest; on release days a ' +
    'new v1.N tag; on deploy days the deployment moves) is pushed after DescribeImages returned and before the plan is applied, five nights ' +
    'running, starting with the janitor\'s first night (protect, ECR preview, policy install)',
  schedule: (_days, f) => ({ janitorStartDay: f, ciAtRunTime: new Set(range(f, 5)) }),
  faultNights: (_days, f) => range(f, 5),
  async arm(context, state) {
    const { account, day, startOfDay } = context;
    const key = `${account.spec.id}:${day}`;
    context.hooks.wrapRegistry = (registry): RegistryPort => ({
      ...registry,
      async describeImages(repository, onPage) {
        const images = await registry.describeImages(repository, onPage);
        if (!state.ciDone.has(key)) {
          state.ciDone.add(key);
          const pinsBefore = JSON.stringify(account.workload.pins());
          const pushedBefore = account.workload.imagesPushed;
          const summary = await pushCiNow(account, day, startOfDay);
          const moved = [`${summary.builds} builds (main moved)`];
          if (summary.releases.length > 0) moved.push(`new release tag(s) ${summary.releases.join(', ')}`);
          if (JSON.stringify(account.workload.pins()) !== pinsBefore) moved.push('the deployment moved');
          state.injected.push(
            `day ${day} account ${account.spec.id}: after DescribeImages(${repository}) returned, CI pushed ${account.workload.imagesPushed - pushedBefore} images: ${moved.join(', ')}`,
          );
        }
        return images;
      },
    });
    return true;
  },
  disarm() {},
  allowedLagNights: 1,
  // CI pushing during a run is normal operation, not an error.
  runsMayFail: false,
};

const READ_OPERATIONS = ['DescribeImages', 'BatchGetImage', 'GetLifecyclePolicy'];

/**
 * The janitor's second night: every read it needs answers 500 past every retry. Nothing shows the pins are protected,
 * so the policy the first night installed goes on hold (PutLifecyclePolicy needs no read) until the next run.
 */
const readFailures: Injection = {
  description:
    "read failures on the janitor's second night: DescribeImages, BatchGetImage and GetLifecyclePolicy answer 500 on every attempt " +
    '(past every SDK retry) for the whole run; the policy installed on night 1 goes on hold, the next night resumes',
  schedule: (_days, f) => ({ janitorStartDay: f - 1, ciAtRunTime: new Set() }),
  faultNights: (_days, f) => [f],
  async arm({ account }, state) {
    account.emulator.setFaults({ serverErrorEveryN: 1, operations: READ_OPERATIONS });
    state.counters[`errors:${account.spec.id}`] = account.emulator.stats().serverErrors;
    return true;
  },
  disarm({ account, day }, state) {
    const errors = account.emulator.stats().serverErrors - (state.counters[`errors:${account.spec.id}`] ?? 0);
    account.emulator.clearFaults();
    state.injected.push(`day ${day} account ${account.spec.id}: ${errors} read call(s) (${READ_OPERATIONS.join(', ')}) answered 500 past every retry`);
  },
  // The hold delays one night of expiry; ECR reaps index children the night after their index.
  allowedLagNights: 2,
  runsMayFail: true,
};

/** The run state's directory is emptied (a fresh --state-dir, an ephemeral CI runner) before a night's run. */
function stateLoss(kind: 'lost' | 'corrupt'): Injection {
  return {
    description:
      kind === 'lost'
        ? 'lost run state: the state directory is emptied before a night\'s run (a fresh --state-dir, an ephemeral runner); every ' +
          'protection tag counts as pinned again and its grace restarts'
        : 'corrupt run state: every state file is overwritten with half a JSON object before a night\'s run and removed by a person the ' +
          'day after; that night writes nothing but a hold where a pin may be unprotected, the next runs as after a lost state',
    schedule: () => ({ janitorStartDay: 0, ciAtRunTime: new Set() }),
    // Early enough that the restarted grace (7 days by default) runs out, and the worlds meet again, before the end.
    faultNights: (days, f) => [Math.max(1, Math.min(f, days - 11))],
    async arm({ account, day }, state) {
      const files = (await readdir(account.stateDir)).filter((name) => name.endsWith('.json'));
      for (const name of files) {
        if (kind === 'lost') await rm(join(account.stateDir, name), { force: true });
        else await writeFile(join(account.stateDir, name), '{"repository": "', 'utf8');
      }
      state.injected.push(`day ${day} account ${account.spec.id}: ${files.length} state file(s) ${kind === 'lost' ? 'deleted' : 'overwritten with half a JSON object'}`);
      return files.length > 0;
    },
    disarm({ account }) {
      if (kind !== 'corrupt') return;
      // The person who reads the error removes the corrupt files, as its message says.
      for (const name of readdirSync(account.stateDir)) if (name.endsWith('.json')) rmSync(join(account.stateDir, name), { force: true });
    },
    // A restarted grace keeps lapsed pins up to pinGraceDays longer than the reference (a corrupt night adds one);
    // ECR reaps index children the night after their index.
    allowedLagNights: (pinGraceDays) => pinGraceDays + (kind === 'corrupt' ? 3 : 2),
    runsMayFail: kind === 'corrupt',
  };
}

const INJECTIONS: Record<FaultScenarioName, Injection> = {
  throttling: sdkFaults('throttle'),
  'server-errors': sdkFaults('server'),
  'partial-deletes': partialDeletes,
  'crash-before-policy': crashBeforePolicy,
  'tag-moved-in-flight': tagMovedInFlight,
  'read-failures': readFailures,
  'lost-state': stateLoss('lost'),
  'corrupt-state': stateLoss('corrupt'),
};

/** The day's CI at the current (03:00) time, the clock held so the janitor's run does not jump to the evening. */
async function pushCiNow(account: Account, day: number, startOfDay: number) {
  account.freezeClock = true;
  try {
    account.samplePins();
    const summary = await account.workload.runDay(day, startOfDay);
    account.samplePins();
    return summary;
  } finally {
    account.freezeClock = false;
  }
}

export async function runFaultScenario(name: FaultScenarioName, options: FaultScenarioOptions = {}): Promise<FaultScenarioResult> {
  const started = performance.now();
  const injection = INJECTIONS[name];
  const days = options.days ?? 20;
  const faultNight = options.faultNight ?? Math.max(1, days - 9);
  const shape: WorkloadShape = { ...DEFAULT_SHAPE, ...options.shape, ...(options.buildsPerDay !== undefined ? { buildsPerDay: options.buildsPerDay } : {}) };
  const pinGraceDays = options.pinGraceDays ?? 7;
  const start = options.start ?? SIMULATION_START;
  const config = simulationConfig(pinGraceDays);
  const retryMode = options.retryMode ?? 'adaptive';
  const schedule = injection.schedule(days, faultNight);
  const candidateNights = new Set(injection.faultNights(days, faultNight));
  const state: InjectionState = {
    config,
    options: { throttleEveryN: options.throttleEveryN ?? 2, serverErrorEveryN: options.serverErrorEveryN ?? 3 },
    injected: [],
    ciDone: new Set(),
    counters: {},
  };
  const result: FaultScenarioResult = {
    name,
    description: injection.description,
    faultNights: [],
    injected: state.injected,
    faultedRuns: [],
    failedPulls: 0,
    referenceFailedPulls: 0,
    convergence: undefined,
    sameImagesFromDay: undefined,
    runMs: { faulted: 0, reference: 0 },
    bytes: [],
    ok: false,
    problems: [],
    elapsedMs: 0,
  };

  const reference = await World.open({ name: `${name}-reference`, shape, start, ledger: true, janitorState: true });
  const faulted = await World.open({ name: `${name}-faulted`, shape, start, janitorState: true });
  const logCounts: LogCounts = { warn: 0, error: 0 };
  let lastFaultNight: number | undefined;
  try {
    for (let day = 0; day < days; day++) {
      const startOfDay = start + day * DAY;
      reference.setClock(startOfDay + 3 * HOUR);
      faulted.setClock(startOfDay + 3 * HOUR);
      const ciAtRunTime = schedule.ciAtRunTime.has(day);

      if (day >= schedule.janitorStartDay) {
        // Reference: a clean run, then (on ciAtRunTime days) the CI right after it, at the same time.
        let referenceMs = 0;
        await Promise.all(
          reference.accounts.map(async (account) => {
            const t = performance.now();
            const report = await runJanitorIn(account, config, 'run', {}, undefined, retryMode);
            referenceMs = Math.max(referenceMs, performance.now() - t);
            for (const r of report.repositories) if (r.status !== 'ok') result.problems.push(`reference day ${day} ${r.repository}: ${r.status} ${r.error ?? ''}`);
            if (ciAtRunTime) await pushCiNow(account, day, startOfDay);
          }),
        );
        // Faulted: the injection, if tonight is one of its nights.
        let faultedTonight = false;
        let faultedMs = 0;
        const reports: RunReport[] = [];
        await Promise.all(
          faulted.accounts.map(async (account) => {
            const context: NightContext = { day, startOfDay, account, hooks: {} };
            const armed = candidateNights.has(day) && (await injection.arm(context, state));
            let report: RunReport;
            const t = performance.now();
            try {
              report = await runJanitorIn(account, config, 'run', context.hooks, logCounts, retryMode);
            } finally {
              if (armed) injection.disarm(context, state);
            }
            faultedMs = Math.max(faultedMs, performance.now() - t);
            reports.push(report);
            if (armed) {
              faultedTonight = true;
              for (const r of report.repositories) {
                result.faultedRuns.push(`day ${day} ${account.spec.id} ${describeRun(r)}`);
                if (r.status !== 'ok' && !injection.runsMayFail) result.problems.push(`day ${day} ${r.repository}: ${r.status} under a fault the run must absorb: ${r.error ?? r.blocked ?? ''}`);
              }
            }
            if (ciAtRunTime && !state.ciDone.has(`${account.spec.id}:${day}`)) await pushCiNow(account, day, startOfDay);
          }),
        );
        if (faultedTonight) {
          result.faultNights.push(day);
          lastFaultNight = day;
          result.runMs.faulted += faultedMs;
          result.runMs.reference += referenceMs;
        } else if (lastFaultNight !== undefined && result.convergence === undefined) {
          result.convergence = await convergenceAt(day, faulted, config, reports);
        }
      }

      if (!ciAtRunTime) await Promise.all([reference.runDay(day, startOfDay), faulted.runDay(day, startOfDay)]);

      reference.setClock(startOfDay + 22 * HOUR);
      faulted.setClock(startOfDay + 22 * HOUR);
      reference.runLifecycle();
      faulted.runLifecycle();

      reference.setClock(startOfDay + 23 * HOUR);
      faulted.setClock(startOfDay + 23 * HOUR);
      const failed = await faulted.failedPulls(pinGraceDays, reference);
      result.failedPulls += failed.length;
      for (const miss of failed.slice(0, 3)) result.problems.push(`day ${day}: LOST ${miss.account} ${miss.repository}@${miss.digest} (${miss.why})`);
      result.referenceFailedPulls += (await reference.failedPulls(pinGraceDays, reference)).length;

      const same = sameImages(reference, faulted);
      if (!same) result.sameImagesFromDay = undefined;
      else if (result.sameImagesFromDay === undefined) result.sameImagesFromDay = day;
      if (day >= faultNight) result.bytes.push({ day, faulted: faulted.footprint(), reference: reference.footprint() });
    }
  } finally {
    await reference.close();
    await faulted.close();
  }

  if (result.faultNights.length === 0) result.problems.push('the fault was never injected: nothing to check (make the run longer)');
  if (result.failedPulls > 0) result.problems.push(`${result.failedPulls} failed pull(s) of live or pinned images in the faulted world`);
  if (result.referenceFailedPulls > 0) result.problems.push(`${result.referenceFailedPulls} failed pull(s) in the reference world`);
  if (lastFaultNight !== undefined) {
    if (!result.convergence) result.problems.push('no clean run after the last fault night (make the run longer)');
    else if (!result.convergence.runOk || !result.convergence.replanClean) result.problems.push(`did not converge on day ${result.convergence.day}: ${result.convergence.details.join('; ')}`);
    const lag = typeof injection.allowedLagNights === 'number' ? injection.allowedLagNights : injection.allowedLagNights(pinGraceDays);
    const due = lastFaultNight + lag;
    if (due > days - 1) result.problems.push(`the run ends before day ${due}, by which the stored images must match the reference`);
    else if (result.sameImagesFromDay === undefined || result.sameImagesFromDay > due) {
      result.problems.push(
        `stored images differ from the fault-free world after day ${due}` +
          (result.sameImagesFromDay !== undefined ? ` (they match from day ${result.sameImagesFromDay})` : ' (through the last day)'),
      );
    }
  }
  result.ok = result.problems.length === 0;
  result.elapsedMs = performance.now() - started;
  return result;
}

function describeRun(r: RunReport['repositories'][number]): string {
  const failures = [...new Set(r.actions.failures.map((f) => f.code))];
  return (
    `${r.repository}: ${r.status}${r.error ? ` (${r.error})` : ''}${r.blocked ? ` (${r.blocked})` : ''}${failures.length > 0 ? `; failures: ${failures.join(', ')}` : ''}` +
    `; tags +${r.actions.tagsAdded} -${r.actions.tagsRemoved}${r.actions.policyInstalled ? '; policy installed' : ''}${r.actions.policyHeld ? '; policy held' : ''}` +
    (r.actions.notDone.length > 0 ? `; not done: ${r.actions.notDone.join('; ')}` : '')
  );
}

/** The first clean run's statuses, and a read-only re-plan right after it: nothing left to add, remove or install. */
async function convergenceAt(day: number, world: World, config: JanitorConfig, runs: RunReport[]): Promise<FaultScenarioResult['convergence']> {
  const details: string[] = [];
  let runOk = true;
  for (const run of runs) {
    for (const r of run.repositories) {
      if (r.status !== 'ok') {
        runOk = false;
        details.push(`run: ${r.repository} ${r.status} ${r.error ?? r.blocked ?? r.refused ?? ''}`);
      }
    }
  }
  let replanClean = true;
  for (const account of world.accounts) {
    const replan = await runJanitorIn(account, config, 'plan');
    for (const r of replan.repositories) {
      const plan = r.plan;
      if (!plan) {
        replanClean = false;
        details.push(`re-plan: ${r.repository} ${r.status} ${r.error ?? ''}`);
        continue;
      }
      if (plan.protectTags.add.length > 0 || plan.protectTags.remove.length > 0 || plan.policy.action !== 'unchanged') {
        replanClean = false;
        details.push(
          `re-plan: ${r.repository} would add ${plan.protectTags.add.length}, remove ${plan.protectTags.remove.length} protection tag(s), policy ${plan.policy.action}` +
            (plan.policy.action === 'unchanged' ? '' : ` (${plan.policy.reason})`) +
            plan.protectTags.add.map((a) => `; add ${a.tag.slice(0, 24)}: ${a.reason}`).join(''),
        );
      }
    }
  }
  if (runOk && replanClean) details.push(`day ${day}: every repository ok; a re-plan right after adds and removes no protection tag and leaves the policy unchanged`);
  return { day, runOk, replanClean, details };
}

function sameImages(a: World, b: World): boolean {
  return a.accounts.every((account, i) => {
    const mine = account.presentImages();
    const theirs = b.accounts[i]!.presentImages();
    return mine.size === theirs.size && [...mine].every((key) => theirs.has(key));
  });
}

export async function runFaultScenarios(options: FaultScenarioOptions = {}, onResult?: (result: FaultScenarioResult) => void): Promise<FaultScenarioResult[]> {
  const results: FaultScenarioResult[] = [];
  for (const name of FAULT_SCENARIOS) {
    const result = await runFaultScenario(name, options);
    onResult?.(result);
    results.push(result);
  }
  return results;
}
