// lib/nag.ts: finding ids must match what cdk-nag prints, or an acknowledgement silently misses.
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { acknowledge, flattenCfnReference, iam5ResourceFinding } from '../../lib/nag.js';

describe('flattenCfnReference', () => {
  it('flattens joins, refs and attributes the way cdk-nag does', () => {
    expect(flattenCfnReference('*')).toBe('*');
    expect(flattenCfnReference({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b/*']] })).toBe('arn:<AWS::Partition>:s3:::b/*');
    expect(flattenCfnReference({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket1', 'Arn'] }, '/state/*']] })).toBe('<Bucket1.Arn>/state/*');
    expect(flattenCfnReference({ 'Fn::Sub': 'arn:${AWS::Partition}:x' })).toBe('arn:<AWS::Partition>:x');
  });
});

describe('iam5ResourceFinding', () => {
  it('acknowledges exactly the finding cdk-nag reports', () => {
    const stack = new Stack(new App(), 'Nag');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const arn = stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: 'team-*' });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:DescribeImages'], resources: [arn] }));
    const before = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(before).toContain(iam5ResourceFinding(stack, arn));

    acknowledge(role, iam5ResourceFinding(stack, arn), 'Test: the role reads every team-* repository by design.');
    const after = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(after.filter((r) => r.startsWith('AwsSolutions-IAM5'))).toEqual([]);
  });
});

describe('acknowledge', () => {
  it('refuses an acknowledgement without a real reason', () => {
    const stack = new Stack(new App(), 'Nag');
    expect(() => acknowledge(stack, 'AwsSolutions-S1', 'because')).toThrow(/reason/);
    acknowledge(stack, 'AwsSolutions-S1', 'A specific reason that says why the rule does not apply.');
    expect(stack.node.metadata.some((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)).toBe(true);
  });
});
