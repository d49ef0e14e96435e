// The metrics a run publishes (EMF) and the stack's alarms and dashboard read: one list, so a rename breaks the build.
export const METRIC_NAMESPACE = 'EcrJanitor';
export const REPOSITORY_DIMENSION = 'Repository';
/**
 * The stack the function belongs to (env JANITOR_STACK, set by the construct): two janitors in one account and region
 * publish apart, and each stack's alarms read only its own. Absent from CLI runs.
 */
export const STACK_DIMENSION = 'Stack';

/** Published once per run with no dimension. */
export type TotalMetric =
  | 'RunCompleted'
  | 'ReapedImages'
  | 'ReapedBytes'
  | 'PendingExpiryImages'
  | 'PendingExpiryBytes'
  | 'ProtectedImages'
  | 'EstimatedMonthlySavingsUsd'
  | 'Errors'
  | 'FailedRepositories'
  | 'BlockedRepositories'
  | 'RefusedRepositories'
  /** Blocked + refused: repositories the run did not clean as configured (the stuck-repositories alarm reads it). */
  | 'NotCleanedRepositories'
  /** Organization pins publishers that stopped publishing (their last pins stay protected). */
  | 'StalePinPublishers'
  /** 1 when the run's invocation started a new execution environment (a cold start), else 0. */
  | 'ColdStart';

/** Published per repository with the Repository dimension. */
export type RepositoryMetric = 'ReapedImages' | 'ReapedBytes' | 'PendingExpiryBytes' | 'ProtectedImages' | 'Errors';
