// orchestration "stepfunctions": for accounts one 15-minute invocation cannot finish (README "Scaling"). A Standard
// state machine runs the function's steps (lambda/app/run-steps.ts): list -> a Distributed Map over batches of
// repositories -> aggregate (one report, one set of metrics). The schedule starts the state machine instead of the
// function.
import { ArnFormat, Duration, Fn, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, iam5ResourceFinding } from './nag.js';

export const ORCHESTRATIONS = ['lambda', 'stepfunctions'] as const;
/** lambda: the schedule invokes the function once a night. stepfunctions: it starts the state machine. */
export type Orchestration = (typeof ORCHESTRATIONS)[number];

/** The construct prop or cdk context `orchestration`, checked: a clear error names the field and the allowed values. */
export function checkedOrchestration(value: unknown, field = 'orchestration'): Orchestration {
  if (value === undefined) return 'lambda';
  if (typeof value === 'string' && (ORCHESTRATIONS as readonly string[]).includes(value)) return value as Orchestration;
  throw new Error(`${field} must be ${ORCHESTRATIONS.map((o) => `"${o}"`).join(' or ')} (default "lambda"), got ${JSON.stringify(value)}`);
}

export interface StepFunctionsOptions {
  /**
   * Batches running at once. ECR's API rates are per account and Region, shared by every batch (and by CI), so more
   * batches mostly means more throttling: 4 batches of `concurrency` repositories each already keep ECR busy.
   * @default 4
   */
  readonly maxConcurrency?: number;
  /** Repositories per batch invocation (the Map's ItemBatcher). @default 25 */
  readonly repositoriesPerBatch?: number;
  /** The execution fails (and its alarm fires) after this long. At most 23 hours: a nightly run must end before the next. @default Duration.hours(8) */
  readonly executionTimeout?: Duration;
}

export const DEFAULT_MAP_CONCURRENCY = 4;
export const DEFAULT_REPOSITORIES_PER_BATCH = 25;

export interface JanitorStateMachineProps extends StepFunctionsOptions {
  readonly function: lambda.IFunction;
  readonly functionRole: iam.IRole;
  readonly stateBucket: s3.Bucket;
  /** Reserved concurrency of the function, checked against maxConcurrency. */
  readonly reservedConcurrency: number;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Reserved concurrency in stepfunctions mode: the Map's batches plus one for use events (ECS task, Lambda code, ECR
 * push), so a busy night never starves protection. Fewer than the batches would throttle the Map on purpose.
 */
export function reservedConcurrencyFor(orchestration: Orchestration, options: StepFunctionsOptions, given: number | undefined): number {
  if (orchestration === 'lambda') return given ?? 1;
  const batches = options.maxConcurrency ?? DEFAULT_MAP_CONCURRENCY;
  if (given !== undefined && given < batches) {
    throw new Error(
      `reservedConcurrency (${given}) must be at least stepFunctions.maxConcurrency (${batches}) with orchestration "stepfunctions": ` +
        `the Map's batches would wait on each other's throttling; raise reservedConcurrency or lower stepFunctions.maxConcurrency`,
    );
  }
  return given ?? batches + 1;
}

export class JanitorStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** An execution FAILED (a repository failed, was blocked or refused, a batch failed), TIMED_OUT or was ABORTED. */
  readonly executionsFailedAlarm: cloudwatch.Alarm;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: JanitorStateMachineProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? DEFAULT_MAP_CONCURRENCY;
    const perBatch = props.repositoriesPerBatch ?? DEFAULT_REPOSITORIES_PER_BATCH;
    const timeout = props.executionTimeout ?? Duration.hours(8);
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 40) {
      throw new Error(`stepFunctions.maxConcurrency must be a whole number from 1 to 40 (ECR's rates are per account), got ${maxConcurrency}`);
    }
    if (!Number.isInteger(perBatch) || perBatch < 1 || perBatch > 1000) {
      throw new Error(`stepFunctions.repositoriesPerBatch must be a whole number from 1 to 1000, got ${perBatch}`);
    }
    const minutes = timeout.toMinutes({ integral: false });
    if (minutes < 15 || minutes > 23 * 60) throw new Error(`stepFunctions.executionTimeout must be from 15 minutes to 23 hours, got ${timeout.toHumanString()}`);
    if (props.reservedConcurrency < maxConcurrency) {
      throw new Error(`reservedConcurrency (${props.reservedConcurrency}) must be at least stepFunctions.maxConcurrency (${maxConcurrency})`);
    }

    // A fixed name, so the role can name the machine's own ARN without depending on it.
    const stateMachineName = Names.uniqueResourceName(this, { maxLength: 80 });
    const ownArn = Stack.of(this).formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // Two executions at once would race each other's writes: a second one (a manual start, a late retry) stops here.
    // SDK integrations take and return PascalCase fields ("Learning to use AWS service SDK integrations in Step Functions").
    const running = new tasks.CallAwsService(this, 'Running executions', {
      service: 'sfn',
      action: 'listExecutions',
      parameters: { StateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'), StatusFilter: 'RUNNING', MaxResults: 2 },
      iamAction: 'states:ListExecutions',
      iamResources: [ownArn],
      resultSelector: { count: sfn.JsonPath.arrayLength(sfn.JsonPath.listAt('$.Executions')) },
      resultPath: '$.running',
    });
    running.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    const anotherRun = new sfn.Fail(this, 'Another run is running', {
      error: 'AnotherRunIsRunning',
      cause: 'Another execution of the janitor is running; two at once would race each other\'s writes. This one did nothing.',
    });

    const list = this.invoke('List repositories', props.function, { step: 'list', runId: sfn.JsonPath.stringAt('$$.Execution.Name') }, {
      resultSelector: { runId: sfn.JsonPath.stringAt('$.step.runId'), bucket: sfn.JsonPath.stringAt('$.step.bucket'), itemsKey: sfn.JsonPath.stringAt('$.step.itemsKey') },
      resultPath: '$.list',
    });

    // The list is read from S3 (ItemReader), not passed inline: 10,000 repository names would pass the 256 KiB a state's
    // input may hold ("Quotas related to state machine executions", Step Functions Developer Guide).
    const map = new sfn.DistributedMap(this, 'Repositories in batches', {
      itemReader: new sfn.S3JsonItemReader({ bucketNamePath: sfn.JsonPath.stringAt('$.list.bucket'), key: sfn.JsonPath.stringAt('$.list.itemsKey') }),
      itemSelector: { repository: sfn.JsonPath.stringAt('$$.Map.Item.Value'), runId: sfn.JsonPath.stringAt('$.list.runId') },
      itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: perBatch }),
      maxConcurrency,
      // One failed batch must not hide the others' results: the aggregate step counts its repositories as failed.
      toleratedFailurePercentage: 100,
      // Standard children: a batch may take the full 15 minutes of a Lambda, past Express's 5-minute limit.
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: '$.batches',
    });
    map.itemProcessor(
      this.invoke(
        'Run batch',
        props.function,
        { step: 'batch', runId: sfn.JsonPath.stringAt('$.Items[0].runId'), repositories: sfn.JsonPath.listAt('$.Items[*].repository') },
        { outputPath: '$.step' },
      ),
    );

    const aggregate = this.invoke('Aggregate report', props.function, {
      step: 'aggregate',
      runId: sfn.JsonPath.stringAt('$.list.runId'),
      batches: sfn.JsonPath.listAt('$.batches'),
    });

    const definition = running.next(new sfn.Choice(this, 'Alone?').when(sfn.Condition.numberGreaterThan('$.running.count', 1), anotherRun).otherwise(list.next(map).next(aggregate)));

    this.logGroup = new logs.LogGroup(this, 'Executions', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment: 'ecr-janitor: list the managed repositories, run them in batches, aggregate one report and one set of metrics',
    });

    // The steps hand over through runs/<execution>/ in the state bucket; the ItemReader reads the list there.
    const runObjects = props.stateBucket.arnForObjects('runs/*');
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadRepositoryList', actions: ['s3:GetObject'], resources: [runObjects] }));
    props.functionRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'RunStepObjects', actions: ['s3:GetObject', 's3:PutObject'], resources: [runObjects] }));
    props.stateBucket.addLifecycleRule({ id: 'ExpireRunSteps', prefix: 'runs/', expiration: Duration.days(14), noncurrentVersionExpiration: Duration.days(1) });
    const runsWhy = 'The Step Functions steps hand over through runs/<execution name>/ objects; the names are known only at run time.';
    acknowledge(props.functionRole, iam5ResourceFinding(this, runObjects), runsWhy);
    acknowledge(this.stateMachine.role, iam5ResourceFinding(this, runObjects), runsWhy);
    acknowledge(this.stateMachine.role, iam5ResourceFinding(this, `${props.function.functionArn}:*`), 'The state machine invokes the janitor function only; the :* resource (its versions and aliases) is what LambdaInvoke grants.');
    // The Distributed Map's own policy (CDK): it starts, describes and stops its child executions, named at run time.
    const executionName = Fn.select(6, Fn.split(':', this.stateMachine.stateMachineArn));
    const executions = (resourceName: string) => Stack.of(this).formatArn({ service: 'states', resource: 'execution', resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    for (const children of [`${executionName}:*`, `${executionName}/*:*`]) {
      acknowledge(this.stateMachine, iam5ResourceFinding(this, executions(children)), "The Distributed Map manages its own child executions, whose names Step Functions chooses at run time (CDK's DistributedMapPolicy).");
    }
    acknowledge(this.stateMachine.role, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing and CloudWatch Logs delivery for the state machine need "*" (their actions take no resource).');

    this.executionsFailedAlarm = new cloudwatch.Alarm(this, 'ExecutionsFailedAlarm', {
      alarmDescription:
        'ecr-janitor Step Functions run did not succeed (FAILED, TIMED_OUT or ABORTED). The execution history names the step; a FAILED aggregate names each repository that failed, was blocked or refused.',
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ statistic: cloudwatch.Stats.SUM }),
          timedOut: this.stateMachine.metricTimedOut({ statistic: cloudwatch.Stats.SUM }),
          aborted: this.stateMachine.metricAborted({ statistic: cloudwatch.Stats.SUM }),
        },
        period: Duration.hours(1),
        label: 'executions not succeeded',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** One step: the function with a fixed payload; Lambda's own errors and throttling are retried with backoff. */
  private invoke(id: string, fn: lambda.IFunction, payload: Record<string, unknown>, options: Partial<tasks.LambdaInvokeProps> = {}): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject(payload),
      payloadResponseOnly: true,
      // Adds the Retry on Lambda.ServiceException, AWSLambdaException, SdkClientException (2 s, x2, 6 attempts).
      retryOnServiceExceptions: true,
      ...options,
    });
    // Reserved concurrency is shared with use events: a throttled step waits and tries again rather than failing.
    task.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(10), backoffRate: 2, maxAttempts: 8, maxDelay: Duration.minutes(2), jitterStrategy: sfn.JitterType.FULL });
    return task;
  }
}
