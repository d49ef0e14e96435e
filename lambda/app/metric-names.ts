// The metrics a run publishes (EMF) and the stack's alarms and dashboard read: one list, so a rename breaks the build.
export const METRIC_NAMESPACE = 'EcrJanitor';
export const REPOSITORY_DIMENSION = 'Repository';

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
  | 'NotCleanedRepositories';

/** Published per repository with the Repository dimension. */
export type RepositoryMetric = 'ReapedImages' | 'ReapedBytes' | 'PendingExpiryBytes' | 'ProtectedImages' | 'Errors';
