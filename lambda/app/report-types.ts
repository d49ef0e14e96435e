// What one janitor run did, per repository and in total: logged as JSON, published as EMF metrics, printed by the CLI.
import type { Amount } from '../domain/report.js';
import type { RepositoryPlan } from '../domain/types.js';
import type { StalePinPublisher, WriteFailure } from './ports.js';

export type { Amount };

export interface RepositoryRunReport {
  repository: string;
  /**
   * ok: done; blocked: no destructive action (reason in `blocked`); refused: the policy was not installed (reason in
   * `refused`), so the repository is not cleaned as configured; failed: an error stopped this repository.
   */
  status: 'ok' | 'blocked' | 'refused' | 'failed';
  error?: string;
  blocked?: string;
  refused?: string;
  plan?: RepositoryPlan;
  /** Set when the repository was confirmed unchanged instead of read (domain/change-check.ts): since when, and by what. */
  unchanged?: string;
  /** The policy's preview was still running in ECR when the invocation had to end; the next run adopts it. */
  previewLeftRunning?: boolean;
  /** Images present at the previous run and gone now, with the bytes the previous inventory gave them. */
  reaped: Amount;
  pendingExpiry: Amount;
  expireNow: Amount;
  protected: Amount;
  actions: {
    tagsAdded: number;
    tagsRemoved: number;
    policyInstalled: boolean;
    /** The installed policy was replaced by one that expires nothing until protection is complete. */
    policyHeld: boolean;
    failures: WriteFailure[];
    /** Planned actions that were not carried out (dry run, caps, an earlier failure), each with why. */
    notDone: string[];
  };
}

export interface RunReport {
  startedAt: number;
  finishedAt: number;
  mode: 'plan' | 'run';
  dryRun: boolean;
  repositories: RepositoryRunReport[];
  totals: {
    repositories: number;
    failed: number;
    blocked: number;
    refused: number;
    reaped: Amount;
    pendingExpiry: Amount;
    protected: Amount;
    /** reaped bytes priced at the configured $/GB-month (GB = 2^30 bytes). */
    estimatedMonthlySavingsUsd: number;
    errors: number;
  };
  apiCalls: Record<string, number>;
  /** Set when the config manages none of the repositories there are (or were named): nothing was done, and says why. */
  noRepositories?: string;
  /** Organization pins publishers that stopped publishing: their last pins stay protected until a person looks. */
  stalePins?: StalePinPublisher[];
}
