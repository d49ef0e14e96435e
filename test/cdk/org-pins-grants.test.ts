// Organization-wide pins in CDK (issue 10 point 2): the janitor's grants on the org pins bucket and the bucket policy.
// In the cdk project (moved from test/events/org-pins.test.ts) so aws-cdk-lib and cdk-nag load once for all CDK files.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { flattenCfnReference } from '../../lib/nag.js';
import { OrgPinsBucket } from '../../lib/org-pins-bucket.js';
import { orgPinGrants } from '../../lib/permissions.js';

const A = { accountId: '111111111111', region: 'eu-west-1' };

describe('org pins in CDK', () => {
  it('grants the janitor its own registry prefix and its own documents, and the bucket admits organization members only', () => {
    // Prepare
    const stack = new Stack(new App(), 'Pins', { env: { account: A.accountId, region: A.region } });

    // Act
    const grants = orgPinGrants(stack, 'org-pins-bucket');
    new OrgPinsBucket(stack, 'OrgPins', { organizationId: 'o-a1b2c3d4e5' });
    const policy = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'))[0] as { Properties: { PolicyDocument: { Statement: { Sid?: string; Condition?: Record<string, unknown> }[] } } };
    const violations = new AwsSolutionsChecks().validateScope(stack).violations;

    // Assess
    const flat = grants.map((g) => {
      const json = stack.resolve(g.statement.toJSON()) as { Action: string; Resource: unknown; Condition?: unknown };
      return { action: json.Action, resources: ([] as unknown[]).concat(json.Resource).map(flattenCfnReference), condition: json.Condition };
    });
    const bucketArn = 'arn:<AWS::Partition>:s3:::org-pins-bucket';
    expect(flat).toEqual([
      { action: 's3:GetObject', resources: [`${bucketArn}/org-pins/111111111111/eu-west-1/*`, `${bucketArn}/org-pins/publishers/111111111111-eu-west-1.json`], condition: undefined },
      { action: 's3:ListBucket', resources: [bucketArn], condition: { StringLike: { 's3:prefix': ['org-pins/111111111111/eu-west-1/*', 'org-pins/publishers/111111111111-eu-west-1.json'] } } },
      { action: 's3:PutObject', resources: [`${bucketArn}/org-pins/*/*/111111111111-eu-west-1.json`, `${bucketArn}/org-pins/publishers/111111111111-eu-west-1.json`], condition: undefined },
    ]);
    for (const sid of ['MembersReadTheirRegistryPins', 'MembersListTheirRegistryPins', 'MembersPublishTheirOwnPins']) {
      const statement = policy.Properties.PolicyDocument.Statement.find((s) => s.Sid === sid);
      expect(statement?.Condition).toMatchObject({ StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } });
    }
    expect(violations.map((v) => v.ruleName)).toEqual([]);
  });
});
