// The EcrJanitor construct: the nightly Lambda, its schedule, least-privilege IAM from the config, a state bucket,
// alarms (errors, missed run) and a dashboard of the EMF metrics the run publishes (lambda/app/metric-names.ts).
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { privateVersionedBucketProps } from './private-bucket.js';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, REPOSITORY_DIMENSION, type RepositoryMetric, STACK_DIMENSION, type TotalMetric } from '../lambda/app/metric-names.js';
import { configToText, type JanitorConfigFile, parseConfig } from '../lambda/domain/config.js';
import type { JanitorConfig } from '../lambda/domain/types.js';
import { JanitorFunction, prebuiltHandlerCode } from './janitor-function.js';
import { acknowledge, iam5ResourceFinding } from './nag.js';
import { janitorGrants, stateWriteGuard } from './permissions.js';
import { UseEventRules } from './event-rules.js';
import { checkedOrchestration, DEFAULT_MAP_CONCURRENCY, JanitorStateMachine, type Orchestration, reservedConcurrencyFor, type StepFunctionsOptions } from './orchestration.js';

/** A Lambda's environment variables, names and values together, may not exceed 4 KB. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;
/** Longest S3 bucket name: STATE_BUCKET is a token at synth time, so we count the worst case. */
const MAX_BUCKET_NAME_LENGTH = 63;

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const HANDLER_ENTRY = `${PROJECT_ROOT}lambda/handler.ts`;
export const LOCK_FILE = `${PROJECT_ROOT}package-lock.json`;

/** The janitor config as written in cdk.json or a config file: the config schema's input type (defaults filled by parseConfig). */
export type JanitorConfigInput = JanitorConfigFile;

export interface EcrJanitorProps {
  /** Janitor config (DESIGN.md schema). Validated here with the Lambda's own parser; unknown keys fail synth. */
  readonly config: JanitorConfigInput;
  /** Where the config came from, for error messages. @default 'EcrJanitor config' */
  readonly configSource?: string;
  /** @default Duration.minutes(15) (the Lambda maximum: big registries take a while under ECR's rate limits) */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** pino level for the function (LOG_LEVEL). @default - the handler's default */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Topic that gets each run's report (markdown) as a digest, e.g. with an e-mail or chat subscription. @default - none */
  readonly reportTopic?: sns.ITopic;
  /** Existing topic for alarm notifications. */
  readonly alarmTopic?: sns.ITopic;
  /** E-mail address subscribed to the alarm topic (a topic is created when `alarmTopic` is not given). */
  readonly alarmEmail?: string;
  /**
   * The missed-run alarm fires when no run completed for this long. Whole hours, 1 to 168.
   * @default Duration.hours(26) (a nightly schedule plus slack)
   */
  readonly missedRunAfter?: Duration;
  /**
   * The not-cleaned alarm fires when some repository was blocked or refused (nothing cleaned there as configured) this
   * many nights in a row. Whole nights, 1 to 7.
   * @default 2
   */
  readonly notCleanedNights?: number;
  /** Create the CloudWatch dashboard. @default true */
  readonly dashboard?: boolean;
  /** Turn the schedule on. @default true */
  readonly enabled?: boolean;
  /**
   * IANA time zone the schedule's cron expression is read in (EventBridge Scheduler), e.g. "Europe/Berlin".
   * @default 'UTC'
   */
  readonly scheduleTimeZone?: string;
  /**
   * Reserved concurrency of the function. 1 (the default) means two runs never overlap: a second invocation (a manual
   * `aws lambda invoke`, a retry) waits in Lambda's asynchronous queue, or is throttled when synchronous.
   * @default 1
   */
  readonly reservedConcurrency?: number;
  /**
   * Route ECS task and Lambda code events to the function, which protects the images they name within minutes
   * (lib/event-rules.ts; README "How the janitor knows an image is in use"). @default true
   */
  readonly protectOnEvents?: boolean;
  /** What happens to the state bucket when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly stateBucketRemovalPolicy?: RemovalPolicy;
  /**
   * Pre-built function code instead of bundling lambda/handler.ts (handler `index.handler`). For tests only.
   * @default - bundle lambda/handler.ts with the local esbuild
   */
  readonly code?: lambda.Code;
  /**
   * Permissions boundary for every role of the construct: a managed policy, or its name or ARN. (Named apart from
   * StackProps.permissionsBoundary, which does the same for a whole stack.)
   * @default - none
   */
  readonly rolePermissionsBoundary?: iam.IManagedPolicy | string;
  /**
   * A fixed name for the function's role, for organizations that allow-list role names. Role names are global to the
   * account: with stacks in several regions of one account, put `{region}` in it (replaced by the stack's region).
   * @default - a name CloudFormation generates
   */
  readonly roleName?: string;
  /**
   * Break-glass role (or its ARN) that may also write and delete `state/*`, to restore or remove a state by hand.
   * Every other principal, administrators included, is denied by the bucket policy.
   * @default - only the function's role writes state
   */
  readonly stateBreakGlassRole?: iam.IRole | string;
  /**
   * "lambda": the schedule invokes the function, one invocation a night. "stepfunctions": for accounts one 15-minute
   * invocation cannot finish, the schedule starts a state machine (list -> Distributed Map over batches of repositories
   * -> one aggregated report; lib/orchestration.ts, README "Scaling"). Reserved concurrency then defaults to the Map's
   * concurrency plus one, and the state machine itself refuses to run twice at once.
   * @default 'lambda'
   */
  readonly orchestration?: Orchestration;
  /** The state machine's concurrency, batch size and timeout (orchestration "stepfunctions" only). */
  readonly stepFunctions?: StepFunctionsOptions;
}

export class EcrJanitor extends Construct {
  readonly config: JanitorConfig;
  readonly function: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
  readonly stateBucket: s3.Bucket;
  /** The function's execution role (the janitor's ECR, pin-source and state grants are on it). */
  readonly role: iam.IRole;
  /** The nightly run: an EventBridge Scheduler schedule in `scheduleTimeZone`. */
  readonly schedule: scheduler.Schedule;
  /** Schedule invocations that failed past their retries land here (EventBridge Scheduler dead-letter queue). */
  readonly scheduleDeadLetterQueue: sqs.Queue;
  /** The rules that route new uses of an image to the function (unset when protectOnEvents is false). */
  readonly useEventRules?: UseEventRules;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly missedRunAlarm: cloudwatch.Alarm;
  /** Some repository blocked or refused `notCleanedNights` nights in a row: a janitor that stopped cleaning. */
  readonly notCleanedAlarm: cloudwatch.Alarm;
  /** A scheduled run could not be delivered to the function (a message in the schedule's dead-letter queue). */
  readonly scheduleDeadLetterAlarm: cloudwatch.Alarm;
  readonly orchestration: Orchestration;
  /** Set with orchestration "stepfunctions": what the schedule starts, and its executions-failed alarm. */
  readonly stateMachine?: JanitorStateMachine;
  readonly alarmTopic?: sns.ITopic;
  readonly dashboard?: cloudwatch.Dashboard;
  /** Saved CloudWatch Logs Insights queries on the function's log group: the last run's summary, every reaped image count, problems. */
  readonly queries: logs.QueryDefinition[];

  constructor(scope: Construct, id: string, props: EcrJanitorProps) {
    super(scope, id);
    this.config = parseConfig(props.config, props.configSource ?? 'EcrJanitor config');
    const configText = configToText(this.config);

    this.stateBucket = new s3.Bucket(this, 'StateBucket', privateVersionedBucketProps(props.stateBucketRemovalPolicy));
    acknowledge(
      this.stateBucket,
      'AwsSolutions-S1',
      'Only the janitor function reads and writes this bucket (small per-repository state objects, versioned); its CloudWatch logs record every run, so S3 server access logs would add a second bucket and cost without audit value.',
    );

    this.orchestration = checkedOrchestration(props.orchestration);
    if (this.orchestration === 'lambda' && props.stepFunctions !== undefined) throw new Error('stepFunctions is set but orchestration is "lambda": set orchestration: "stepfunctions" or leave stepFunctions out');
    const reservedConcurrency = reservedConcurrencyFor(this.orchestration, props.stepFunctions ?? {}, props.reservedConcurrency);
    const environment: Record<string, string> = {
      JANITOR_CONFIG: configText,
      STATE_BUCKET: this.stateBucket.bucketName,
      // The metrics' Stack dimension: this stack's alarms and dashboard read only its own janitor's metrics.
      JANITOR_STACK: Stack.of(this).stackName,
      // The Map's batches share ECR's per-account write quota (handler.ts writeRatesForBatches).
      ...(this.orchestration === 'stepfunctions' ? { JANITOR_PARALLEL_BATCHES: String(props.stepFunctions?.maxConcurrency ?? DEFAULT_MAP_CONCURRENCY) } : {}),
      ...(props.logLevel ? { LOG_LEVEL: props.logLevel } : {}),
      ...(props.reportTopic ? { REPORT_TOPIC_ARN: props.reportTopic.topicArn } : {}),
      // Unchanged repositories are confirmed, not re-read, only where ECR push/delete events reach the function.
      ...(changeMarksOn(props, this.config) ? { CHANGE_MARKS_PREFIX: CHANGE_MARKS_PREFIX } : {}),
    };
    checkEnvironmentSize(environment, this.config);

    const fn = new JanitorFunction(this, 'Janitor', {
      entry: HANDLER_ENTRY,
      depsLockFilePath: LOCK_FILE,
      timeout: props.timeout ?? Duration.minutes(15),
      memorySize: props.memorySize ?? 1024,
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      environment,
      description: 'ecr-janitor: nightly ECR lifecycle policies, protection tags and a reap report',
      ...(props.code ? { code: props.code } : prebuiltCode(PROJECT_ROOT)),
      reservedConcurrency,
      ...(props.roleName !== undefined ? { roleName: props.roleName.replace(/\{region\}/g, Stack.of(this).region) } : {}),
    });
    if (props.rolePermissionsBoundary !== undefined) iam.PermissionsBoundary.of(this).apply(boundaryPolicy(this, props.rolePermissionsBoundary));
    // Only the function (and the break-glass role) may write state: a state written by anyone else could end a pin's grace.
    const breakGlass = props.stateBreakGlassRole;
    const stateWriters = [fn.role.roleArn, ...(breakGlass === undefined ? [] : [typeof breakGlass === 'string' ? breakGlass : breakGlass.roleArn])];
    this.stateBucket.addToResourcePolicy(stateWriteGuard(this.stateBucket, stateWriters));
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    // A failed run is reported by the Errors alarm and the next night runs again; an immediate async retry would
    // mostly repeat the failure against the same ECR rate limits.
    fn.function.configureAsyncInvoke({ retryAttempts: 0 });

    // One acknowledgement per IAM5 finding; several statements may share a resource ("*"), so their reasons are joined.
    const reasons = new Map<string, string[]>();
    for (const grant of janitorGrants(this, this.config, this.stateBucket)) {
      fn.role.addToPrincipalPolicy(grant.statement);
      for (const wildcard of grant.wildcards) {
        const finding = iam5ResourceFinding(this, wildcard.resource);
        reasons.set(finding, [...(reasons.get(finding) ?? []), wildcard.reason]);
      }
    }
    // The run report (reports/<date>.md and .json) goes next to the state; the state guard covers state/* only.
    const reportObjects = this.stateBucket.arnForObjects('reports/*');
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteRunReports', actions: ['s3:PutObject'], resources: [reportObjects] }));
    const reportFinding = iam5ResourceFinding(this, reportObjects);
    reasons.set(reportFinding, [...(reasons.get(reportFinding) ?? []), 'Each run writes its report as reports/<date>.md and .json; the dates are not known in advance.']);
    if (props.reportTopic) props.reportTopic.grantPublish(fn.role);
    for (const [finding, why] of reasons) acknowledge(fn.role, finding, why.join(' '));

    // EventBridge Scheduler rather than an Events rule: cron in a time zone (daylight saving included), and an invocation
    // it cannot deliver goes to a dead-letter queue instead of vanishing ("Configuring a dead-letter queue for
    // EventBridge Scheduler", EventBridge Scheduler User Guide).
    this.scheduleDeadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.scheduleDeadLetterQueue, 'AwsSolutions-SQS3', 'This queue is the dead-letter queue of the schedule; a dead-letter queue of its own would only move the same messages.');
    const timeZone = checkedTimeZone(props.scheduleTimeZone ?? 'UTC');
    // Our own role (inside the construct, so the permissions boundary applies), assumable only from this account.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: 'EventBridge Scheduler: invokes the ecr-janitor function and sends undeliverable runs to its dead-letter queue',
    });
    if (this.orchestration === 'stepfunctions') {
      this.stateMachine = new JanitorStateMachine(this, 'StateMachine', {
        ...props.stepFunctions,
        function: fn.function,
        functionRole: fn.role,
        stateBucket: this.stateBucket,
        reservedConcurrency,
        logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      });
    }
    const scheduleTarget = { input: scheduler.ScheduleTargetInput.fromObject({}), role: scheduleRole, deadLetterQueue: this.scheduleDeadLetterQueue, retryAttempts: 2, maxEventAge: Duration.hours(2) };
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `ecr-janitor run (${this.config.schedule}, ${timeZone})`,
      schedule: scheduler.ScheduleExpression.expression(this.config.schedule, TimeZone.of(timeZone)),
      enabled: props.enabled ?? true,
      // {} = every managed repository (handler.ts repositoriesOf); the state machine ignores its input.
      target: this.stateMachine
        ? new schedulerTargets.StepFunctionsStartExecution(this.stateMachine.stateMachine, scheduleTarget)
        : new schedulerTargets.LambdaInvoke(fn.function, scheduleTarget),
    });
    acknowledge(
      scheduleRole,
      iam5ResourceFinding(this, `${fn.function.functionArn}:*`),
      "The schedule's role may invoke the janitor function only; the :* resource (its versions and aliases) is what grantInvoke writes for EventBridge Scheduler.",
    );
    if (props.protectOnEvents ?? true) {
      this.useEventRules = new UseEventRules(this, 'UseEvents', { function: fn.function, config: this.config, enabled: props.enabled ?? true, changeMarks: changeMarksOn(props, this.config) });
    }

    // ---- alarms
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'ecr-janitor run failed (a repository failed or the function crashed). The function log group has the run summary and the error.',
      metric: fn.function.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const missedRunAfter = props.missedRunAfter ?? Duration.hours(26);
    const hours = missedRunAfter.toHours({ integral: false });
    if (!Number.isInteger(hours) || hours < 1 || hours > 168) {
      throw new Error(`missedRunAfter must be whole hours from 1 to 168 (CloudWatch evaluates at most 7 days), got ${missedRunAfter.toHumanString()}`);
    }
    // One-hour periods, all breaching: a single RunCompleted data point in the window keeps the alarm OK, and no data
    // at all (the schedule stopped, the function never got to report) counts as breaching.
    this.missedRunAlarm = new cloudwatch.Alarm(this, 'MissedRunAlarm', {
      alarmDescription: `ecr-janitor has not completed a run for ${hours} hours (no ${METRIC_NAMESPACE}/RunCompleted metric). Check the schedule rule and the function's log group.`,
      metric: this.metric('RunCompleted', { period: Duration.hours(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: hours,
      datapointsToAlarm: hours,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const nights = props.notCleanedNights ?? 2;
    if (!Number.isInteger(nights) || nights < 1 || nights > 7) throw new Error(`notCleanedNights must be a whole number of nights from 1 to 7, got ${nights}`);
    // Daily periods: one bad night (a deploy in progress, a throttled pin source) is in the logs; two in a row page.
    this.notCleanedAlarm = new cloudwatch.Alarm(this, 'NotCleanedAlarm', {
      alarmDescription:
        `ecr-janitor left some repository blocked or refused (not cleaned as configured) ${nights} night(s) in a row ` +
        `(${METRIC_NAMESPACE}/NotCleanedRepositories). The run's error-level log lines name each repository and the reason.`,
      // Sum: with sharded invocations, any shard that left a repository uncleaned counts for the night.
      metric: this.metric('NotCleanedRepositories', { period: Duration.days(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: nights,
      datapointsToAlarm: nights,
      // No run at all is the missed-run alarm's business.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.scheduleDeadLetterAlarm = new cloudwatch.Alarm(this, 'ScheduleDeadLetterAlarm', {
      alarmDescription: 'A scheduled ecr-janitor run could not be delivered to the function; the message is in the schedule dead-letter queue (its attributes say why).',
      metric: this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.hours(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmTopic || props.alarmEmail) {
      let topic = props.alarmTopic;
      if (!topic) {
        const created = new sns.Topic(this, 'AlarmTopic', { displayName: 'ecr-janitor alarms', enforceSSL: true });
        acknowledge(
          created,
          'AwsSolutions-SNS2',
          'Alarm notifications carry only alarm names and states. CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer-managed key would cost more than the janitor saves in small registries.',
        );
        topic = created;
      }
      if (props.alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      const action = new cwActions.SnsAction(topic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
      this.alarmTopic = topic;
    }

    if (props.dashboard ?? true) this.dashboard = this.createDashboard(fn);
    this.queries = this.createQueries(fn.logGroup);
  }

  /** Every alarm of the janitor, for your own actions or a composite alarm. */
  get alarms(): cloudwatch.Alarm[] {
    return [this.errorsAlarm, this.missedRunAlarm, this.notCleanedAlarm, this.scheduleDeadLetterAlarm, ...(this.stateMachine ? [this.stateMachine.executionsFailedAlarm] : [])];
  }

  /** A metric the run publishes (run totals: this stack's Stack dimension only), summed per day. */
  metric(metricName: TotalMetric, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      statistic: cloudwatch.Stats.SUM,
      period: Duration.days(1),
      dimensionsMap: { [STACK_DIMENSION]: Stack.of(this).stackName },
      ...props,
    });
  }

  private createQueries(logGroup: logs.ILogGroup): logs.QueryDefinition[] {
    const prefix = `ecr-janitor/${Stack.of(this).stackName}`;
    const query = (id: string, name: string, queryString: logs.QueryString) =>
      new logs.QueryDefinition(this, id, { queryDefinitionName: `${prefix}/${name}`, queryString, logGroups: [logGroup] });
    return [
      // The run summary line (run-janitor.ts: "ecr-janitor run: N repositories, ...") and where its report went.
      query(
        'LastRunQuery',
        'last-run-summary',
        new logs.QueryString({
          fields: ['@timestamp', 'msg', 'summary.repositories', 'summary.failed', 'summary.blocked', 'summary.refused', 'summary.reaped.images', 'summary.reaped.bytes', 'summary.estimatedMonthlySavingsUsd', 'reportKeys.0'],
          filterStatements: ['msg like /^ecr-janitor run:|^run report written/'],
          sort: '@timestamp desc',
          limit: 2,
        }),
      ),
      // One line per repository and run: the images ECR expired since the previous run, and what expires next.
      query(
        'ExpiredImagesQuery',
        'expired-images-per-repository',
        new logs.QueryString({
          fields: ['@timestamp', 'repository', 'reaped.images', 'reaped.bytes', 'totals.pending.images', 'status'],
          filterStatements: ['ispresent(repository) and ispresent(reaped.images)', 'reaped.images > 0 or totals.pending.images > 0'],
          sort: '@timestamp desc',
          limit: 1000,
        }),
      ),
      // Every image gone since the previous run, one line each (run-janitor.ts logs them from the inventory diff).
      query(
        'GoneImagesQuery',
        'expired-images',
        new logs.QueryString({
          fields: ['@timestamp', 'repository', 'gone.digest', 'gone.bytes', 'gone.tags.0'],
          filterStatements: ['ispresent(gone.digest)'],
          sort: '@timestamp desc',
          // Logs Insights returns at most 10,000 rows; narrow the time range for more.
          limit: 10000,
        }),
      ),
      query(
        'ProblemsQuery',
        'problems',
        new logs.QueryString({
          fields: ['@timestamp', 'level', 'repository', 'status', 'reason', 'msg'],
          filterStatements: ['level in ["error", "fatal"]'],
          sort: '@timestamp desc',
          limit: 200,
        }),
      ),
    ];
  }

  private createDashboard(fn: JanitorFunction): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(30),
      periodOverride: cloudwatch.PeriodOverride.INHERIT,
    });
    const perRepository = (metricName: RepositoryMetric, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},${STACK_DIMENSION},${REPOSITORY_DIMENSION}} ${STACK_DIMENSION}="${Stack.of(this).stackName}" MetricName="${metricName}"', 'Sum', 86400)`,
        label,
        usingMetrics: {},
        period: Duration.days(1),
      });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ecr-janitor (${Stack.of(this).stackName})\nWhat each nightly run reaped, what is pending expiry and what is protected. Schedule \`${this.config.schedule}\`${this.config.dryRun ? ', **dry run**' : ''}.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Last 30 days',
        metrics: [
          this.metric('ReapedImages', { label: 'Reaped images', period: Duration.days(30) }),
          this.metric('ReapedBytes', { label: 'Reaped bytes', period: Duration.days(30) }),
          this.metric('EstimatedMonthlySavingsUsd', { label: 'Est. monthly savings (USD)', period: Duration.days(30) }),
        ],
        width: 24,
        height: 4,
        fullPrecision: false,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Reaped per day',
        left: [this.metric('ReapedImages', { label: 'images' })],
        right: [this.metric('ReapedBytes', { label: 'bytes' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Estimated monthly savings (USD)',
        left: [this.metric('EstimatedMonthlySavingsUsd', { label: 'USD / month', statistic: cloudwatch.Stats.MAXIMUM })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Pending expiry and protected',
        left: [this.metric('PendingExpiryBytes', { label: 'pending expiry bytes', statistic: cloudwatch.Stats.MAXIMUM })],
        right: [this.metric('ProtectedImages', { label: 'protected images', statistic: cloudwatch.Stats.MAXIMUM })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Problems',
        left: [
          this.metric('Errors', { label: 'errors' }),
          this.metric('FailedRepositories', { label: 'failed repositories' }),
          this.metric('BlockedRepositories', { label: 'blocked repositories' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Reaped bytes per repository',
        left: [perRepository('ReapedBytes', 'reaped bytes')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Pending expiry bytes per repository',
        left: [perRepository('PendingExpiryBytes', 'pending expiry bytes')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function',
        left: [
          fn.function.metricInvocations({ period: Duration.days(1), statistic: cloudwatch.Stats.SUM }),
          fn.function.metricErrors({ period: Duration.days(1), statistic: cloudwatch.Stats.SUM }),
        ],
        right: [fn.function.metricDuration({ period: Duration.days(1), statistic: cloudwatch.Stats.MAXIMUM })],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
    );
    return dashboard;
  }
}

/** The published package's prebuilt handler (no esbuild at the consumer's synth); in a checkout, none. */
function prebuiltCode(root: string): { code?: lambda.Code } {
  const code = prebuiltHandlerCode(root);
  return code ? { code } : {};
}

/** An IANA time zone name ("Europe/Berlin", "UTC"), as EventBridge Scheduler's ScheduleExpressionTimezone takes. */
function checkedTimeZone(name: string): string {
  let known = false;
  try {
    known = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone !== undefined;
  } catch {
    known = false;
  }
  if (!known) throw new Error(`scheduleTimeZone must be an IANA time zone such as "Europe/Berlin" or "UTC", got ${JSON.stringify(name)}`);
  return name;
}

function boundaryPolicy(scope: Construct, boundary: iam.IManagedPolicy | string): iam.IManagedPolicy {
  if (typeof boundary !== 'string') return boundary;
  return boundary.startsWith('arn:')
    ? iam.ManagedPolicy.fromManagedPolicyArn(scope, 'PermissionsBoundary', boundary)
    : iam.ManagedPolicy.fromManagedPolicyName(scope, 'PermissionsBoundary', boundary);
}

/**
 * Change marks (README "Scaling", "Unchanged repositories"): opt in with fullReadEveryDays; they need the event rules.
 * Off, every repository is read whole every night, as before.
 */
const CHANGE_MARKS_PREFIX = 'changes/';
function changeMarksOn(props: { protectOnEvents?: boolean }, config: JanitorConfig): boolean {
  return (props.protectOnEvents ?? true) && (config.fullReadEveryDays ?? 0) > 0;
}

/** Fails synth when the environment would exceed Lambda's 4 KB, pointing at the SSM parameter for pins. */
export function checkEnvironmentSize(environment: Record<string, string>, config: JanitorConfig): void {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  let total = bytes('NODE_OPTIONS') + bytes('--enable-source-maps'); // added by JanitorFunction
  for (const [name, value] of Object.entries(environment)) {
    total += bytes(name) + (name === 'STATE_BUCKET' ? MAX_BUCKET_NAME_LENGTH : bytes(value));
  }
  if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const configBytes = bytes(environment.JANITOR_CONFIG ?? '');
  const pins = config.pins.digests.length + config.pins.tags.length;
  throw new Error(
    `The janitor config is too large for the Lambda environment: JANITOR_CONFIG is ${configBytes} bytes and all variables ` +
      `together would be ${total} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit. ` +
      (pins > 0
        ? `Move the ${pins} pinned digests/tags (pins.digests, pins.tags) into an SSM parameter and set pins.ssmParameter to its name; `
        : 'Put pinned images in an SSM parameter (pins.ssmParameter) rather than the config; ') +
      'shorten or merge repository globs, CI tag patterns and protected tags otherwise.',
  );
}
