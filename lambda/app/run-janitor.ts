// Orchestration, per managed repository: inventory -> pins -> plan -> apply -> report. Talks only to ports.
import { isRepositoryManaged } from '../domain/config.js';
import { manifestDigestsToFetch } from '../domain/graph.js';
import { resolvePins } from '../domain/pins.js';
import { checkPinBreaker, pinSnapshot } from '../domain/pin-breaker.js';
import { mergedReads, recordingReads, withJanitorReads } from './janitor-reads.js';
import { sha256Digest } from '../domain/digest.js';
import { holdAfterFailure } from '../domain/holds.js';
import { describePlannedActions, type PolicyWait, policyWaitNote, refusalOf } from '../domain/planned-actions.js';
import { holdAfterFailedProtection, planRepository, type PinKnowledge } from '../domain/planner.js';
import { judgeInstall, sameImages } from '../domain/replan.js';
import { samePolicy } from '../domain/policy.js';
import { checkPreview } from '../domain/preview-check.js';
import { type ChangeMarkRead, type ChangeVerdict, checkUnchanged, policyTextFingerprint, unchangedBasis } from '../domain/change-check.js';
import { goneSince, monthlyCostUsd, reapedSince } from '../domain/report.js';
import type { JanitorConfig, PinReference, RepositoryInventory, RepositoryPlan, RepositoryState } from '../domain/types.js';
import { type Clock, type MetricsSink, type PinSource, PreviewNotCompletedError, type RegistryPort, type StalePinPublisher, StateIntegrityError, type StateStore, type WriteFailure } from './ports.js';
import type { Amount, RepositoryRunReport, RunReport } from './report-types.js';
import { PreviewResumesNextRunError } from './preview-pipeline.js';
import { runScheduled, scheduledRegistry, type Throughput } from './throughput.js';

/** The part of a pino logger the app uses. */
export interface LogPort {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface JanitorDeps {
  registry: RegistryPort;
  pinSources: readonly PinSource[];
  stateStore: StateStore;
  clock: Clock;
  log: LogPort;
  metrics?: MetricsSink;
  /** Big accounts: largest first, bounded memory, pipelined previews, writes on their own stream (./throughput.ts). */
  throughput?: Throughput;
  /** Where the readable run report goes (reports/<date>.md and .json in the state bucket; adapters/report-s3.ts). */
  reports?: RunReportSink;
  /**
   * ECR push/delete marks (adapters/change-marks-s3.ts). With them, a run that applies confirms an unchanged repository
   * without reading it (domain/change-check.ts); without them (the CLI) every repository is read whole.
   */
  changeMarks?: ChangeMarksPort;
}

/** The newest ECR push or delete event seen per repository (epoch ms); only ever moved forward. */
export interface ChangeMarksPort {
  /** null: no change marked since marks began. Throws when the mark cannot be read (the run then reads whole). */
  latest(repository: string): Promise<number | null>;
  /** Moves the mark to `time` unless it is already there or later: events arriving twice or late change nothing. */
  record(repository: string, time: number): Promise<void>;
}

/** Stores the run's report for people; returns the keys written. A failure is logged, never fails the run. */
export interface RunReportSink {
  publish(report: RunReport): Promise<{ keys: string[] }>;
}

export interface RunOptions {
  config: JanitorConfig;
  /** plan: read only. run: apply (unless dryRun). */
  mode: 'plan' | 'run';
  dryRun?: boolean;
  /** Only these repositories (still subject to the config's include/exclude). */
  repositories?: readonly string[];
  /** Repositories handled at once; ECR's per-account API rates are shared by all of them. */
  concurrency?: number;
  onProgress?: (message: string) => void;
  /**
   * Keep every image's decision in the report (the CLI prints them). The Lambda needs only the totals: dropping the
   * decisions after each repository keeps a 1M-image run within a small function's memory.
   */
  retainImageDecisions?: boolean;
  /**
   * false: a batch of a larger run (Step Functions, lambda/app/run-steps.ts): no metrics and no run report, which the
   * aggregate step publishes once for the whole run. @default true
   */
  publish?: boolean;
  /** Repositories a list step could not vouch for (opt-in tag or listing unknown), with why: handled as failed. */
  unsure?: ReadonlyMap<string, UnsureRepository>;
  /** Log each image gone since the last run (the Lambda: its Logs Insights query lists every expired image). */
  logGoneImages?: boolean;
}

interface PinDiscovery {
  references: PinReference[];
  failure?: string;
  stale: StalePinPublisher[];
}

export async function runJanitor(deps: JanitorDeps, options: RunOptions): Promise<RunReport> {
  const startedAt = deps.clock.now();
  const dryRun = options.mode === 'plan' || options.dryRun === true || options.config.dryRun;
  const { names: repositories, unsure } = await selectRepositories(deps.registry, deps.stateStore, deps.log, options);
  const pins = await discoverPins(deps.pinSources, deps.log);

  const concurrency = options.concurrency ?? options.config.concurrency ?? 4;
  let reports: RepositoryRunReport[] = new Array(repositories.length);
  let next = 0;
  const worker = async () => {
    while (next < repositories.length) {
      const index = next++;
      const repository = repositories[index]!;
      options.onProgress?.(`[${index + 1}/${repositories.length}] ${repository}`);
      reports[index] = await handleRepository(deps, options, repository, pins, dryRun, unsure.get(repository));
    }
  };
  if (deps.throughput) {
    const scheduled = { ...deps, registry: scheduledRegistry(deps.registry, deps.throughput) };
    reports = await runScheduled(deps.throughput, deps.stateStore, repositories, concurrency, (repository, index) => {
      options.onProgress?.(`[${index + 1}/${repositories.length}] ${repository}`);
      return handleRepository(scheduled, options, repository, pins, dryRun, unsure.get(repository));
    });
  } else await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, repositories.length)) }, worker));

  const report = summarize(reports, startedAt, deps.clock.now(), options, dryRun, deps.registry.callCounts());
  if (pins.stale.length > 0) {
    report.stalePins = pins.stale;
    // Never forgotten, never silent: the pins stay protected, and a person decides whether the account is gone.
    deps.log.warn(
      { stalePins: pins.stale },
      `organization pins: ${pins.stale.length} publisher(s) stopped publishing (${pins.stale.map((s) => `${s.publisher} since ${new Date(s.lastPublishedAt).toISOString()}`).join(', ')}); their last pins stay protected`,
    );
  }
  if (repositories.length === 0) {
    const { include, exclude, tag } = options.config.repositories;
    report.noRepositories =
      `the config manages none of the ${options.repositories ? 'named' : "registry's"} repositories ` +
      `(include ${JSON.stringify(include)}, exclude ${JSON.stringify(exclude)}${tag ? `, tag ${tag.key}=${tag.value}` : ''}` +
      `${options.repositories ? `, named ${JSON.stringify(options.repositories)}` : ''}): nothing was done`;
    deps.log.error({ include, exclude, named: options.repositories }, report.noRepositories);
  }
  deps.log.info(
    { summary: report.totals, apiCalls: report.apiCalls, dryRun, mode: options.mode },
    `ecr-janitor ${options.publish === false ? 'batch' : options.mode}: ${report.totals.repositories} repositories, ${report.totals.failed} failed, ${report.totals.blocked} blocked, ${report.totals.refused} refused`,
  );
  if (options.publish === false) return report;
  await publishRun(deps, report);
  return report;
}

/** The run's metrics, then its report for people; a report that cannot be written is logged, never fails the run. */
export async function publishRun(deps: Pick<JanitorDeps, 'metrics' | 'reports' | 'log'>, report: RunReport): Promise<void> {
  deps.metrics?.publish(report);
  if (!deps.reports) return;
  try {
    const { keys } = await deps.reports.publish(report);
    deps.log.info({ reportKeys: keys }, `run report written: ${keys.join(', ')}`);
  } catch (error) {
    deps.log.error({ reason: (error as Error).message }, `run report could not be written: ${(error as Error).message}`);
  }
}

/** A run's counters, as the handler returns them (and Step Functions reads them). */
export interface RunCounters {
  repositories: number;
  failed: number;
  blocked: number;
  /** Repositories whose policy was not installed (reason at error level in the log; NotCleanedRepositories alarm). */
  refused: number;
  reapedImages: number;
  reapedBytes: number;
  estimatedMonthlySavingsUsd: number;
}

export function runCounters(report: RunReport): RunCounters {
  const { totals } = report;
  return {
    repositories: totals.repositories,
    failed: totals.failed,
    blocked: totals.blocked,
    refused: totals.refused,
    reapedImages: totals.reaped.images,
    reapedBytes: totals.reaped.bytes,
    estimatedMonthlySavingsUsd: totals.estimatedMonthlySavingsUsd,
  };
}

const LISTING_FAILED = "the registry's repositories could not be listed";

/** A repository handled as failed before its inventory: which read could not vouch for it, and why. */
export interface UnsureRepository {
  stage: 'repository listing' | 'repository tag read';
  reason: string;
}

/**
 * `unsure`: repositories whose opt-in tag could not be read, or that only the run state names because the registry's
 * listing failed, with why. They are handled as failed: nothing cleaned, a hold where a janitor-written policy runs.
 */
export async function selectRepositories(
  registry: RegistryPort,
  stateStore: StateStore,
  log: LogPort,
  options: RunOptions,
): Promise<{ names: string[]; unsure: Map<string, UnsureRepository> }> {
  const unsure = new Map<string, UnsureRepository>(options.unsure ?? []);
  let all: string[];
  if (options.repositories) all = [...options.repositories];
  else {
    try {
      all = await registry.listRepositories();
    } catch (error) {
      // A pin may appear tonight under a policy we installed: the repositories we hold state for still get their hold.
      const why = `${LISTING_FAILED} (${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message})`;
      if (!stateStore.repositories) throw error;
      all = await stateStore.repositories().catch(() => {
        throw error;
      });
      log.error({ err: why, fromState: all.length }, `${why}; the ${all.length} repositories with run state are handled as failed, with a hold where a janitor policy runs`);
      for (const name of all) unsure.set(name, { stage: 'repository listing', reason: `${why}; this repository has run state, so a janitor-written policy may be in force` });
    }
  }
  // A name given twice is handled once: two workers on one repository would race each other's writes.
  const matching = [...new Set(all)].filter((name) => isRepositoryManaged(options.config, name)).sort();
  const tag = options.config.repositories.tag;
  if (!tag) return { names: matching, unsure };
  // Opt-in by resource tag: a repository without it is not ours (IAM refuses our writes there too). A tag read that
  // fails fails that repository without guessing: no cleaning, but a janitor-written policy in force still goes on
  // hold (a pin may appear tonight), and the other repositories run as usual.
  const optedIn = new Array<boolean>(matching.length).fill(false);
  let next = 0;
  const worker = async () => {
    while (next < matching.length) {
      const index = next++;
      try {
        const tags = await registry.repositoryTags(matching[index]!);
        optedIn[index] = tags !== null && tags[tag.key] === tag.value;
      } catch (error) {
        optedIn[index] = true;
        unsure.set(matching[index]!, {
          stage: 'repository tag read',
          reason: `the repository's tags could not be read (${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message}), so whether it opted in is unknown`,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, matching.length)) }, worker));
  return { names: matching.filter((_, index) => optedIn[index] || unsure.has(matching[index]!)), unsure };
}

async function discoverPins(sources: readonly PinSource[], log: LogPort): Promise<PinDiscovery> {
  const references: PinReference[] = [];
  const failures: string[] = [];
  const stale: StalePinPublisher[] = [];
  for (const source of sources) {
    try {
      references.push(...(await source.discover()));
      stale.push(...(source.stalePublishers?.() ?? []));
    } catch (error) {
      failures.push(`${source.name}: ${(error as Error).message}`);
      log.error({ source: source.name, err: (error as Error).message }, 'pin discovery failed; repositories fail closed');
    }
  }
  return failures.length > 0 ? { references, failure: failures.join('; '), stale } : { references, stale };
}

async function handleRepository(
  deps: JanitorDeps,
  options: RunOptions,
  repository: string,
  discovery: PinDiscovery,
  dryRun: boolean,
  /** Why the repository is handled as failed before its inventory (opt-in or listing unknown). */
  unsure?: UnsureRepository,
): Promise<RepositoryRunReport> {
  const { log } = deps;
  // The janitor's own manifest reads, so keepPulledWithinDays does not count them as pulls.
  const readLog = recordingReads(deps.registry, deps.clock);
  const registry = readLog.registry;
  const report: RepositoryRunReport = {
    repository,
    status: 'ok',
    reaped: zero(),
    pendingExpiry: zero(),
    expireNow: zero(),
    protected: zero(),
    actions: { tagsAdded: 0, tagsRemoved: 0, policyInstalled: false, policyHeld: false, failures: [], notDone: [] },
  };
  let stage = 'state read';
  // The installed policy: undefined until read, and when GetLifecyclePolicy failed (then a hold is fail-closed).
  let installedPolicy: string | null | undefined;
  try {
    const { state, stateProblem, distrusted } = await loadState(deps.stateStore, repository);
    if (distrusted) reportDistrustedState(log, repository, distrusted);
    if (stateProblem) log.error({ repository, err: stateProblem }, `repository ${repository}: run state unreadable; nothing is written there but a hold`);
    // The policy first: when the inventory cannot be read, it tells whether a janitor-written policy needs a hold.
    stage = 'lifecycle policy read';
    let policyUnreadable: string | undefined;
    try {
      installedPolicy = await registry.getLifecyclePolicy(repository);
    } catch (error) {
      policyUnreadable = `${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message}`;
      log.error({ repository, err: policyUnreadable }, `repository ${repository}: GetLifecyclePolicy failed; the policy stays as it is, protection tags still go in`);
    }
    if (unsure !== undefined) {
      stage = unsure.stage;
      throw new Error(unsure.reason);
    }
    const currentPolicyText = installedPolicy ?? null;
    // Skip what did not change: confirmed from the run state when nothing could have changed a decision.
    const confirming = deps.changeMarks !== undefined && !dryRun;
    let mark: ChangeMarkRead = { readable: false, why: 'not read' };
    if (confirming) {
      stage = 'change check';
      mark = await readChangeMark(deps.changeMarks!, repository);
      const verdict = checkUnchanged({
        state,
        ...(stateProblem || distrusted ? { stateProblem: stateProblem ?? distrusted!.message } : {}),
        config: options.config,
        mark,
        pinReferences: discovery.references,
        ...(discovery.failure ? { pinDiscoveryFailure: discovery.failure } : {}),
        policyInForce: policyUnreadable === undefined ? currentPolicyText : undefined,
        now: deps.clock.now(),
      });
      if (verdict.skip) {
        stage = 'state save';
        await confirmUnchanged(deps, report, state!, verdict);
        return report;
      }
      log.info({ repository, readWhole: verdict.reasons }, `repository ${repository}: read whole: ${verdict.reasons.join('; ')}`);
    }
    stage = 'inventory';
    const readStartedAt = deps.clock.now();
    const inventory = await readInventory(registry, repository, state?.indexManifests, options.onProgress);

    const resolved = resolvePins(discovery.references, inventory);
    for (const ref of resolved.unresolved) {
      log.warn({ repository, reference: ref }, 'a deployment references an image that is not in the repository');
    }
    const failure = discovery.failure;
    // Circuit breaker: pins that fell too far since the last accepted run count as unknown (domain/pin-breaker.ts).
    const snapshot = pinSnapshot(discovery.references, repository, resolved.digests.keys(), deps.clock.now());
    const present = new Set(inventory.images.map((i) => i.digest));
    const breaker = failure ? undefined : checkPinBreaker(state?.pinBaseline, snapshot, present, options.config.maxPinDrop);
    if (breaker?.tripped) log.error({ repository, reason: breaker.reason }, `repository ${repository}: ${breaker.reason}`);
    const pins: PinKnowledge = failure
      ? { known: false, reason: failure }
      : breaker?.tripped
        ? { known: false, reason: breaker.reason }
        : { known: true, digests: resolved.digests };

    stage = 'plan';
    const plan = planRepository({
      inventory,
      config: options.config,
      pins,
      state,
      currentPolicyText,
      now: deps.clock.now(),
      ...(stateProblem ? { stateProblem } : {}),
      janitorReads: mergedReads(state?.janitorReads, readLog.reads, present),
      ...(policyUnreadable ? { policyUnreadable } : {}),
    });
    report.plan = plan;
    // The baseline moves only with a run whose pins were known and accepted.
    const pinBaseline = breaker?.next ?? state?.pinBaseline;
    if (pinBaseline) plan.nextState.pinBaseline = pinBaseline;
    // E.g. a pinned image in archive (it cannot be pulled): the Lambda's log is where a person reads it.
    if (plan.warnings.length > 0) log.warn({ repository, warnings: plan.warnings }, `repository ${repository}: ${plan.warnings.length} warning(s)`);
    report.reaped = reapedSince(state, inventory);
    // One line per image gone since the last run: the stack's "expired-images" Logs Insights query lists them.
    if (options.logGoneImages) for (const gone of goneSince(state, inventory)) log.info({ repository, gone }, `gone since the last run: ${repository}@${gone.digest}`);
    report.pendingExpiry = { images: plan.totals.pending.images, bytes: plan.totals.pending.bytes };
    report.expireNow = { images: plan.totals.expire.images, bytes: plan.totals.expire.bytes };
    report.protected = { images: plan.totals.protect.images, bytes: plan.totals.protect.bytes };
    if (plan.blocked) {
      report.status = 'blocked';
      report.blocked = plan.blocked;
    } else if (plan.policy.action === 'refuse') {
      report.status = 'refused';
      report.refused = plan.policy.reason;
    }

    if (dryRun) {
      report.actions.notDone.push(...describePlannedActions(plan).map((a) => `${a} (${options.mode === 'plan' ? 'plan is read-only' : 'dry run'})`));
    } else {
      stage = 'apply';
      // CI keeps pushing while we run: when ECR's preview disagrees with the plan, a plan from a fresh inventory tells
      // a repository that changed under us (ranks moved on) from a real disagreement about ECR's semantics.
      const replan = async (): Promise<RepositoryPlan | undefined> => {
        const fresh = await readInventory(registry, repository, inventory.manifests);
        if (sameImages(fresh, inventory, plan.protectTags.add)) return undefined;
        log.info({ repository }, 'the repository changed during the run; re-planned against a fresh inventory before installing the policy');
        const freshPins: PinKnowledge = failure ? pins : { known: true, digests: resolvePins(discovery.references, fresh).digests };
        return planRepository({ inventory: fresh, config: options.config, pins: freshPins, state, currentPolicyText, now: deps.clock.now() });
      };
      const applyStartedAt = deps.clock.now();
      const leftRunning = state?.previewRunning;
      if (leftRunning && plan.policy.action === 'install') {
        const minutes = Math.round((applyStartedAt - leftRunning.startedAt) / 60_000);
        log.info(
          { repository, previewRunningSince: new Date(leftRunning.startedAt).toISOString() },
          leftRunning.policyFingerprint === policyTextFingerprint(plan.policy.desiredText)
            ? `repository ${repository}: the preview of this policy left running by an earlier invocation (${minutes} min ago) is adopted`
            : `repository ${repository}: a preview left running ${minutes} min ago is of another policy text; tonight's policy is previewed anew`,
        );
      }
      const { nextState, policyWait } = await applyPlan(registry, plan, inventory, report, options.config, replan, policyUnreadable !== undefined);
      const refusal = policyWait ? refusalOf(policyWait) : undefined;
      if (refusal !== undefined && report.status === 'ok') {
        report.status = 'refused';
        report.refused = refusal;
      }
      // Unreadable state is left for a person to look at: overwriting it would forget pins still in grace. So is a
      // tampered one: overwriting it would also wipe what happened.
      stage = 'state save';
      if (!stateProblem && !isTampered(distrusted)) {
        const saved = withJanitorReads(nextState, mergedReads(state?.janitorReads, readLog.reads, present));
        // Only a clean night, whose result is known in full, is a basis for confirming the next ones.
        const clean =
          confirming &&
          report.status === 'ok' &&
          report.actions.failures.length === 0 &&
          report.actions.notDone.length === 0 &&
          !report.actions.policyHeld &&
          !plan.blocked &&
          policyUnreadable === undefined &&
          pins.known &&
          (plan.policy.action === 'unchanged' || plan.policy.action === 'skip' || (plan.policy.action === 'install' && report.actions.policyInstalled));
        const basis = clean
          ? unchangedBasis({
              plan,
              images: inventory.images,
              config: options.config,
              pinReferences: discovery.references,
              pinned: resolved.digests.keys(),
              policyLeft: report.actions.policyInstalled ? plan.policy.desiredText : currentPolicyText,
              nextState: saved,
              readStartedAt,
              mark,
              now: deps.clock.now(),
            })
          : undefined;
        const { unchanged: _lastBasis, previewRunning: _lastPreview, ...withoutBasis } = saved;
        const previewRunning = report.previewLeftRunning ? previewKept(state?.previewRunning, plan.policy.desiredText, applyStartedAt) : undefined;
        await deps.stateStore.save({ ...withoutBasis, ...(basis ? { unchanged: basis } : {}), ...(previewRunning ? { previewRunning } : {}) });
      }
    }
    if (report.actions.failures.length > 0) {
      report.status = 'failed';
      report.error = `${report.actions.failures.length} write(s) failed: ${report.actions.failures
        .slice(0, 3)
        .map((f) => `${f.code} ${f.tag ?? f.digest ?? ''}`.trim())
        .join(', ')}`;
    } else if (policyUnreadable !== undefined) {
      report.status = 'failed';
      report.error = `lifecycle policy read: ${policyUnreadable}`;
    }
    if (isTampered(distrusted) && report.status !== 'failed') {
      // Failing the repository fails the invocation, so the Errors alarm tells a person every night until they look.
      report.status = 'failed';
      report.error = `state check: ${distrusted.message}; read as missing (no protection removed), left in place for a person to look at`;
    }
    // Anything but ok is an error: a janitor that stopped cleaning must not look green.
    const fields = { repository, status: report.status, totals: plan.totals, policy: plan.policy.action, actions: report.actions, reaped: report.reaped };
    const why = report.error ?? report.blocked ?? report.refused;
    if (report.status === 'ok') log.info(fields, `repository ${repository}: ok`);
    else log.error({ ...fields, reason: why }, `repository ${repository}: ${report.status}: ${why}`);
    if (options.retainImageDecisions === false) report.plan = withoutImageDetail(plan);
  } catch (error) {
    report.status = 'failed';
    report.error = `${stage}: ${(error as Error).message}`;
    const changed = stage === 'apply' || stage === 'state save';
    // No plan, so nothing shows every pin is protected: a janitor-written policy goes on hold (no reads needed).
    const hold = holdAfterFailure(installedPolicy, { afterWrites: changed, dryRun });
    if (hold !== undefined) {
      const held = await putHold(registry, hold, `${stage} failed, so the pins' protection cannot be checked`, report);
      log.error(
        { repository, stage, policyHeld: held },
        held
          ? `repository ${repository}: ${stage} failed; the lifecycle policy is on hold (it expires nothing) until a run completes`
          : `repository ${repository}: ${stage} failed and the hold could not be put in: the installed policy still runs and may expire a pin`,
      );
    }
    report.actions.notDone.push(
      changed
        ? `${stage} stopped part way: the writes counted under actions were done, the rest waits for the next run`
        : report.actions.policyHeld
          ? `everything after ${stage}: the lifecycle policy was put on hold, nothing else changed`
          : `everything after ${stage}: the repository was left as it was`,
    );
    log.error({ repository, stage, err: (error as Error).message }, `repository ${repository} failed`);
  }
  return report;
}

/** The preview left running: since the earlier run that started it when it is the same policy, otherwise since tonight's apply. */
function previewKept(known: RepositoryState['previewRunning'], policyText: string, applyStartedAt: number): RepositoryState['previewRunning'] {
  const policyFingerprint = policyTextFingerprint(policyText) ?? 'unreadable';
  return { startedAt: known?.policyFingerprint === policyFingerprint ? Math.min(known.startedAt, applyStartedAt) : applyStartedAt, policyFingerprint };
}

async function readChangeMark(marks: ChangeMarksPort, repository: string): Promise<ChangeMarkRead> {
  try {
    return { readable: true, latest: await marks.latest(repository) };
  } catch (error) {
    return { readable: false, why: `${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message}` };
  }
}

/**
 * An unchanged repository: no DescribeImages, no plan. The pins it had are still reported, so their last-seen times move
 * on (no grace ends early); the totals are the last full read's, and what expired since is counted at the next one.
 */
async function confirmUnchanged(deps: JanitorDeps, report: RepositoryRunReport, state: RepositoryState, verdict: Extract<ChangeVerdict, { skip: true }>): Promise<void> {
  const now = deps.clock.now();
  const pinsLastSeen = { ...state.pinsLastSeen };
  for (const digest of verdict.basis.pinned) if (pinsLastSeen[digest] !== undefined) pinsLastSeen[digest] = now;
  await deps.stateStore.save({ ...state, pinsLastSeen });
  report.unchanged = `unchanged since ${new Date(verdict.since).toISOString()}, confirmed by ${verdict.confirmedBy.join(', ')}`;
  report.pendingExpiry = { ...verdict.basis.totals.pending };
  report.protected = { ...verdict.basis.totals.protected };
  deps.log.info({ repository: report.repository, status: report.status, unchanged: report.unchanged }, `repository ${report.repository}: ok, ${report.unchanged}`);
}

/** Images, plus the manifests of their indexes: those already known (and still matching their digest) are not re-read. */
async function readInventory(
  registry: RegistryPort,
  repository: string,
  known: Record<string, string> | undefined,
  onProgress?: (m: string) => void,
): Promise<RepositoryInventory> {
  const images = await registry.describeImages(repository, (count) => onProgress?.(`${repository}: ${count} images read`));
  const manifests: Record<string, string> = {};
  const toFetch: string[] = [];
  for (const digest of manifestDigestsToFetch(images)) {
    const text = known?.[digest];
    if (text !== undefined && sha256Digest(text) === digest) manifests[digest] = text;
    else toFetch.push(digest);
  }
  const fetch = toFetch.length > 0 ? await registry.getManifests(repository, toFetch) : { manifests: {}, failures: {} };
  for (const [digest, manifest] of Object.entries(fetch.manifests)) manifests[digest] = manifest.text;
  return { repository, images, manifests, manifestFailures: fetch.failures };
}

async function loadState(
  store: StateStore,
  repository: string,
): Promise<{ state: RepositoryState | null; stateProblem?: string; distrusted?: StateIntegrityError }> {
  try {
    return { state: await store.load(repository) };
  } catch (error) {
    // Read as missing, which never shortens protection: a protection tag with no state behind it counts as pinned.
    if (error instanceof StateIntegrityError) return { state: null, distrusted: error };
    return { state: null, stateProblem: `run state unreadable (${(error as Error).message}); fix or remove it` };
  }
}

/** Changed or copied outside the janitor (a state without a checksum is an old version's and is simply rewritten). */
function isTampered(distrusted: StateIntegrityError | undefined): distrusted is StateIntegrityError {
  return distrusted !== undefined && distrusted.reason !== 'unchecked';
}

function reportDistrustedState(log: LogPort, repository: string, distrusted: StateIntegrityError): void {
  if (distrusted.reason !== 'unchecked') {
    log.error(
      { repository, stateCheck: distrusted.reason, err: distrusted.message },
      `run state of ${repository} failed its integrity check: read as missing, so every protection tag stays; the object is not overwritten`,
    );
  } else {
    log.warn({ repository, stateCheck: distrusted.reason, err: distrusted.message }, `run state of ${repository} has no checksum: read as missing and rewritten with one`);
  }
}

// Order matters: protection tags first, then the policy they make safe, then lapsed protection.
async function applyPlan(
  registry: RegistryPort,
  plan: RepositoryPlan,
  inventory: RepositoryInventory,
  report: RepositoryRunReport,
  config: JanitorConfig,
  replan?: () => Promise<RepositoryPlan | undefined>,
  policyUnknown = false,
): Promise<{ nextState: RepositoryState; policyWait?: PolicyWait }> {
  const { actions } = report;
  let nextState = plan.nextState;
  let policyWait: PolicyWait | undefined;
  const repository = plan.repository;
  if (plan.protectTags.add.length > 0) {
    const missing = plan.protectTags.add.map((a) => a.digest).filter((d) => inventory.manifests[d] === undefined);
    const adding = new Set(plan.protectTags.add.map((a) => a.digest));
    const records = new Map(inventory.images.filter((image) => adding.has(image.digest)).map((image) => [image.digest, image]));
    // A failed read here is a failed protection like any other: the hold below still goes in.
    let fetched: Awaited<ReturnType<RegistryPort['getManifests']>> = { manifests: {}, failures: {} };
    try {
      // Accept each image's own media type: an artifact we do not understand is still re-tagged with its own bytes.
      const ownTypes = new Set(missing.map((digest) => records.get(digest)?.manifestMediaType));
      ownTypes.delete(undefined);
      if (missing.length > 0) fetched = await registry.getManifests(repository, missing, [...ownTypes] as string[]);
    } catch (error) {
      const reason = `BatchGetImage failed: ${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message}`;
      for (const digest of missing) fetched.failures[digest] = reason;
    }
    for (const change of plan.protectTags.add) {
      const known = inventory.manifests[change.digest];
      const record = records.get(change.digest);
      const got = known !== undefined ? { text: known } : fetched.manifests[change.digest];
      // PutImage with the image's own manifest media type, so ECR tags the same image rather than refuse or convert it.
      const mediaType = got?.mediaType ?? record?.manifestMediaType;
      const manifest = got && mediaType !== undefined ? { ...got, mediaType } : got;
      if (!manifest) {
        actions.failures.push({ digest: change.digest, tag: change.tag, code: 'ManifestUnavailable', message: fetched.failures[change.digest] ?? 'manifest not returned' });
        continue;
      }
      try {
        await registry.putTag(repository, change.digest, manifest, change.tag);
        actions.tagsAdded += 1;
      } catch (error) {
        actions.failures.push(failureOf(error, change.digest, change.tag));
      }
    }
  }

  const protectionFailed = actions.failures.length > 0;
  if (plan.policy.action === 'hold') {
    // The hold expires nothing, so it needs no preview.
    await putHold(registry, plan.policy.desiredText, plan.policy.reason, report);
  } else if (protectionFailed) {
    if (plan.policy.action === 'install') {
      policyWait = { kind: 'protection-incomplete' };
      actions.notDone.push(policyWaitNote(policyWait));
    }
    const hold = holdAfterFailedProtection(plan, policyUnknown);
    if (hold && (await putHold(registry, hold.policyText, 'protection tags failed to go in', report))) nextState = hold.nextState;
  } else if (plan.policy.action === 'install') {
    policyWait = await installPolicy(registry, plan, report, config, replan);
  }

  if (plan.protectTags.remove.length > 0) {
    const result = await registry.deleteTags(repository, plan.protectTags.remove.map(({ digest, tag }) => ({ digest, tag })));
    actions.tagsRemoved += result.deleted.length;
    for (const failure of result.failures) {
      // Already gone is what we wanted; anything else is a real failure to report.
      if (failure.code === 'ImageNotFound') continue;
      actions.failures.push(failure);
    }
  }
  return { nextState, ...(policyWait ? { policyWait } : {}) };
}

/** Installs the plan's policy once ECR's own dry run, with the protection tags now in place, agrees with the plan. */
async function installPolicy(
  registry: RegistryPort,
  plan: RepositoryPlan,
  report: RepositoryRunReport,
  config: JanitorConfig,
  replan?: () => Promise<RepositoryPlan | undefined>,
): Promise<PolicyWait | undefined> {
  const { actions } = report;
  const repository = plan.repository;
  let wait: PolicyWait | undefined;
  try {
    // ECR's own dry run, with the protection tags now in place, has the last word before the policy goes in.
    const preview = await registry.previewLifecyclePolicy(repository, plan.policy.desiredText);
    const expiring = preview.expiring.map((e) => e.digest);
    const transitioning = (preview.transitioning ?? []).map((e) => e.digest);
    // A policy coming back after a hold was accepted before it: the backlog the hold kept is not held against the share.
    const maxExpireShare = plan.policy.resumesAfterHold ? 1 : config.maxExpireShare;
    const verdict = checkPreview(plan, expiring, maxExpireShare, transitioning);
    // The preview saw the repository later than our inventory. Ranks only move on with new pushes, so a plan from a
    // fresher inventory that agrees with this preview shows the disagreement was CI racing us, not ECR's semantics.
    const fresh = verdict.disagrees && replan ? await replan() : undefined;
    const judgement = judgeInstall(verdict, fresh, (freshPlan) => checkPreview(freshPlan, expiring, maxExpireShare, transitioning));
    if (judgement.kind === 'disagrees') {
      actions.failures.push({ code: 'PreviewDisagrees', message: judgement.message });
    } else if (judgement.kind === 'wait') {
      wait = judgement.wait;
    } else if (!(await policyUnchangedSince(registry, repository, plan.policy.currentText))) {
      // An overlapping run (newer pins) or a person changed it, e.g. put a hold in: never install over that.
      wait = { kind: 'policy-changed' };
    } else {
      await registry.putLifecyclePolicy(repository, plan.policy.desiredText);
      actions.policyInstalled = true;
    }
  } catch (error) {
    // Out of time with ECR still computing is not a failure: not installed tonight, the next run resumes the preview.
    if (!(error instanceof PreviewResumesNextRunError)) actions.failures.push(failureOf(error));
    else if (error.running) report.previewLeftRunning = true;
    // A preview that gave no answer (still running, EXPIRED, FAILED, another's) is never permission: say which.
    wait = error instanceof PreviewNotCompletedError ? { kind: 'preview-not-completed', reason: error.message } : { kind: 'install-failed' };
  }
  if (wait) actions.notDone.push(policyWaitNote(wait));
  return wait;
}

/** The policy in force is still the one the plan was made against (none, or the same rules). */
async function policyUnchangedSince(registry: RegistryPort, repository: string, planned: string | null): Promise<boolean> {
  const inForce = await registry.getLifecyclePolicy(repository);
  return planned === null || inForce === null ? planned === inForce : samePolicy(inForce, planned);
}

function withoutImageDetail(plan: RepositoryPlan): RepositoryPlan {
  const { lastInventory: _perImageBytes, indexManifests: _manifests, ...state } = plan.nextState;
  return { ...plan, images: [], nextState: state };
}

/** Replaces the installed policy with one that expires nothing; true when it went in. */
async function putHold(registry: RegistryPort, holdText: string, why: string, report: RepositoryRunReport): Promise<boolean> {
  try {
    await registry.putLifecyclePolicy(report.repository, holdText);
    report.actions.policyHeld = true;
    return true;
  } catch (error) {
    report.actions.failures.push(failureOf(error));
    report.actions.notDone.push(`put the lifecycle policy on hold (${why}): the put failed, so the installed policy still runs`);
    return false;
  }
}

function failureOf(error: unknown, digest?: string, tag?: string): WriteFailure {
  const e = error as { name?: string; message?: string };
  return { ...(digest ? { digest } : {}), ...(tag ? { tag } : {}), code: e.name ?? 'Error', message: e.message ?? String(error) };
}

function zero(): Amount {
  return { images: 0, bytes: 0 };
}

function add(a: Amount, b: Amount): Amount {
  return { images: a.images + b.images, bytes: a.bytes + b.bytes };
}

export function summarize(
  repositories: RepositoryRunReport[],
  startedAt: number,
  finishedAt: number,
  options: RunOptions,
  dryRun: boolean,
  apiCalls: Record<string, number>,
): RunReport {
  let reaped = zero();
  let pendingExpiry = zero();
  let protectedAmount = zero();
  let errors = 0;
  for (const r of repositories) {
    reaped = add(reaped, r.reaped);
    pendingExpiry = add(pendingExpiry, r.pendingExpiry);
    protectedAmount = add(protectedAmount, r.protected);
    errors += r.actions.failures.length + (r.status === 'failed' && r.actions.failures.length === 0 ? 1 : 0);
  }
  return {
    startedAt,
    finishedAt,
    mode: options.mode,
    dryRun,
    repositories,
    totals: {
      repositories: repositories.length,
      failed: repositories.filter((r) => r.status === 'failed').length,
      blocked: repositories.filter((r) => r.status === 'blocked').length,
      refused: repositories.filter((r) => r.status === 'refused').length,
      reaped,
      pendingExpiry,
      protected: protectedAmount,
      estimatedMonthlySavingsUsd: monthlyCostUsd(reaped.bytes, options.config.pricePerGbMonth),
      errors,
    },
    apiCalls,
  };
}
