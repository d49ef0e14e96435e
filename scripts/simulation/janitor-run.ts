// One janitor run in one account, wired as the Lambda is: the real ECR adapter over an SDK client configured as in
// production (adaptive retries, 8 attempts) pointed at the emulator, deployments as an ECS-like pin source, file state,
// the emulator's clock. Fault scenarios wrap the registry port or the state store.
import { createEcrRegistry, type EcrClientOptions, makeEcrClient } from '../../lambda/adapters/ecr-registry.js';
import { createFileStateStore } from '../../lambda/adapters/state-file.js';
import type { Clock, RegistryPort, StateStore } from '../../lambda/app/ports.js';
import type { RunReport } from '../../lambda/app/report-types.js';
import { type LogPort, runJanitor } from '../../lambda/app/run-janitor.js';
import { parseConfig } from '../../lambda/domain/config.js';
import type { JanitorConfig } from '../../lambda/domain/types.js';
import type { Account } from './world.js';

/** The janitor's config in the simulation: what the README recommends for this workload. */
export function simulationConfig(pinGraceDays = 7): JanitorConfig {
  return parseConfig(
    {
      untaggedExpireDays: 3,
      ciTags: [{ pattern: 'ci-*', keep: 25 }],
      protectedTags: ['buildcache', 'v*'],
      pins: { ecs: false, lambda: false },
      pinGraceDays,
    },
    'simulation',
  );
}

/** What people write by hand: expire untagged after 3 days, keep the 25 newest `ci` images. No pin protection. */
export const NAIVE_POLICY_TEXT = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'expire untagged images after 3 days',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: 'keep the 25 newest CI images',
      selection: { tagStatus: 'tagged', tagPrefixList: ['ci'], countType: 'imageCountMoreThan', countNumber: 25 },
      action: { type: 'expire' },
    },
  ],
});

export interface JanitorRunHooks {
  wrapRegistry?: (registry: RegistryPort) => RegistryPort;
  wrapStateStore?: (store: StateStore) => StateStore;
  /** The janitor's clock; the emulator's by default. */
  clock?: Clock;
}

/**
 * The janitor's SDK retries: `adaptive` as in production (makeEcrClient: 8 attempts, client-side rate limiting after
 * throttling, which is real waiting), or a strategy made for each run, e.g. the SDK's standard one with zero backoff
 * for short tests (test/support/retries.ts: the same attempts and retry decisions, no waiting).
 */
export type RetryMode = 'adaptive' | (() => NonNullable<EcrClientOptions['retryStrategy']>);

export interface LogCounts {
  warn: number;
  error: number;
  lastError?: string;
}

export async function runJanitorIn(
  account: Account,
  config: JanitorConfig,
  mode: 'plan' | 'run' = 'run',
  hooks: JanitorRunHooks = {},
  logCounts?: LogCounts,
  retryMode: RetryMode = 'adaptive',
): Promise<RunReport> {
  const connection = { endpoint: account.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const client = makeEcrClient({ ...connection, ...(retryMode === 'adaptive' ? { maxAttempts: 8 } : { retryStrategy: retryMode() }) });
  const log: LogPort = {
    info() {},
    warn() {
      if (logCounts) logCounts.warn += 1;
    },
    error(_fields, message) {
      if (!logCounts) return;
      logCounts.error += 1;
      logCounts.lastError = message;
    },
  };
  try {
    const registry = createEcrRegistry(client, { previewPollMs: 0 });
    const stateStore = createFileStateStore(account.stateDir);
    return await runJanitor(
      {
        registry: hooks.wrapRegistry ? hooks.wrapRegistry(registry) : registry,
        pinSources: [{ name: 'ecs', discover: async () => account.workload.pins() }],
        stateStore: hooks.wrapStateStore ? hooks.wrapStateStore(stateStore) : stateStore,
        clock: hooks.clock ?? { now: () => account.emulator.now() },
        log,
      },
      { config, mode },
    );
  } finally {
    client.destroy();
  }
}

export function apiCallsOf(report: RunReport): number {
  return Object.values(report.apiCalls).reduce((sum, n) => sum + n, 0);
}
