// Pipelined lifecycle policy previews: many repositories start their preview, ONE loop polls them all, and each
// repository goes on (checks the result, installs its policy) as soon as its own preview is COMPLETE. A worker never
// sleeps on a preview, so ECR computing 1,000 previews costs about one preview's duration, not 1,000 of them.
// Safety is unchanged: an answer that is not COMPLETE for our text is never permission (PreviewNotCompletedError).
import { type PolicyPreview, PreviewNotCompletedError } from './ports.js';

/** One read of the repository's latest preview (GetLifecyclePolicyPreview, every result page when COMPLETE). */
export type PreviewRead =
  | { status: 'in-progress'; /** the running preview is of our policy text */ ours: boolean }
  | { status: 'complete'; preview: PolicyPreview }
  /** The latest preview is someone else's and no longer running: ours may start. */
  | { status: 'another-policy'; detail: string };

/** The adapter's halves of a preview (lambda/adapters/ecr-registry.ts). */
export interface PreviewSteps {
  /** StartLifecyclePolicyPreview; 'busy' when another preview of the repository still runs. */
  startLifecyclePolicyPreview(repository: string, policyText: string): Promise<'started' | 'busy'>;
  /** Throws PreviewNotCompletedError for EXPIRED, FAILED, or a COMPLETE answer that is not for our text. */
  readLifecyclePolicyPreview(repository: string, policyText: string): Promise<PreviewRead>;
}

/**
 * The invocation must end before the preview answered. Not a failure: nothing was installed (never permission), the
 * preview keeps running in ECR, and the next run adopts it when it is still running for the same policy text.
 */
export class PreviewResumesNextRunError extends PreviewNotCompletedError {
  /** `running`: ECR accepted our Start, so a preview of our text keeps running (the run state records it). */
  constructor(
    message: string,
    readonly running = false,
  ) {
    super(message);
    this.name = 'PreviewResumesNextRun';
  }
}

export interface PreviewPipelineOptions {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** First wait before polling a preview while no preview has completed yet; doubles up to maxPollMs. */
  firstPollMs?: number;
  maxPollMs?: number;
  /** Longest wait for one preview (someone else's running preview included) before giving up for tonight. */
  timeoutMs?: number;
  /** When the invocation must be done (clock ms): a preview still running then is left for the next run. */
  deadline?: number;
  /** Polls sent at once by the loop. */
  pollConcurrency?: number;
}

interface Pending {
  repository: string;
  policyText: string;
  phase: 'starting' | 'running';
  startedAt: number;
  since: number;
  nextPollAt: number;
  delay: number;
  polls: number;
  /** A read of it is in flight (the loop does not send another). */
  inPoll: boolean;
  resolve: (preview: PolicyPreview) => void;
  reject: (error: Error) => void;
}

const DEFAULT_FIRST_POLL_MS = 1_000;
const DEFAULT_MAX_POLL_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** How many completed previews the first-poll estimate remembers. */
const DURATIONS_KEPT = 25;

export class PreviewPipeline {
  private readonly pending = new Map<string, Pending>();
  /** Time from Start to the first COMPLETE read of recent previews: the first poll waits about that long. */
  private readonly durations: number[] = [];
  private looping = false;
  /** Wakes the loop's sleep early when a preview that is due sooner starts. */
  private wake?: () => void;
  private sleepingUntil = Infinity;
  /** Reads in flight. */
  private inPoll = 0;
  private readonly firstPollMs: number;
  private readonly maxPollMs: number;
  private readonly timeoutMs: number;
  private readonly pollConcurrency: number;
  /** Polls of previews (GetLifecyclePolicyPreview first pages) the loop made; for the bench. */
  polls = 0;

  constructor(
    private readonly steps: PreviewSteps,
    private readonly options: PreviewPipelineOptions,
  ) {
    this.firstPollMs = options.firstPollMs ?? DEFAULT_FIRST_POLL_MS;
    this.maxPollMs = options.maxPollMs ?? DEFAULT_MAX_POLL_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pollConcurrency = options.pollConcurrency ?? 8;
  }

  /** Starts the preview and resolves with its result once the loop sees it COMPLETE. */
  async preview(repository: string, policyText: string): Promise<PolicyPreview> {
    if (this.pending.has(repository)) throw new Error(`a preview of ${repository} is already pending in this run`);
    const now = this.options.now();
    if (this.options.deadline !== undefined && now >= this.options.deadline) {
      throw new PreviewResumesNextRunError(`the lifecycle policy preview of ${repository} was not started: the invocation had to end; policy not installed this run, the next run does it`);
    }
    const result = new Promise<PolicyPreview>((resolve, reject) => {
      this.pending.set(repository, { repository, policyText, phase: 'starting', startedAt: now, since: now, nextPollAt: Infinity, delay: this.firstPollMs, polls: 0, inPoll: false, resolve, reject });
    });
    // Settled by the loop, maybe before the caller awaits it: never an unhandled rejection.
    result.catch(() => {});
    const entry = this.pending.get(repository)!;
    try {
      await this.start(entry);
    } catch (error) {
      this.settle(entry, error as Error);
    }
    void this.loop();
    return result;
  }

  private async start(entry: Pending): Promise<void> {
    const outcome = await this.steps.startLifecyclePolicyPreview(entry.repository, entry.policyText);
    const now = this.options.now();
    if (outcome === 'started') {
      entry.phase = 'running';
      entry.startedAt = now;
      entry.delay = this.firstPollMs;
      // Until one preview has completed nobody knows how long they take: one scout polls, the others wait for it.
      const scouting = this.durations.length === 0 && [...this.pending.values()].some((p) => p !== entry && p.phase === 'running' && p.nextPollAt !== Infinity);
      entry.nextPollAt = scouting ? Infinity : now + this.expectedDuration();
      if (entry.nextPollAt < this.sleepingUntil) this.wake?.();
    } else {
      // Another preview runs (maybe ours from an invocation that had to end): read it; polling moves it on.
      entry.nextPollAt = now;
    }
  }

  /** The first poll waits as long as recent previews took, so a typical preview is read once, when it is done. */
  private expectedDuration(): number {
    if (this.durations.length === 0) return this.firstPollMs;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return Math.max(1, sorted[Math.floor(sorted.length / 2)]!);
  }

  private async loop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      while (this.pending.size > 0) {
        const now = this.options.now();
        const running = [...this.pending.values()].filter((p) => p.phase === 'running');
        if (running.length > 0 && running.every((p) => p.nextPollAt === Infinity && !p.inPoll)) {
          // The scout ended without a duration (EXPIRED, FAILED...): the oldest waiting preview scouts now.
          running.reduce((a, b) => (b.startedAt < a.startedAt ? b : a)).nextPollAt = now;
        }
        const due = [...this.pending.values()].filter((p) => !p.inPoll && p.nextPollAt <= now);
        if (due.length > 0 && this.inPoll < this.pollConcurrency) {
          // Each poll on its own: a big preview's result pages (one call per 100 images) never hold the others back.
          for (const entry of due.slice(0, this.pollConcurrency - this.inPoll)) void this.pollThenWake(entry);
          continue;
        }
        const next = due.length > 0 ? Infinity : Math.min(...[...this.pending.values()].filter((p) => !p.inPoll).map((p) => p.nextPollAt));
        // Nothing due: only previews being started or polled, and each of those calls the loop again when it is done.
        if (next === Infinity && this.inPoll === 0) return;
        if (this.options.deadline !== undefined && next !== Infinity && next > this.options.deadline) {
          this.giveUpAtDeadline();
          continue;
        }
        this.sleepingUntil = next;
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        await (next === Infinity ? woken : Promise.race([this.options.sleep(next - now), woken]));
        this.sleepingUntil = Infinity;
        this.wake = undefined;
      }
    } finally {
      this.looping = false;
    }
  }

  private async pollThenWake(entry: Pending): Promise<void> {
    entry.inPoll = true;
    this.inPoll += 1;
    try {
      await this.poll(entry);
    } finally {
      entry.inPoll = false;
      this.inPoll -= 1;
      this.wake?.();
      void this.loop();
    }
  }

  private giveUpAtDeadline(): void {
    for (const entry of [...this.pending.values()]) {
      this.settle(
        entry,
        new PreviewResumesNextRunError(
          `the lifecycle policy preview of ${entry.repository} was still ${entry.phase === 'running' ? 'IN_PROGRESS' : 'starting or waiting for another preview'} when the invocation had to end; ` +
            'policy not installed this run, the next run resumes it',
          entry.phase === 'running',
        ),
      );
    }
  }

  private async poll(entry: Pending): Promise<void> {
    const { repository, policyText } = entry;
    try {
      entry.polls += 1;
      this.polls += 1;
      // When the read was sent: a COMPLETE answer's result pages take a call each, which is not the preview's duration.
      const sentAt = this.options.now();
      const read = await this.steps.readLifecyclePolicyPreview(repository, policyText);
      // Given up meanwhile (the invocation had to end): nothing more is started or read for it.
      if (this.pending.get(repository) !== entry) return;
      const now = this.options.now();
      if (read.status === 'complete') {
        if (entry.phase !== 'running') {
          // A COMPLETE preview of our text we did not start tonight: start our own, on tonight's tags.
          await this.start(entry);
          return;
        }
        this.durations.push(sentAt - entry.startedAt);
        if (this.durations.length > DURATIONS_KEPT) this.durations.shift();
        // Those waiting for the scout: each is read once it has run about as long.
        for (const waiting of this.pending.values()) {
          if (waiting.phase === 'running' && waiting.nextPollAt === Infinity) waiting.nextPollAt = waiting.startedAt + this.expectedDuration();
        }
        this.settle(entry, undefined, read.preview);
        return;
      }
      if (read.status === 'another-policy') {
        if (entry.phase === 'running') throw this.notTonight(entry, 'is for another policy text (a concurrent preview?)');
        await this.start(entry);
        return;
      }
      if (entry.phase === 'starting' && read.ours) {
        // Ours, still running from an invocation that had to end: adopt it rather than wait for it and start again.
        entry.phase = 'running';
      }
      if (now - entry.since + entry.delay > this.timeoutMs) {
        throw this.notTonight(entry, `was still ${entry.phase === 'running' ? 'IN_PROGRESS' : 'blocked by another preview'} after ${Math.round(this.timeoutMs / 1000)} s`);
      }
      // Once some previews have completed, poll when this one should be done rather than on the doubling delays.
      const expectedAt = entry.phase === 'running' && this.durations.length > 0 ? entry.startedAt + this.expectedDuration() : 0;
      entry.nextPollAt = expectedAt > now ? Math.min(expectedAt, now + entry.delay) : now + entry.delay;
      entry.delay = Math.min(this.maxPollMs, entry.delay * 2);
    } catch (error) {
      this.settle(entry, error as Error);
    }
  }

  private notTonight(entry: Pending, why: string): PreviewNotCompletedError {
    return new PreviewNotCompletedError(`the lifecycle policy preview of ${entry.repository} ${why}; policy not installed this run`);
  }

  private settle(entry: Pending, error: Error | undefined, preview?: PolicyPreview): void {
    if (this.pending.get(entry.repository) !== entry) return;
    this.pending.delete(entry.repository);
    if (error) entry.reject(error);
    else entry.resolve(preview!);
  }
}
