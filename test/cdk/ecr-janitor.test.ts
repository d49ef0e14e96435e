// EcrJanitor construct: schedule, IAM scope, alarms, function settings, environment. Uses stand-in code so the
// template is built without esbuild; ecr-janitor-stack.test.ts and janitor-function.test.ts bundle for real.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, parseConfigText } from '../../lambda/domain/config.js';
import { EcrJanitor, type JanitorConfigInput, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../../lib/ecr-janitor.js';
import { ECR_WRITE_ACTIONS, ECS_PIN_ACTIONS } from '../../lib/permissions.js';
import { ENV, FAKE_CODE, repoArn, statement, statements } from './support.js';

const CONFIG: JanitorConfigInput = {
  repositories: { include: ['team-*', 'app', 'svc-??'], exclude: ['team-secret*'] },
  ciTags: [{ pattern: 'ci-*', keep: 10 }],
  pins: { ecs: false, lambda: true, ssmParameter: '/ecr-janitor/pins', digests: [{ repository: 'app', digest: `sha256:${'a'.repeat(64)}` }] },
  schedule: 'cron(30 2 * * ? *)',
};

function synth(config: JanitorConfigInput, extra: Partial<ConstructorParameters<typeof EcrJanitor>[2]> = {}) {
  const stack = new Stack(new App(), 'Test', { env: ENV });
  const janitor = new EcrJanitor(stack, 'Janitor', { config, code: FAKE_CODE, ...extra });
  return { stack, janitor, template: Template.fromStack(stack) };
}

describe('EcrJanitor', () => {
  let template: Template;
  beforeAll(() => {
    // Prepare: one stack for the whole file.
    ({ template } = synth(CONFIG));
  });

  describe('schedule', () => {
    it('runs on config.schedule with EventBridge Scheduler in UTC, sending {} to the function, with retries and a DLQ', () => {
      // Assess (EventBridge Scheduler User Guide, "Schedule types" and "Configuring a dead-letter queue")
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(30 2 * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        State: 'ENABLED',
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('JanitorFunction'), 'Arn'] },
          Input: '{}',
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ScheduleDeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 7200, MaximumRetryAttempts: 2 },
        }),
      });
      expect(template.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: Match.anyValue() } })).toEqual({});
    });

    it('uses the default nightly schedule in scheduleTimeZone, and refuses a zone that does not exist', () => {
      // Act
      const { template: t } = synth({}, { scheduleTimeZone: 'Europe/Berlin' });

      // Assess
      t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 3 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin' });
      expect(() => synth({}, { scheduleTimeZone: 'Mars/Olympus' })).toThrow(/scheduleTimeZone must be an IANA time zone/);
    });

    it('never runs twice at once: reserved concurrency 1', () => {
      template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
    });

    it('alarms when a scheduled run could not be delivered (a message in the DLQ)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    });

    it('reads its metrics with the Stack dimension and passes the stack name to the function, so two janitors in one region stay apart', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunCompleted', Namespace: 'EcrJanitor', Dimensions: [{ Name: 'Stack', Value: 'Test' }] });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'NotCleanedRepositories', Dimensions: [{ Name: 'Stack', Value: 'Test' }] });
      template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ JANITOR_STACK: 'Test' }) } });
    });

    it('lets the function write reports/* next to its state, and saves Logs Insights queries on its log group', () => {
      template.resourceCountIs('AWS::Logs::QueryDefinition', 4);
      template.hasResourceProperties('AWS::Logs::QueryDefinition', { Name: 'ecr-janitor/Test/last-run-summary', QueryString: Match.stringLikeRegexp('filter msg like') });
      template.hasResourceProperties('AWS::Logs::QueryDefinition', { Name: 'ecr-janitor/Test/expired-images-per-repository' });
      // One row per image: the field the handler logs for each image gone since the previous run.
      template.hasResourceProperties('AWS::Logs::QueryDefinition', { Name: 'ecr-janitor/Test/expired-images', QueryString: Match.stringLikeRegexp('ispresent\\(gone\\.digest\\)') });
    });

    it('sends each run report to reportTopic when one is given', () => {
      // Prepare
      const stack = new Stack(new App(), 'Topic', { env: ENV });
      const topic = new sns.Topic(stack, 'Reports');

      // Act
      new EcrJanitor(stack, 'Janitor', { config: {}, code: FAKE_CODE, reportTopic: topic });
      const t = Template.fromStack(stack);

      // Assess
      t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ REPORT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('Reports') } }) } });
      expect(statements(t).find((st) => st.actions.includes('sns:Publish'))).toBeDefined();
    });

    it('exposes the function, its role, the state bucket, the schedule and every alarm', () => {
      // Act
      const { janitor } = synth({});

      // Assess
      expect(janitor.function.functionArn).toBeDefined();
      expect(janitor.role.roleArn).toBeDefined();
      expect(janitor.stateBucket.bucketName).toBeDefined();
      expect(janitor.schedule.scheduleArn).toBeDefined();
      expect(janitor.alarms).toEqual([janitor.errorsAlarm, janitor.missedRunAlarm, janitor.notCleanedAlarm, janitor.scheduleDeadLetterAlarm]);
    });
  });

  describe('function', () => {
    it('is Node 22 on ARM64 with an explicit timeout and memory', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Timeout: 900,
        MemorySize: 1024,
        LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('LogGroup') } },
      });
    });

    it('takes timeout and memory from props', () => {
      const { template: t } = synth(CONFIG, { timeout: Duration.minutes(5), memorySize: 512 });
      t.hasResourceProperties('AWS::Lambda::Function', { Timeout: 300, MemorySize: 512 });
    });

    it('logs to its own log group, kept three months by default', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
      const { template: t } = synth(CONFIG, { logRetention: logs.RetentionDays.ONE_MONTH });
      t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });

    it('does not retry a failed run immediately', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    });

    it('passes the validated config as JANITOR_CONFIG, which parses back to the same config', () => {
      const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
      const vars = fn.Properties.Environment.Variables;
      expect(typeof vars.JANITOR_CONFIG).toBe('string');
      expect(parseConfigText(vars.JANITOR_CONFIG as string, 'JANITOR_CONFIG')).toEqual(parseConfig(CONFIG, 'test'));
      expect(vars.STATE_BUCKET).toEqual({ Ref: expect.stringMatching(/StateBucket/) });
      expect(vars.NODE_OPTIONS).toBe('--enable-source-maps');
    });
  });

  describe('config validation at synth time', () => {
    it('rejects a config the Lambda would reject, naming the field', () => {
      expect(() => synth({ untaggedExpireDays: -1 })).toThrow(/untaggedExpireDays/);
      expect(() => synth({ repositories: { include: ['*'] }, typo: true } as JanitorConfigInput)).toThrow(/typo/);
    });

    it('fails with a pointer to pins.ssmParameter when the config does not fit the 4 KB environment', () => {
      const digests = Array.from({ length: 60 }, (_, i) => ({ repository: `app-${i}`, digest: `sha256:${i.toString(16).padStart(64, '0')}` }));
      expect(JSON.stringify(digests).length).toBeGreaterThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
      expect(() => synth({ pins: { digests } })).toThrow(/too large for the Lambda environment.*pins\.ssmParameter/s);
    });

    it('accepts a config just under the limit', () => {
      const digests = Array.from({ length: 20 }, (_, i) => ({ repository: `app-${i}`, digest: `sha256:${i.toString(16).padStart(64, '0')}` }));
      expect(() => synth({ pins: { digests } })).not.toThrow();
    });
  });

  describe('IAM', () => {
    it('allows ECR writes only on the repository ARNs built from the include globs', () => {
      const writes = statements(template).filter((s) => s.Effect === 'Allow' && s.actions.some((a) => (ECR_WRITE_ACTIONS as readonly string[]).includes(a)));
      expect(writes).toHaveLength(1);
      const [write] = writes;
      expect([...write!.actions].sort()).toEqual([...ECR_WRITE_ACTIONS].sort());
      expect(write!.resources).toHaveLength(3);
      ['team-*', 'app', 'svc-??'].forEach((glob, i) => expect(write!.resources[i]).toMatch(repoArn(glob)));
    });

    it('denies ECR writes on the exclude globs', () => {
      const deny = statement(template, 'NeverWriteExcludedRepositories');
      expect(deny.Effect).toBe('Deny');
      expect([...deny.actions].sort()).toEqual([...ECR_WRITE_ACTIONS].sort());
      expect(deny.resources).toHaveLength(1);
      expect(deny.resources[0]).toMatch(repoArn('team-secret*'));
    });

    it('scopes repository reads like writes, and lists repositories of this registry only', () => {
      const reads = statement(template, 'ReadManagedRepositories');
      expect(reads.actions).toEqual(expect.arrayContaining(['ecr:DescribeImages', 'ecr:BatchGetImage', 'ecr:GetLifecyclePolicy', 'ecr:ListImageReferrers']));
      expect(reads.resources).toEqual(statement(template, 'WriteManagedRepositories').resources);
      expect(statement(template, 'ListRepositories').resources).toEqual([expect.stringMatching(repoArn('*'))]);
    });

    it('grants no ECR action on "*" except DescribeRegistry', () => {
      const onStar = statements(template).filter((s) => s.Effect === 'Allow' && s.resources.includes('*'));
      const ecrOnStar = onStar.flatMap((s) => s.actions).filter((a) => a.startsWith('ecr:'));
      expect(ecrOnStar).toEqual(['ecr:DescribeRegistry']);
      expect(statements(template).flatMap((s) => s.actions).some((a) => a.includes('*'))).toBe(false);
    });

    it('has no ecs:* statement when pins.ecs is false, and the ECS reads when it is true', () => {
      expect(statements(template).flatMap((s) => s.actions).filter((a) => a.startsWith('ecs:'))).toEqual([]);
      const { template: t } = synth({ ...CONFIG, pins: { ecs: true } });
      const ecs = statements(t).flatMap((s) => s.actions).filter((a) => a.startsWith('ecs:'));
      expect([...ecs].sort()).toEqual([...ECS_PIN_ACTIONS].sort());
    });

    it('grants Lambda pin discovery only when pins.lambda is true', () => {
      expect(statements(template).flatMap((s) => s.actions)).toEqual(expect.arrayContaining(['lambda:ListFunctions', 'lambda:GetFunction']));
      const { template: t } = synth({ pins: { lambda: false, ecs: false } });
      // lambda:InvokeFunction is the schedule's role invoking the janitor itself.
      expect(statements(t).flatMap((s) => s.actions).filter((a) => a.startsWith('lambda:') && a !== 'lambda:InvokeFunction')).toEqual([]);
    });

    it('grants ssm:GetParameter on exactly the configured parameter', () => {
      const ssm = statements(template).filter((s) => s.actions.some((a) => a.startsWith('ssm:')));
      expect(ssm).toHaveLength(1);
      expect(ssm[0]!.actions).toEqual(['ssm:GetParameter']);
      expect(ssm[0]!.resources).toEqual([expect.stringMatching(/^arn:(aws|<AWS::Partition>):ssm:eu-west-1:123456789012:parameter\/ecr-janitor\/pins$/)]);
      const { template: t } = synth({ pins: { ssmParameter: 'pins-without-slash' } });
      expect(statement(t, 'ReadPinParameter').resources[0]).toMatch(/:parameter\/pins-without-slash$/);
      const { template: none } = synth({});
      expect(statements(none).flatMap((s) => s.actions).filter((a) => a.startsWith('ssm:'))).toEqual([]);
    });

    it('reads and writes only state/* in the state bucket, and only writes reports/*', () => {
      const state = statement(template, 'ReadWriteState');
      expect([...state.actions].sort()).toEqual(['s3:GetObject', 's3:PutObject']);
      expect(state.resources).toEqual([expect.stringMatching(/^<JanitorStateBucket\w+\.Arn>\/state\/\*$/)]);
      expect(statement(template, 'WriteRunReports')).toMatchObject({ actions: ['s3:PutObject'], resources: [expect.stringMatching(/^<JanitorStateBucket\w+\.Arn>\/reports\/\*$/)] });
      const s3Actions = statements(template).filter((s) => s.Sid !== 'WriteRunReports').flatMap((s) => s.actions).filter((a) => a.startsWith('s3:'));
      expect([...s3Actions].sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    });

    it('uses no AWS managed policy (logs go to its own log group only)', () => {
      template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
      const logsStatement = statement(template, 'WriteOwnLogs');
      expect(logsStatement.resources).toEqual([expect.stringMatching(/^<JanitorLogGroup\w+\.Arn>$/)]);
    });
  });

  describe('state bucket', () => {
    it('is private, TLS-only, encrypted, versioned, and expires old versions', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })]) },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    });
  });

  describe('alarms', () => {
    it('alarms on any function error in a run', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    });

    it('alarms when no run completed for 26 hours, missing data breaching', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EcrJanitor',
        MetricName: 'RunCompleted',
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 26,
        DatapointsToAlarm: 26,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    });

    it('alarms when some repository is blocked or refused two nights in a row (issue 9, point 8)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'EcrJanitor',
        MetricName: 'NotCleanedRepositories',
        Statistic: 'Sum',
        Period: 86400,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('takes the number of nights for the not-cleaned alarm, and rejects what CloudWatch cannot evaluate', () => {
      // Act
      const { template: threeNights } = synth({}, { notCleanedNights: 3 });

      // Assess
      threeNights.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'NotCleanedRepositories', EvaluationPeriods: 3, DatapointsToAlarm: 3 });
      expect(() => synth({}, { notCleanedNights: 0 })).toThrow(/notCleanedNights/);
      expect(() => synth({}, { notCleanedNights: 1.5 })).toThrow(/notCleanedNights/);
    });

    it('rejects a missed-run window CloudWatch cannot evaluate', () => {
      expect(() => synth({}, { missedRunAfter: Duration.days(8) })).toThrow(/missedRunAfter/);
      expect(() => synth({}, { missedRunAfter: Duration.minutes(90) })).toThrow(/whole hours/);
    });

    it('has no alarm actions unless a topic or e-mail is given', () => {
      template.resourceCountIs('AWS::SNS::Topic', 0);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() });
    });

    it('creates a TLS-only topic with the e-mail subscribed when alarmEmail is given', () => {
      const { template: t } = synth({}, { alarmEmail: 'ops@example.com' });
      t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
      t.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
      const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmActions?: unknown[] } }[];
      expect(alarms).toHaveLength(4);
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/AlarmTopic/) }]);
    });

    it('uses a given topic', () => {
      const stack = new Stack(new App(), 'Topic', { env: ENV });
      const topic = sns.Topic.fromTopicArn(stack, 'Existing', 'arn:aws:sns:eu-west-1:123456789012:ops');
      new EcrJanitor(stack, 'Janitor', { config: {}, code: FAKE_CODE, alarmTopic: topic });
      const t = Template.fromStack(stack);
      t.resourceCountIs('AWS::SNS::Topic', 0);
      t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunCompleted', AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'] });
    });
  });

  describe('dashboard', () => {
    it('shows every reaped/pending/protected/problem metric of the EcrJanitor namespace', () => {
      const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
      for (const name of ['ReapedImages', 'ReapedBytes', 'EstimatedMonthlySavingsUsd', 'PendingExpiryBytes', 'ProtectedImages', 'Errors', 'FailedRepositories', 'BlockedRepositories']) {
        expect(body).toContain(`\\"EcrJanitor\\",\\"${name}\\"`);
      }
    });

    it('can be left out', () => {
      const { template: t } = synth({}, { dashboard: false });
      t.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    });
  });
});
