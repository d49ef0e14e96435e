// The Lambda's throughput wiring: reads and writes on two ECR clients (each with its own adaptive retry), the write
// token buckets, the memory-sized scheduler, and the preview pipeline bounded by the invocation's remaining time.
import { PreviewPipeline } from '../app/preview-pipeline.js';
import type { RegistryPort } from '../app/ports.js';
import { limitsForMemory, RepositoryScheduler, type ScheduleLimits } from '../app/schedule-repositories.js';
import type { Throughput } from '../app/throughput.js';
import type { JanitorConfig } from '../domain/types.js';
import type { EcrRegistry } from './ecr-registry.js';
import { withWriteStream, type WriteRates } from './write-limiter.js';

/** Time left for the invocation's last writes and its state saves once the preview pipeline stops waiting. */
export const FINISH_MARGIN_MS = 60_000;
/** Lambda's default when AWS_LAMBDA_FUNCTION_MEMORY_SIZE is unset (and what the construct deploys). */
const DEFAULT_MEMORY_MB = 1024;

export interface ThroughputWiring {
  reads: EcrRegistry;
  /** A registry on its own ECR client, for PutImage and BatchDeleteImage only. */
  writes: RegistryPort;
  config: JanitorConfig;
  /** The function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE). */
  memoryMb?: number;
  /** Clock ms by which the invocation must be done (now + getRemainingTimeInMillis()). */
  endsAt?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  writeRates?: Partial<WriteRates>;
  previewFirstPollMs?: number;
}

export function scheduleLimits(config: JanitorConfig, memoryMb: number | undefined): ScheduleLimits {
  const limits = limitsForMemory(memoryMb !== undefined && Number.isFinite(memoryMb) && memoryMb >= 128 ? memoryMb : DEFAULT_MEMORY_MB);
  return config.concurrency !== undefined ? { ...limits, concurrency: config.concurrency } : limits;
}

export function wireThroughput(wiring: ThroughputWiring): { registry: RegistryPort; throughput: Throughput } {
  const now = wiring.now ?? Date.now;
  const sleep = wiring.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const scheduler = new RepositoryScheduler(scheduleLimits(wiring.config, wiring.memoryMb));
  const previews = new PreviewPipeline(wiring.reads, {
    now,
    sleep,
    ...(wiring.endsAt !== undefined ? { deadline: wiring.endsAt - FINISH_MARGIN_MS } : {}),
    ...(wiring.previewFirstPollMs !== undefined ? { firstPollMs: wiring.previewFirstPollMs } : {}),
  });
  const registry = withWriteStream(wiring.reads, wiring.writes, {
    now,
    sleep,
    whileWaiting: (wait) => scheduler.whileWaiting(wait),
    // The config's PutImage rate, unless the caller gives the rates (the handler: the config's rate shared by batches).
    rates: { ...(wiring.config.putImagePerSecond !== undefined ? { putImagePerSecond: wiring.config.putImagePerSecond } : {}), ...wiring.writeRates },
  });
  return { registry, throughput: { scheduler, previews } };
}
