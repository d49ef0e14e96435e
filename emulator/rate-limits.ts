// ECR's API rate quotas as token buckets, one per operation per emulator (an emulator is one account and region).
// Real time, not the model clock: the model clock jumps by days between nights and stands still within a run, so
// only the wall clock can say how many calls came in one second. A throttled call answers ThrottlingException, which
// the SDK retries with backoff, as against AWS.
//
// Source: "Amazon ECR service quotas" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html)
// publishes rates for the push and pull APIs only. The other operations have quotas AWS does not publish; the
// emulator assumes modest ones (marked below) so a client that never backs off is caught.

export interface RateQuota {
  /** Sustained requests per second; the bucket also holds this many (one second of burst). */
  perSecond: number;
  /** Where the number comes from. */
  source: 'service-quotas page' | 'assumed (not published)';
}

export const ECR_RATE_QUOTAS: Readonly<Record<string, RateQuota>> = {
  // Published. PutImage is shared by every CI push in the account and region, and by the janitor's tag writes.
  PutImage: { perSecond: 10, source: 'service-quotas page' },
  BatchGetImage: { perSecond: 2000, source: 'service-quotas page' },
  // Not published: assumed.
  BatchDeleteImage: { perSecond: 20, source: 'assumed (not published)' },
  DescribeImages: { perSecond: 20, source: 'assumed (not published)' },
  ListImages: { perSecond: 20, source: 'assumed (not published)' },
  DescribeRepositories: { perSecond: 20, source: 'assumed (not published)' },
  ListImageReferrers: { perSecond: 20, source: 'assumed (not published)' },
  GetLifecyclePolicy: { perSecond: 20, source: 'assumed (not published)' },
  PutLifecyclePolicy: { perSecond: 5, source: 'assumed (not published)' },
  DeleteLifecyclePolicy: { perSecond: 5, source: 'assumed (not published)' },
  StartLifecyclePolicyPreview: { perSecond: 5, source: 'assumed (not published)' },
  GetLifecyclePolicyPreview: { perSecond: 20, source: 'assumed (not published)' },
};

/** Operations without a row above share no bucket and are never throttled. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly quotas: Readonly<Record<string, RateQuota>> = ECR_RATE_QUOTAS,
    /** Milliseconds from a monotonic clock; injectable so tests need not wait. */
    private readonly clockMs: () => number = () => performance.now(),
  ) {}

  /** Takes one token for the operation; false when its bucket is empty (answer ThrottlingException). */
  take(operation: string): boolean {
    const quota = this.quotas[operation];
    if (!quota) return true;
    const now = this.clockMs();
    const bucket = this.buckets.get(operation) ?? { tokens: quota.perSecond, at: now };
    bucket.tokens = Math.min(quota.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * quota.perSecond);
    bucket.at = now;
    this.buckets.set(operation, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}
