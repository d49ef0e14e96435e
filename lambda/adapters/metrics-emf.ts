// CloudWatch Embedded Metric Format: JSON log lines CloudWatch turns into metrics, no PutMetricData call needed.
// Names and units are the contract the CDK dashboard and alarms read (lambda/app/metric-names.ts).
import { METRIC_NAMESPACE, REPOSITORY_DIMENSION, type RepositoryMetric, STACK_DIMENSION, type TotalMetric } from '../app/metric-names.js';
import type { Invocation, MetricsSink } from '../app/ports.js';
import type { RepositoryRunReport, RunReport } from '../app/report-types.js';

export interface EmfOptions {
  namespace?: string;
  /** Per-repository lines are capped to keep metric cardinality (and cost) low. */
  maxRepositoryDimensions?: number;
  /** Stack name: adds the Stack dimension to every metric (see STACK_DIMENSION). */
  stack?: string;
}

type Unit = 'Count' | 'Bytes' | 'None';

export const DEFAULT_NAMESPACE = METRIC_NAMESPACE;
const DEFAULT_MAX_REPOSITORY_DIMENSIONS = 100;

export function createEmfMetricsSink(writeLine: (line: string) => void, options: EmfOptions = {}): MetricsSink {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const cap = options.maxRepositoryDimensions ?? DEFAULT_MAX_REPOSITORY_DIMENSIONS;
  return {
    publish(report, invocation) {
      for (const line of emfLines(report, namespace, cap, options.stack, invocation)) writeLine(JSON.stringify(line));
    },
  };
}

/** The EMF documents for one run: totals first, then one per reported repository. */
export function emfLines(report: RunReport, namespace: string, maxRepositoryDimensions: number, stack?: string, invocation?: Invocation): object[] {
  const reported = repositoriesToReport(report.repositories, maxRepositoryDimensions);
  const stackDimension = stack ? [STACK_DIMENSION] : [];
  const stackProperty = stack ? { [STACK_DIMENSION]: stack } : {};
  const { totals } = report;
  const lines: object[] = [
    document(
      namespace,
      report.finishedAt,
      stackDimension,
      {
        RunCompleted: [1, 'Count'],
        ReapedImages: [totals.reaped.images, 'Count'],
        ReapedBytes: [totals.reaped.bytes, 'Bytes'],
        PendingExpiryImages: [totals.pendingExpiry.images, 'Count'],
        PendingExpiryBytes: [totals.pendingExpiry.bytes, 'Bytes'],
        ProtectedImages: [totals.protected.images, 'Count'],
        EstimatedMonthlySavingsUsd: [totals.estimatedMonthlySavingsUsd, 'None'],
        Errors: [totals.errors, 'Count'],
        FailedRepositories: [totals.failed, 'Count'],
        BlockedRepositories: [totals.blocked, 'Count'],
        RefusedRepositories: [totals.refused, 'Count'],
        NotCleanedRepositories: [totals.blocked + totals.refused, 'Count'],
        StalePinPublishers: [report.stalePins?.length ?? 0, 'Count'],
        ColdStart: [invocation?.coldStart ? 1 : 0, 'Count'],
      } satisfies Record<TotalMetric, [number, Unit]>,
      {
        ...stackProperty,
        // Ties the metrics to the invocation's log lines (same requestId field).
        ...(invocation?.requestId ? { requestId: invocation.requestId } : {}),
        mode: report.mode,
        dryRun: report.dryRun,
        repositories: totals.repositories,
        repositoriesWithoutMetrics: report.repositories.length - reported.length,
      },
    ),
  ];
  for (const repository of reported) {
    lines.push(
      document(
        namespace,
        report.finishedAt,
        [...stackDimension, REPOSITORY_DIMENSION],
        {
          ReapedImages: [repository.reaped.images, 'Count'],
          ReapedBytes: [repository.reaped.bytes, 'Bytes'],
          PendingExpiryBytes: [repository.pendingExpiry.bytes, 'Bytes'],
          ProtectedImages: [repository.protected.images, 'Count'],
          Errors: [repositoryErrors(repository), 'Count'],
        } satisfies Record<RepositoryMetric, [number, Unit]>,
        { ...stackProperty, [REPOSITORY_DIMENSION]: repository.repository, status: repository.status },
      ),
    );
  }
  return lines;
}

/** The same count run-janitor's totals use: each write failure, or one for a repository that failed outright. */
function repositoryErrors(repository: RepositoryRunReport): number {
  const failures = repository.actions.failures.length;
  return failures + (repository.status === 'failed' && failures === 0 ? 1 : 0);
}

// Repositories with errors first (an alarm wants to see them), then the ones that move the most bytes.
function repositoriesToReport(repositories: readonly RepositoryRunReport[], cap: number): RepositoryRunReport[] {
  const weight = (r: RepositoryRunReport) => r.reaped.bytes + r.pendingExpiry.bytes;
  return [...repositories]
    .sort(
      (a, b) =>
        Number(repositoryErrors(b) > 0) - Number(repositoryErrors(a) > 0) ||
        weight(b) - weight(a) ||
        a.repository.localeCompare(b.repository),
    )
    .slice(0, Math.max(0, cap));
}

function document(
  namespace: string,
  timestamp: number,
  dimensions: string[],
  metrics: Partial<Record<TotalMetric | RepositoryMetric, [number, Unit]>>,
  properties: Record<string, unknown>,
): object {
  const values: Record<string, number> = {};
  for (const [name, [value]] of Object.entries(metrics)) values[name] = value;
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [dimensions],
          Metrics: Object.entries(metrics).map(([name, [, unit]]) => ({ Name: name, Unit: unit })),
        },
      ],
    },
    service: 'ecr-janitor',
    ...properties,
    ...values,
  };
}
