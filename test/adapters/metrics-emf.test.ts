import { describe, expect, test } from 'vitest';
import { createEmfMetricsSink } from '../../lambda/adapters/metrics-emf.js';
import type { RepositoryRunReport, RunReport } from '../../lambda/app/report-types.js';

const FINISHED_AT = 1_700_000_123_000;

function repository(name: string, numbers: { reaped?: number; pending?: number; failures?: number; status?: RepositoryRunReport['status'] } = {}): RepositoryRunReport {
  return {
    repository: name,
    status: numbers.status ?? 'ok',
    reaped: { images: numbers.reaped ? 2 : 0, bytes: numbers.reaped ?? 0 },
    pendingExpiry: { images: numbers.pending ? 3 : 0, bytes: numbers.pending ?? 0 },
    expireNow: { images: 0, bytes: 0 },
    protected: { images: 1, bytes: 10 },
    actions: {
      tagsAdded: 0,
      tagsRemoved: 0,
      policyInstalled: false,
      policyHeld: false,
      failures: Array.from({ length: numbers.failures ?? 0 }, () => ({ code: 'KmsError', message: 'key disabled' })),
      notDone: [],
    },
  };
}

function runReport(repositories: RepositoryRunReport[]): RunReport {
  return {
    startedAt: FINISHED_AT - 5000,
    finishedAt: FINISHED_AT,
    mode: 'run',
    dryRun: false,
    repositories,
    totals: {
      repositories: repositories.length,
      failed: 1,
      blocked: 2,
      refused: 4,
      reaped: { images: 7, bytes: 7000 },
      pendingExpiry: { images: 8, bytes: 8000 },
      protected: { images: 9, bytes: 9000 },
      estimatedMonthlySavingsUsd: 1.25,
      errors: 3,
    },
    apiCalls: { DescribeImages: 4 },
  };
}

function publish(report: RunReport, options?: { maxRepositoryDimensions?: number; namespace?: string; stack?: string }) {
  const lines: string[] = [];
  createEmfMetricsSink((line) => lines.push(line), options).publish(report);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } });
}

describe('EMF metrics', () => {
  test('the totals line carries every contract metric with no dimension', () => {
    // Prepare
    const report = runReport([repository('app', { reaped: 100 })]);

    // Act
    const [totals] = publish(report);

    // Assess
    const directive = totals!._aws.CloudWatchMetrics[0]!;
    expect(totals!._aws.Timestamp).toBe(FINISHED_AT);
    expect(directive.Namespace).toBe('EcrJanitor');
    expect(directive.Dimensions).toEqual([[]]);
    expect(directive.Metrics).toEqual([
      { Name: 'RunCompleted', Unit: 'Count' },
      { Name: 'ReapedImages', Unit: 'Count' },
      { Name: 'ReapedBytes', Unit: 'Bytes' },
      { Name: 'PendingExpiryImages', Unit: 'Count' },
      { Name: 'PendingExpiryBytes', Unit: 'Bytes' },
      { Name: 'ProtectedImages', Unit: 'Count' },
      { Name: 'EstimatedMonthlySavingsUsd', Unit: 'None' },
      { Name: 'Errors', Unit: 'Count' },
      { Name: 'FailedRepositories', Unit: 'Count' },
      { Name: 'BlockedRepositories', Unit: 'Count' },
      { Name: 'RefusedRepositories', Unit: 'Count' },
      { Name: 'NotCleanedRepositories', Unit: 'Count' },
      { Name: 'StalePinPublishers', Unit: 'Count' },
      { Name: 'ColdStart', Unit: 'Count' },
    ]);
    expect(totals).toMatchObject({
      RunCompleted: 1,
      ReapedImages: 7,
      ReapedBytes: 7000,
      PendingExpiryImages: 8,
      PendingExpiryBytes: 8000,
      ProtectedImages: 9,
      EstimatedMonthlySavingsUsd: 1.25,
      Errors: 3,
      FailedRepositories: 1,
      BlockedRepositories: 2,
      // Blocked and refused repositories were not cleaned as configured: the stuck-repositories alarm reads this.
      RefusedRepositories: 4,
      NotCleanedRepositories: 6,
      repositoriesWithoutMetrics: 0,
    });
  });

  test('one line per repository with the Repository dimension', () => {
    // Prepare
    const report = runReport([repository('team/web', { reaped: 500, pending: 20, failures: 2 }), repository('app', { status: 'failed' })]);

    // Act
    const [, ...perRepository] = publish(report);

    // Assess
    expect(perRepository).toHaveLength(2);
    const web = perRepository.find((line) => line.Repository === 'team/web')!;
    expect(web._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Repository']]);
    expect(web._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)).toEqual(['ReapedImages', 'ReapedBytes', 'PendingExpiryBytes', 'ProtectedImages', 'Errors']);
    expect(web).toMatchObject({ ReapedImages: 2, ReapedBytes: 500, PendingExpiryBytes: 20, ProtectedImages: 1, Errors: 2 });
    // A repository that failed outright, with no write failure, still counts one error.
    expect(perRepository.find((line) => line.Repository === 'app')).toMatchObject({ Errors: 1 });
  });

  test('caps the repository lines, keeping those with errors and then the largest, and says how many were left out', () => {
    // Prepare
    const report = runReport([
      repository('small', { reaped: 1 }),
      repository('big', { reaped: 1000, pending: 1000 }),
      repository('broken', { failures: 1 }),
      repository('medium', { pending: 500 }),
    ]);

    // Act
    const [totals, ...perRepository] = publish(report, { maxRepositoryDimensions: 3, namespace: 'Custom' });

    // Assess
    expect(perRepository.map((line) => line.Repository)).toEqual(['broken', 'big', 'medium']);
    expect(totals).toMatchObject({ repositoriesWithoutMetrics: 1 });
    expect(perRepository.every((line) => line._aws.CloudWatchMetrics[0]!.Namespace === 'Custom')).toBe(true);
  });

  test('with a stack name, every metric carries the Stack dimension, so two janitors in one region publish apart', () => {
    // Prepare
    const report = runReport([repository('app', { reaped: 100 })]);

    // Act
    const [totals, app] = publish(report, { stack: 'EcrJanitor-eu' });

    // Assess
    expect(totals!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Stack']]);
    expect(totals!.Stack).toBe('EcrJanitor-eu');
    expect(app!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Stack', 'Repository']]);
    expect(app).toMatchObject({ Stack: 'EcrJanitor-eu', Repository: 'app' });
  });
});
