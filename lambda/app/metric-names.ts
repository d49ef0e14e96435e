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
  | 'BlockedRepositories';

/** Published per repository with the Repository dimension. */
export type RepositoryMetric = 'ReapedImages' | 'ReapedBytes' | 'PendingExpiryBytes' | 'ProtectedImages' | 'Errors';
