// The run report a person reads (README "Reports"): after a real run against the emulator, reports/<date>.md and .json
// go to the state bucket through the S3 API, the key is logged, the SNS digest carries the markdown, and a report that
// cannot be written never fails the run.
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { pushBuildxBuild, pushSingleImage } from '../../emulator/workload.js';
import { createS3ReportSink } from '../../lambda/adapters/report-s3.js';
import { runReportDocuments } from '../../lambda/adapters/run-report-document.js';
import { runJanitor, type RunReportSink } from '../../lambda/app/run-janitor.js';
import type { RunReport } from '../../lambda/app/report-types.js';
import { janitorConfig, LAMBDA_CONTEXT, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';
import { fakeTransport, TEST_CREDENTIALS } from './fake-aws.js';

const world = useJanitorWorld();

/** Two nights: the first protects the deployed image and installs the policy, ECR's lifecycle reaps, the second reports. */
async function twoNights(reports: RunReportSink): Promise<RunReport> {
  await world.createRepositories('app');
  const deployed = await pushSingleImage(world.client, 'app', { tags: [], seed: 'deployed', bytes: SMALL });
  for (let i = 0; i < 4; i++) await pushBuildxBuild(world.client, 'app', { tags: [`ci-${i}`], seed: `build-${i}`, layerBytes: SMALL });
  world.ecs.references = [{ repository: 'app', digest: deployed.digest, source: 'ecs:prod/api' }];
  const config = janitorConfig({ ciTags: [{ pattern: 'ci-*', keep: 1 }], maxExpireShare: 1 });
  await world.run(config);
  world.nextNight(5);
  const wired = world.wiring()(config, {}, LAMBDA_CONTEXT);
  return runJanitor({ ...wired, log: world.log, reports }, { config, mode: 'run' });
}

describe('the run report in the state bucket', () => {
  it('writes reports/<date>.md and .json with what was reaped, protected and why, and logs the keys', async () => {
    // Prepare
    const transport = fakeTransport(() => ({ status: 200, headers: { etag: '"1"' } }));
    const s3 = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
    const sink = createS3ReportSink(s3, { bucket: 'state-bucket', stack: 'EcrJanitor', pricePerGbMonth: 0.1 });

    // Act
    const report = await twoNights(sink);

    // Assess
    const date = new Date(report.startedAt).toISOString().slice(0, 10);
    const puts = transport.requests.map((r) => `${r.method} ${r.hostname.split('.')[0]}${r.path}`);
    expect(puts).toEqual([`PUT state-bucket/reports/${date}.md`, `PUT state-bucket/reports/${date}.json`]);
    const [md, json] = transport.requests.map((r) => r.bodyText);
    expect(md).toMatch(new RegExp(`^# ecr-janitor run ${date} — EcrJanitor\\n`));
    expect(md).toMatch(/\| app \| ok \| [1-9]\d* \(/); // reaped something since night 1
    const parsed = JSON.parse(json!) as { repositories: { repository: string; reaped: { images: number }; protected: { images: number } }[] };
    expect(parsed.repositories[0]).toMatchObject({ repository: 'app', reaped: { images: report.repositories[0]!.reaped.images }, protected: { images: report.repositories[0]!.protected.images } });
    expect(report.repositories[0]!.reaped.images).toBeGreaterThan(0);
    expect(world.logs.some((line) => line.message === `run report written: reports/${date}.md, reports/${date}.json`)).toBe(true);
  });

  it('lists each protection change with its reason and each problem with its cause', () => {
    // Prepare: a report as the run builds it, with one new protection and one refused repository.
    const report = {
      startedAt: Date.UTC(2026, 11, 1, 3),
      finishedAt: Date.UTC(2026, 11, 1, 3, 2),
      mode: 'run',
      dryRun: false,
      apiCalls: {},
      totals: { repositories: 2, failed: 0, blocked: 0, refused: 1, reaped: { images: 3, bytes: 3 * 1024 ** 3 }, pendingExpiry: { images: 1, bytes: 1024 }, protected: { images: 1, bytes: 1024 }, estimatedMonthlySavingsUsd: 0.3, errors: 0 },
      repositories: [
        repository('app', 'ok', { plan: { protectTags: { add: [{ digest: `sha256:${'a'.repeat(64)}`, tag: `keep-sha256-${'a'.repeat(64)}`, reason: 'pinned by ecs:prod/api' }], remove: [] }, policy: { action: 'install' } } }),
        repository('web', 'refused', { refused: 'the policy would expire 80% of the repository (maxExpireShare 0.5)' }),
      ],
    } as unknown as RunReport;

    // Act
    const documents = runReportDocuments(report, { pricePerGbMonth: 0.1 });

    // Assess
    expect(documents.key).toBe('reports/2026-12-01');
    expect(documents.subject).toBe('ecr-janitor 2026-12-01: 2 repositories, 3.00 GiB reaped, 1 need attention');
    expect(documents.markdown).toContain('- **Reaped since the last run:** 3 images, 3.00 GiB, about $0.30/month saved');
    expect(documents.markdown).toContain(`- app: protect sha256:aaaaaaaaaaaa (\`keep-sha256-${'a'.repeat(64)}\`): pinned by ecs:prod/api`);
    expect(documents.markdown).toContain('- **web** refused: the policy would expire 80% of the repository (maxExpireShare 0.5)');
  });

  it('says which repositories were confirmed unchanged instead of read, and since when', () => {
    // Prepare
    const unchanged = 'unchanged since 2026-11-30T03:00:00.000Z, confirmed by no ECR push or delete marked since';
    const report = {
      startedAt: Date.UTC(2026, 11, 1, 3),
      finishedAt: Date.UTC(2026, 11, 1, 3, 1),
      mode: 'run',
      dryRun: false,
      apiCalls: {},
      totals: { repositories: 1, failed: 0, blocked: 0, refused: 0, reaped: { images: 0, bytes: 0 }, pendingExpiry: { images: 0, bytes: 0 }, protected: { images: 0, bytes: 0 }, estimatedMonthlySavingsUsd: 0, errors: 0 },
      repositories: [repository('app', 'ok', { unchanged, actions: { tagsAdded: 0, tagsRemoved: 0, policyInstalled: false, policyHeld: false, failures: [], notDone: [] } })],
    } as unknown as RunReport;

    // Act
    const documents = runReportDocuments(report, { pricePerGbMonth: 0.1 });

    // Assess
    expect(documents.markdown).toMatch(/\| app \| ok \| .* \| unchanged \(not re-read\) \|/);
    expect((JSON.parse(documents.json) as { repositories: { unchanged?: string }[] }).repositories[0]!.unchanged).toBe(unchanged);
  });

  it('publishes the markdown to the report topic when one is set', async () => {
    // Prepare
    const s3 = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: fakeTransport(() => ({ status: 200 })).requestHandler });
    const sns = fakeTransport(() => ({ status: 200, headers: { 'content-type': 'text/xml' }, body: '<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>' }));
    const client = new SNSClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: sns.requestHandler });
    const sink = createS3ReportSink(s3, { bucket: 'b', pricePerGbMonth: 0.1, topic: { client, arn: 'arn:aws:sns:us-east-1:111111111111:janitor-reports' } });

    // Act
    await sink.publish({ startedAt: 0, finishedAt: 0, mode: 'run', dryRun: true, apiCalls: {}, repositories: [], totals: { repositories: 0, failed: 0, blocked: 0, refused: 0, reaped: { images: 0, bytes: 0 }, pendingExpiry: { images: 0, bytes: 0 }, protected: { images: 0, bytes: 0 }, estimatedMonthlySavingsUsd: 0, errors: 0 } });

    // Assess
    expect(sns.requests).toHaveLength(1);
    const form = new URLSearchParams(sns.requests[0]!.bodyText);
    expect(form.get('TopicArn')).toBe('arn:aws:sns:us-east-1:111111111111:janitor-reports');
    expect(form.get('Subject')).toBe('ecr-janitor 1970-01-01: 0 repositories, 0.0 KiB reaped');
    expect(form.get('Message')).toMatch(/^# ecr-janitor run 1970-01-01\n[\s\S]*dry run: nothing was changed[\s\S]*Full report: s3:\/\/b\/reports\/1970-01-01\.md\n$/);
  });

  it('logs a report that cannot be written and still finishes the run', async () => {
    // Prepare
    const failing: RunReportSink = { publish: () => Promise.reject(new Error('AccessDenied')) };

    // Act
    const report = await twoNights(failing);

    // Assess
    expect(report.totals.failed).toBe(0);
    expect(world.logs.some((line) => line.level === 'error' && line.message === 'run report could not be written: AccessDenied')).toBe(true);
  });
});

function repository(name: string, status: string, extra: Record<string, unknown>) {
  const zero = { images: 0, bytes: 0 };
  return {
    repository: name,
    status,
    reaped: { images: 3, bytes: 3 * 1024 ** 3 },
    pendingExpiry: zero,
    expireNow: zero,
    protected: zero,
    actions: { tagsAdded: 1, tagsRemoved: 0, policyInstalled: true, policyHeld: false, failures: [], notDone: [] },
    ...extra,
  };
}
