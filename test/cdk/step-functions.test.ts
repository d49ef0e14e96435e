// orchestration "stepfunctions" (lib/orchestration.ts): the state machine exists only in that mode, its Distributed
// Map is bounded and batched, Lambda errors are retried, the schedule starts it, IAM stays narrow, an alarm watches
// its executions; the payloads its definition sends are what the handler's parser accepts. One synth per mode.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/domain/config.js';
import { parseStepEvent, type StepResult } from '../../lambda/app/run-steps.js';
import { buildApp, orchestrationContext } from '../../lib/app.js';
import { EcrJanitor } from '../../lib/ecr-janitor.js';
import type { EcrJanitorStack } from '../../lib/ecr-janitor-stack.js';
import { ACCOUNT, ENV, FAKE_CODE, REGION, statements } from './support.js';

const CLI_ENV = { CDK_DEFAULT_ACCOUNT: ACCOUNT, CDK_DEFAULT_REGION: REGION };

type State = Record<string, unknown> & { Type: string; Parameters?: Record<string, unknown>; Retry?: { ErrorEquals: string[]; BackoffRate?: number; MaxAttempts?: number }[] };
interface Definition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, State>;
}

/** The state machine's ASL, tokens (function ARN, partition) replaced by a placeholder inside their strings. */
function definitionOf(template: Template): Definition {
  const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } } };
  const parts = machine.Properties.DefinitionString['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN'));
  return JSON.parse(parts.join('')) as Definition;
}

/** Enough JSONPath for the definition's own paths: `$.a.b`, `$$.Execution.Name`, `[0]`, `[*]`. */
function select(path: string, input: unknown, context: unknown): unknown {
  const root = path.startsWith('$$') ? context : input;
  const steps = [...path.replace(/^\$\$?/, '').matchAll(/\.([A-Za-z_]\w*)|\[(\d+|\*)\]/g)].map((m) => m[1] ?? m[2]!);
  const walk = (value: unknown, rest: string[]): unknown => {
    if (rest.length === 0) return value;
    const [step, ...tail] = rest as [string, ...string[]];
    if (step === '*') return (value as unknown[]).map((item) => walk(item, tail));
    const next = (value as Record<string, unknown> | undefined)?.[/^\d+$/.test(step) ? Number(step) : step];
    return walk(next, tail);
  };
  return walk(root, steps);
}

/** Parameters/ItemSelector/ResultSelector as Step Functions applies them: "key.$" fields are paths. */
function render(template: Record<string, unknown>, input: unknown, context: unknown = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) out[key.slice(0, -2)] = select(value as string, input, context);
    else out[key] = value !== null && typeof value === 'object' && !Array.isArray(value) ? render(value as Record<string, unknown>, input, context) : value;
  }
  return out;
}

function synthApp(context: Record<string, unknown>): { stack: EcrJanitorStack; template: Template } {
  const [stack] = buildApp(new App({ context }), { code: FAKE_CODE, env: CLI_ENV });
  return { stack: stack!, template: Template.fromStack(stack!) };
}

describe('orchestration "stepfunctions"', () => {
  let stack: EcrJanitorStack;
  let template: Template;
  let definition: Definition;
  let map: State;
  beforeAll(() => {
    // Prepare: one synth through the CDK app, as `cdk deploy -c orchestration=stepfunctions` builds it.
    ({ stack, template } = synthApp({ orchestration: 'stepfunctions' }));
    definition = definitionOf(template);
    map = definition.States['Repositories in batches']!;
  });

  it('deploys one Standard state machine with an execution timeout, logs and tracing', () => {
    // Assess
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    expect(definition.TimeoutSeconds).toBe(8 * 3600);
    expect(definition.StartAt).toBe('Running executions');
  });

  it('runs the repositories in a Distributed Map: bounded concurrency, batches, read from S3, failures tolerated for the aggregate', () => {
    // Assess ("Using Map state in Distributed mode", Step Functions Developer Guide)
    expect(map).toMatchObject({
      Type: 'Map',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      MaxConcurrency: 4,
      ItemBatcher: { MaxItemsPerBatch: 25 },
      ToleratedFailurePercentage: 100,
      ItemReader: { ReaderConfig: { InputType: 'JSON' }, Parameters: { 'Bucket.$': '$.list.bucket', 'Key.$': '$.list.itemsKey' } },
      Next: 'Aggregate report',
    });
  });

  it('retries Lambda service errors and throttling with backoff on every step', () => {
    // Prepare
    const steps = [definition.States['List repositories']!, (map.ItemProcessor as Definition).States['Run batch']!, definition.States['Aggregate report']!];

    // Assess
    for (const step of steps) {
      const retried = step.Retry!.flatMap((r) => r.ErrorEquals);
      expect(retried).toEqual(expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException']));
      expect(step.Retry!.every((r) => (r.BackoffRate ?? 1) >= 2)).toBe(true);
      // A function error (a failed run) is not retried: it is the answer.
      expect(retried).not.toContain('States.ALL');
    }
  });

  it('stops a second execution while one is running, before anything runs', () => {
    // Prepare
    const check = definition.States['Running executions']!;
    const choice = definition.States['Alone?'] as unknown as { Choices: { Variable: string; NumericGreaterThan: number; Next: string }[]; Default: string };

    // Assess
    expect(check.Parameters).toMatchObject({ 'StateMachineArn.$': '$$.StateMachine.Id', StatusFilter: 'RUNNING' });
    expect(choice.Choices).toEqual([{ Variable: '$.running.count', NumericGreaterThan: 1, Next: 'Another run is running' }]);
    expect(choice.Default).toBe('List repositories');
    expect(definition.States['Another run is running']).toMatchObject({ Type: 'Fail', Error: 'AnotherRunIsRunning' });
  });

  it('has the schedule start the state machine, and its role may do nothing else', () => {
    // Prepare
    const machineRef = { Ref: Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0] };
    const scheduleRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.includes('ScheduleRole'))!;
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find(
      (p) => JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(scheduleRole),
    ) as { Properties: { PolicyDocument: { Statement: { Action: string; Resource: unknown }[] } } };

    // Assess
    template.hasResourceProperties('AWS::Scheduler::Schedule', { Target: Match.objectLike({ Arn: machineRef, Input: '{}' }) });
    expect(policy.Properties.PolicyDocument.Statement.map((s) => [s.Action, s.Resource])).toEqual([
      ['states:StartExecution', machineRef],
      ['sqs:SendMessage', expect.anything()],
    ]);
    expect(JSON.stringify(policy)).not.toContain('lambda:InvokeFunction');
  });

  it('keeps IAM narrow: the machine reads runs/* only, invokes the janitor function only, lists only its own executions', () => {
    // Prepare
    const all = statements(template);
    const s3Reads = all.filter((s) => s.actions.some((a) => a.startsWith('s3:')) && s.Sid === 'ReadRepositoryList');
    const list = all.find((s) => s.actions.includes('states:ListExecutions'))!;
    const invoke = all.filter((s) => s.actions.includes('lambda:InvokeFunction'));

    // Assess
    expect(s3Reads).toHaveLength(1);
    expect(s3Reads[0]!.actions).toEqual(['s3:GetObject']);
    expect(s3Reads[0]!.resources).toEqual([expect.stringMatching(/StateBucket.*\.Arn>\/runs\/\*$/)]);
    expect(list.resources).toEqual([expect.stringMatching(/:states:eu-west-1:123456789012:stateMachine:[A-Za-z0-9]+$/)]);
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.resources.every((r) => /^<EcrJanitorFunction\w+\.Arn>(:\*)?$/.test(r))).toBe(true);
    // The function may hand over through runs/* and nothing new besides.
    expect(all.find((s) => s.Sid === 'RunStepObjects')).toMatchObject({ actions: ['s3:GetObject', 's3:PutObject'], resources: [expect.stringMatching(/\/runs\/\*$/)] });
  });

  it('alarms on executions that failed, timed out or were aborted', () => {
    // Assess
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) => JSON.stringify(a).includes('ExecutionsFailed'));
    expect(alarm).toBeDefined();
    expect(JSON.stringify(alarm)).toContain('ExecutionsTimedOut');
    expect(JSON.stringify(alarm)).toContain('ExecutionsAborted');
    expect(stack.janitor.alarms).toContain(stack.janitor.stateMachine!.executionsFailedAlarm);
  });

  it('reserves concurrency for the Map\'s batches plus one use event, shares the write quota among them, and expires run hand-overs', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 5,
      Environment: { Variables: Match.objectLike({ JANITOR_PARALLEL_BATCHES: '4' }) },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'ExpireRunSteps', Prefix: 'runs/', ExpirationInDays: 14 })]) },
    });
  });

  it('passes cdk-nag AwsSolutions with every acknowledgement in place', () => {
    // Act
    const violations = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);

    // Assess
    expect(violations).toEqual([]);
  });

  it('sends each step a payload the handler accepts, and reads back what the handler returns', () => {
    // Prepare: the inputs each state sees, built from the definition itself and from the handler's own result shape.
    const context = { Execution: { Name: 'nightly-2026-12-02' }, StateMachine: { Id: 'arn:aws:states:eu-west-1:123456789012:stateMachine:x' } };
    const listState = definition.States['List repositories']!;
    const listResult: StepResult = {
      repositories: 3, failed: 0, blocked: 0, refused: 0, reapedImages: 0, reapedBytes: 0, estimatedMonthlySavingsUsd: 0,
      step: { name: 'list', runId: 'nightly-2026-12-02', bucket: 'state-bucket', itemsKey: 'runs/nightly-2026-12-02/repositories.json', repositories: 3 },
    };
    const afterList = { running: { count: 1 }, list: render(listState.ResultSelector as Record<string, unknown>, listResult) };
    const items = ['team/a', 'team/b', 'web'].map((value) => render(map.ItemSelector as Record<string, unknown>, afterList, { ...context, Map: { Item: { Value: value } } }));
    const batchState = (map.ItemProcessor as Definition).States['Run batch']!;
    const batchResult: StepResult = { ...listResult, step: { name: 'batch', runId: 'nightly-2026-12-02', resultKey: 'runs/nightly-2026-12-02/batches/abc.json', repositories: 3 } };
    const afterMap = { ...afterList, batches: [select(batchState.OutputPath as string, batchResult, {})] };

    // Act
    const listEvent = parseStepEvent(render(listState.Parameters!, {}, context));
    const batchEvent = parseStepEvent(render(batchState.Parameters!, { Items: items }, {}));
    const aggregateEvent = parseStepEvent(render(definition.States['Aggregate report']!.Parameters!, afterMap, context));

    // Assess
    expect(afterList.list).toEqual({ runId: 'nightly-2026-12-02', bucket: 'state-bucket', itemsKey: 'runs/nightly-2026-12-02/repositories.json' });
    expect(listEvent).toEqual({ step: 'list', runId: 'nightly-2026-12-02' });
    expect(batchEvent).toEqual({ step: 'batch', runId: 'nightly-2026-12-02', repositories: ['team/a', 'team/b', 'web'] });
    expect(aggregateEvent).toEqual({ step: 'aggregate', runId: 'nightly-2026-12-02', batches: [batchResult.step] });
  });
});

describe('orchestration "lambda" (the default)', () => {
  it('deploys no state machine; the schedule invokes the function, reserved concurrency 1', () => {
    // Act
    const { template } = synthApp({});

    // Assess
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    const fnId = Object.keys(template.findResources('AWS::Lambda::Function')).find((id) => id.startsWith('EcrJanitorFunction'))!;
    template.hasResourceProperties('AWS::Scheduler::Schedule', { Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } }) });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
    expect(JSON.stringify(template.toJSON())).not.toContain('/runs/*');
    expect(JSON.stringify(template.toJSON())).not.toContain('JANITOR_PARALLEL_BATCHES');
  });
});

describe('orchestration settings', () => {
  it('rejects an unknown -c orchestration, naming the field and the allowed values', () => {
    // Prepare
    const app = new App({ context: { orchestration: 'step-functions' } });

    // Act
    let error: unknown;
    try {
      orchestrationContext(app);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([{ field: 'orchestration', message: expect.stringMatching(/"lambda" or "stepfunctions".*"step-functions"/) }]);
  });

  it.each([
    ['an unknown orchestration', { orchestration: 'Lambda' as never }, /orchestration must be "lambda" or "stepfunctions"/],
    ['fewer reserved executions than batches', { orchestration: 'stepfunctions' as const, reservedConcurrency: 2 }, /reservedConcurrency \(2\) must be at least stepFunctions\.maxConcurrency \(4\)/],
    ['no batch at once', { orchestration: 'stepfunctions' as const, stepFunctions: { maxConcurrency: 0 } }, /stepFunctions\.maxConcurrency must be a whole number from 1 to 40/],
    ['a timeout past the next night', { orchestration: 'stepfunctions' as const, stepFunctions: { executionTimeout: Duration.hours(30) } }, /executionTimeout must be from 15 minutes to 23 hours/],
    ['stepFunctions options without the orchestration', { stepFunctions: { maxConcurrency: 2 } }, /stepFunctions is set but orchestration is "lambda"/],
  ])('refuses %s with an error that names the field', (_case, props, message) => {
    // Prepare
    const stack = new Stack(new App(), 'Bad', { env: ENV });

    // Act
    const construct = () => new EcrJanitor(stack, 'Janitor', { config: {}, code: FAKE_CODE, ...props });

    // Assess
    expect(construct).toThrow(message);
  });
});
