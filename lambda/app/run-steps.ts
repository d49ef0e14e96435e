// The Step Functions orchestration's three steps (lib/orchestration.ts builds the state machine; README "Scaling"):
// list -> batches (a Distributed Map, one invocation per batch of repositories) -> aggregate. Each step is one Lambda
// invocation of the same bundle; they talk through small JSON objects under runs/<runId>/ in the state bucket, so no
// payload grows with the account (Step Functions caps a state's input and output at 256 KiB).
import { sha256Hex } from '../domain/digest.js';
import type { JanitorConfig } from '../domain/types.js';
import type { StalePinPublisher } from './ports.js';
import type { RepositoryRunReport, RunReport } from './report-types.js';
import { type JanitorDeps, publishRun, type RunCounters, runCounters, runJanitor, selectRepositories, summarize, type UnsureRepository } from './run-janitor.js';
import { largestFirst, sizesFromState } from './schedule-repositories.js';

/** Where the steps keep their hand-over objects (the state bucket; a lifecycle rule expires them). */
export interface RunStepStore {
  /** The bucket the state machine's ItemReader reads the repository list from. */
  readonly bucket: string;
  put(key: string, text: string): Promise<void>;
  /** Throws when the object does not exist. */
  get(key: string): Promise<string>;
}

export type StepDeps = JanitorDeps & { runStore: RunStepStore };

export const STEP_NAMES = ['list', 'batch', 'aggregate'] as const;
export type StepName = (typeof STEP_NAMES)[number];

export type StepEvent =
  | { step: 'list'; runId: string }
  | { step: 'batch'; runId: string; repositories: string[] }
  | { step: 'aggregate'; runId: string; batches: unknown[] };

/** What a step returns besides the run counters (lambda/handler.ts HandlerResult.step); the state machine reads it. */
export interface StepOutput {
  name: StepName;
  runId: string;
  /** list: the state bucket and the key of the JSON array of repository names the Map reads (ItemReader). */
  bucket?: string;
  itemsKey?: string;
  /** batch: the key of its per-repository results, for the aggregate step. */
  resultKey?: string;
  /** Repositories this step listed, ran or reported. */
  repositories: number;
}

/** Counters of what a step did, in the handler's result shape. */
export interface StepResult extends RunCounters {
  step: StepOutput;
}

/** What the list step leaves for the batches and the aggregate. */
interface ListRecord {
  runId: string;
  startedAt: number;
  repositories: string[];
  /** Repositories handled as failed, with why (their opt-in tag or the listing itself could not be read). */
  unsure: Record<string, UnsureRepository>;
}

/** What one batch leaves for the aggregate: per-repository results without per-image detail. */
interface BatchRecord {
  runId: string;
  repositories: RepositoryRunReport[];
  apiCalls: Record<string, number>;
  stalePins?: StalePinPublisher[];
}

// An execution name becomes part of an S3 key: keep it to characters that cannot climb out of runs/<runId>/.
const RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,79}$/;
const SHAPES = 'expected {"step": "list", "runId": ...}, {"step": "batch", "runId": ..., "repositories": [...]} or {"step": "aggregate", "runId": ..., "batches": [...]}';

export function runPrefix(runId: string): string {
  return `runs/${runId}/`;
}

export function itemsKeyOf(runId: string): string {
  return `${runPrefix(runId)}repositories.json`;
}

function listKeyOf(runId: string): string {
  return `${runPrefix(runId)}list.json`;
}

/** One key per set of repositories: a retried batch overwrites its own result, never another's. */
export function batchKeyOf(runId: string, repositories: readonly string[]): string {
  const hash = sha256Hex(JSON.stringify([...repositories].sort())).slice(0, 32);
  return `${runPrefix(runId)}batches/${hash}.json`;
}

/**
 * A step event, or undefined when `event` is not one (no `step` field). A `step` field makes it one: anything wrong
 * with it then throws before anything is read or written, naming the field.
 */
export function parseStepEvent(event: unknown): StepEvent | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event) || !('step' in event)) return undefined;
  const record = event as Record<string, unknown>;
  const { step, runId } = record;
  if (typeof step !== 'string' || !(STEP_NAMES as readonly string[]).includes(step)) {
    throw new Error(`event.step: unknown step ${JSON.stringify(step)}; expected one of ${STEP_NAMES.map((s) => `"${s}"`).join(', ')}; nothing was done`);
  }
  const allowed: Record<StepName, string[]> = { list: ['step', 'runId'], batch: ['step', 'runId', 'repositories'], aggregate: ['step', 'runId', 'batches'] };
  const unknown = Object.keys(record).filter((key) => !allowed[step as StepName].includes(key));
  if (unknown.length > 0) throw new Error(`event.${unknown[0]}: unknown field for step "${step}"; ${SHAPES}; nothing was done`);
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) {
    throw new Error(`event.runId must be the execution name (1-80 letters, digits, _ . -), got ${JSON.stringify(runId)}; nothing was done`);
  }
  if (step === 'list') return { step, runId };
  if (step === 'batch') {
    const { repositories } = record;
    if (!Array.isArray(repositories) || repositories.length === 0 || repositories.some((r) => typeof r !== 'string' || r === '')) {
      throw new Error('event.repositories must be a non-empty list of repository names (the Map\'s batch of items); nothing was done');
    }
    return { step, runId, repositories: [...new Set(repositories as string[])] };
  }
  const { batches } = record;
  if (!Array.isArray(batches)) throw new Error('event.batches must be the Map state\'s output (a list, one entry per batch); nothing was done');
  return { step: 'aggregate', runId, batches };
}

export async function runStep(deps: StepDeps, config: JanitorConfig, event: StepEvent): Promise<StepResult> {
  if (event.step === 'list') return listStep(deps, config, event.runId);
  if (event.step === 'batch') return batchStep(deps, config, event.runId, event.repositories);
  return aggregateStep(deps, config, event.runId, event.batches);
}

/** The managed repositories, largest first (sizes from run state), written for the Map's ItemReader. */
async function listStep(deps: StepDeps, config: JanitorConfig, runId: string): Promise<StepResult> {
  const startedAt = deps.clock.now();
  const { names, unsure } = await selectRepositories(deps.registry, deps.stateStore, deps.log, { config, mode: 'run' });
  const sizes = names.length > 1 ? await sizesFromState(deps.stateStore, names, config.concurrency ?? 8) : new Map<string, number>();
  const ordered = largestFirst(names, sizes);
  const record: ListRecord = { runId, startedAt, repositories: ordered, unsure: Object.fromEntries(unsure) };
  // The list record first: a batch reads it, so it must exist before the Map can start one.
  await deps.runStore.put(listKeyOf(runId), JSON.stringify(record));
  await deps.runStore.put(itemsKeyOf(runId), JSON.stringify(ordered));
  deps.log.info({ runId, repositories: ordered.length, unsure: unsure.size }, `ecr-janitor list: ${ordered.length} repositories for run ${runId}`);
  return {
    ...zeroCounters(ordered.length),
    step: { name: 'list', runId, bucket: deps.runStore.bucket, itemsKey: itemsKeyOf(runId), repositories: ordered.length },
  };
}

/** runJanitor over one batch, without run-level metrics or report; results go to the store for the aggregate. */
async function batchStep(deps: StepDeps, config: JanitorConfig, runId: string, repositories: string[]): Promise<StepResult> {
  const list = await readList(deps.runStore, runId);
  const listed = new Set(list.repositories);
  const strangers = repositories.filter((name) => !listed.has(name));
  if (strangers.length > 0) throw new Error(`event.repositories: ${strangers.join(', ')} not in the list of run ${runId}; nothing was done`);
  const unsure = new Map(repositories.filter((name) => list.unsure[name] !== undefined).map((name) => [name, list.unsure[name]!] as const));
  const report = await runJanitor(deps, {
    config,
    mode: 'run',
    dryRun: config.dryRun,
    retainImageDecisions: false,
    repositories,
    unsure,
    publish: false,
  });
  const resultKey = batchKeyOf(runId, repositories);
  const record: BatchRecord = {
    runId,
    repositories: report.repositories.map(compactReport),
    apiCalls: report.apiCalls,
    ...(report.stalePins ? { stalePins: report.stalePins } : {}),
  };
  await deps.runStore.put(resultKey, JSON.stringify(record));
  return { ...runCounters(report), step: { name: 'batch', runId, resultKey, repositories: report.totals.repositories } };
}

/**
 * One run report and one set of metrics for the whole run. A listed repository without a result (its batch failed or
 * timed out) counts as failed: nothing is known of what happened there. Throws after publishing when any repository
 * failed, was blocked or refused, so the execution ends FAILED and its alarm fires.
 */
async function aggregateStep(deps: StepDeps, config: JanitorConfig, runId: string, batches: unknown[]): Promise<StepResult> {
  const list = await readList(deps.runStore, runId);
  const byRepository = new Map<string, RepositoryRunReport>();
  const apiCalls: Record<string, number> = {};
  const stale = new Map<string, StalePinPublisher>();
  const batchFailures: string[] = [];
  for (const [index, batch] of batches.entries()) {
    const resultKey = resultKeyOf(batch, runId);
    if (resultKey === undefined) {
      batchFailures.push(describeFailedBatch(batch, index));
      continue;
    }
    const record = JSON.parse(await deps.runStore.get(resultKey)) as BatchRecord;
    if (record.runId !== runId) throw new Error(`${resultKey} belongs to run ${record.runId}, not ${runId}`);
    for (const repository of record.repositories) byRepository.set(repository.repository, repository);
    for (const [operation, count] of Object.entries(record.apiCalls)) apiCalls[operation] = (apiCalls[operation] ?? 0) + count;
    for (const publisher of record.stalePins ?? []) stale.set(publisher.publisher, publisher);
  }
  const missing = list.repositories.filter((name) => !byRepository.has(name));
  const why = batchFailures.length > 0 ? ` (${batchFailures.slice(0, 3).join('; ')})` : '';
  const reports = list.repositories.map((name) => byRepository.get(name) ?? missingReport(name, `no result: its batch failed or timed out${why}; what it did there is unknown, the next run looks again`));
  const dryRun = config.dryRun;
  const report: RunReport = summarize(reports, list.startedAt, deps.clock.now(), { config, mode: 'run' }, dryRun, apiCalls);
  if (stale.size > 0) report.stalePins = [...stale.values()];
  if (list.repositories.length === 0) {
    const { include, exclude, tag } = config.repositories;
    report.noRepositories = `the config manages none of the registry's repositories (include ${JSON.stringify(include)}, exclude ${JSON.stringify(exclude)}${tag ? `, tag ${tag.key}=${tag.value}` : ''}): nothing was done`;
    deps.log.error({ include, exclude }, report.noRepositories);
  }
  deps.log.info(
    { summary: report.totals, apiCalls: report.apiCalls, dryRun, mode: 'run', runId, batches: batches.length, failedBatches: batchFailures.length },
    `ecr-janitor run: ${report.totals.repositories} repositories, ${report.totals.failed} failed, ${report.totals.blocked} blocked, ${report.totals.refused} refused`,
  );
  await publishRun(deps, report);
  const notClean = report.repositories.filter((r) => r.status !== 'ok');
  if (notClean.length > 0 || missing.length > 0) {
    const named = notClean.slice(0, 5).map((r) => `${r.repository} ${r.status}: ${r.error ?? r.blocked ?? r.refused ?? ''}`);
    const error = new Error(
      `run ${runId}: ${report.totals.failed} failed, ${report.totals.blocked} blocked, ${report.totals.refused} refused of ${report.totals.repositories} repositories` +
        `${missing.length > 0 ? ` (${missing.length} without a result from ${batchFailures.length} failed batch(es))` : ''}; the report and metrics are published: ${named.join('; ')}`,
    );
    error.name = 'JanitorRunNotClean';
    throw error;
  }
  return { ...runCounters(report), step: { name: 'aggregate', runId, repositories: report.totals.repositories } };
}

async function readList(store: RunStepStore, runId: string): Promise<ListRecord> {
  let text: string;
  try {
    text = await store.get(listKeyOf(runId));
  } catch (error) {
    throw new Error(`run ${runId} has no list (${listKeyOf(runId)}: ${(error as Error).message}); the list step runs first`);
  }
  const record = JSON.parse(text) as ListRecord;
  if (record.runId !== runId || !Array.isArray(record.repositories)) throw new Error(`${listKeyOf(runId)} is not the list of run ${runId}`);
  const unsure: unknown = record.unsure;
  const wellFormed = (value: unknown) => {
    const entry = value as Partial<UnsureRepository> | null;
    return typeof entry === 'object' && entry !== null && (entry.stage === 'repository listing' || entry.stage === 'repository tag read') && typeof entry.reason === 'string';
  };
  if (typeof unsure !== 'object' || unsure === null || !Object.values(unsure).every(wellFormed)) {
    throw new Error(`${listKeyOf(runId)}: unsure must map repository names to {stage, reason}; the list step writes it, run it again`);
  }
  return record;
}

/** A batch's result key, only under this run's prefix (a Map entry never makes the aggregate read elsewhere). */
function resultKeyOf(batch: unknown, runId: string): string | undefined {
  if (typeof batch !== 'object' || batch === null) return undefined;
  const key = (batch as { resultKey?: unknown }).resultKey;
  return typeof key === 'string' && key.startsWith(`${runPrefix(runId)}batches/`) && !key.includes('..') ? key : undefined;
}

function describeFailedBatch(batch: unknown, index: number): string {
  const record = typeof batch === 'object' && batch !== null ? (batch as Record<string, unknown>) : {};
  const error = typeof record.Error === 'string' ? record.Error : 'no result';
  const cause = typeof record.Cause === 'string' ? `: ${record.Cause.slice(0, 200)}` : '';
  return `batch ${index + 1}: ${error}${cause}`;
}

function missingReport(repository: string, error: string): RepositoryRunReport {
  return {
    repository,
    status: 'failed',
    error,
    reaped: { images: 0, bytes: 0 },
    pendingExpiry: { images: 0, bytes: 0 },
    expireNow: { images: 0, bytes: 0 },
    protected: { images: 0, bytes: 0 },
    actions: { tagsAdded: 0, tagsRemoved: 0, policyInstalled: false, policyHeld: false, failures: [], notDone: ['everything: no result came back from its batch'] },
  };
}

/** What the run report needs of a repository: its outcome and protection changes, no image decisions or state. */
export function compactReport(report: RepositoryRunReport): RepositoryRunReport {
  if (!report.plan) return report;
  const { plan } = report;
  return { ...report, plan: { ...plan, images: [], nextState: { repository: plan.repository, pinsLastSeen: {} } } };
}


function zeroCounters(repositories: number): Omit<StepResult, 'step'> {
  return { repositories, failed: 0, blocked: 0, refused: 0, reapedImages: 0, reapedBytes: 0, estimatedMonthlySavingsUsd: 0 };
}
