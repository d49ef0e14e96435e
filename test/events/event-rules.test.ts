// lib/event-rules.ts through the EcrJanitor construct: one rule per enabled pin source, documented event patterns,
// the function as target, nothing new for cdk-nag to flag.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { EcrJanitor } from '../../lib/ecr-janitor.js';
import { ENV, FAKE_CODE } from '../cdk/support.js';

function synth(config: Record<string, unknown>, protectOnEvents?: boolean) {
  const stack = new Stack(new App(), 'Janitor', { env: ENV });
  new EcrJanitor(stack, 'EcrJanitor', { config, code: FAKE_CODE, ...(protectOnEvents !== undefined ? { protectOnEvents } : {}) });
  return { stack, template: Template.fromStack(stack) };
}

function eventPatterns(template: Template): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::Events::Rule'))
    .map((rule) => (rule as { Properties: { EventPattern?: Record<string, unknown> } }).Properties.EventPattern)
    .filter((pattern): pattern is Record<string, unknown> => pattern !== undefined);
}

describe('use event rules', () => {
  it('routes running ECS tasks, successful Lambda image code changes and tag pushes to the function', () => {
    // Act
    const { template } = synth({});

    // Assess
    expect(eventPatterns(template)).toEqual(
      expect.arrayContaining([
        { source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'], detail: { desiredStatus: ['RUNNING'], lastStatus: ['RUNNING'] } },
        {
          source: ['aws.lambda'],
          'detail-type': ['AWS API Call via CloudTrail'],
          detail: { eventSource: ['lambda.amazonaws.com'], eventName: [{ prefix: 'CreateFunction' }, { prefix: 'UpdateFunctionCode' }], errorCode: [{ exists: false }] },
        },
        { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'image-tag': [{ exists: true }] } },
      ]),
    );
    expect(eventPatterns(template)).toHaveLength(3);
    // Each use rule may invoke the function: one permission whose SourceArn is that rule.
    const ruleIds = Object.entries(template.findResources('AWS::Events::Rule'))
      .filter(([, rule]) => (rule as { Properties: { EventPattern?: unknown } }).Properties.EventPattern !== undefined)
      .map(([id]) => id);
    const permitted = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => JSON.stringify((p as { Properties: { SourceArn?: unknown } }).Properties.SourceArn));
    for (const id of ruleIds) expect(permitted.filter((arn) => arn.includes(`"${id}"`))).toHaveLength(1);
  });

  it('adds no rule for a pin source the config turns off, and none when protectOnEvents is false', () => {
    // Act
    const ecsOnly = synth({ pins: { lambda: false } });
    const off = synth({}, false);

    // Assess
    expect(eventPatterns(ecsOnly.template).map((p) => p.source)).toEqual([['aws.ecs'], ['aws.ecr']]);
    expect(eventPatterns(off.template)).toEqual([]);
  });

  it('leaves cdk-nag nothing unacknowledged about the rules', () => {
    // Prepare
    const { stack } = synth({});

    // Act
    const violations = new AwsSolutionsChecks().validateScope(stack).violations;

    // Assess
    expect(violations.filter((v) => /UseEvents/.test(JSON.stringify(v)))).toEqual([]);
  });
});

describe('organization pins events', () => {
  it('routes documents published about this registry to the function, and the bucket forwards them per registry', async () => {
    // Prepare
    const { OrgPinsBucket } = await import('../../lib/org-pins-bucket.js');
    const pinsStack = new Stack(new App(), 'Pins', { env: { account: '999999999999', region: 'eu-west-1' } });
    new OrgPinsBucket(pinsStack, 'OrgPins', { organizationId: 'o-a1b2c3d4e5', forwardToRegistries: [{ account: ENV.account, region: ENV.region }] });

    // Act
    const { template } = synth({ pins: { orgBucket: 'org-pins-bucket' } });
    const forwarding = eventPatterns(Template.fromStack(pinsStack));

    // Assess
    expect(eventPatterns(template)).toContainEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['org-pins-bucket'] }, object: { key: [{ prefix: `org-pins/${ENV.account}/${ENV.region}/` }] } },
    });
    expect(forwarding).toEqual([expect.objectContaining({ detail: expect.objectContaining({ object: { key: [{ prefix: `org-pins/${ENV.account}/${ENV.region}/` }] } }) })]);
  });
});

describe('cdk-nag with organization pins', () => {
  it('acknowledges every wildcard of the org pins grants with a reason', () => {
    // Prepare
    const { stack } = synth({ pins: { orgBucket: 'org-pins-bucket' } });

    // Act
    const violations = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);

    // Assess
    expect(violations.filter((rule) => /org-pins|OrgPins|UseEvents/.test(rule))).toEqual([]);
    expect(violations).toEqual([]);
  });
});
