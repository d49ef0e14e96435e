// Shared helpers for the CDK assertion tests.
import type { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { flattenCfnReference } from '../../lib/nag.js';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const ENV = { account: ACCOUNT, region: REGION };

/** Stand-in code for tests that do not look at the bundle (bundling is exercised in the stack and function tests). */
export const FAKE_CODE = lambda.Code.fromInline('export const handler = async () => ({});');

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every statement of every IAM policy in the template, with resources flattened the way cdk-nag prints them. */
export function statements(template: Template): (Statement & { resources: string[]; actions: string[] })[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((policy) =>
    ((policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement ?? []).map((s) => ({
      ...s,
      actions: Array.isArray(s.Action) ? s.Action : [s.Action],
      resources: (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map(flattenCfnReference),
    })),
  );
}

export function statement(template: Template, sid: string) {
  const found = statements(template).find((s) => s.Sid === sid);
  if (!found) throw new Error(`no IAM statement with Sid ${sid}; have ${statements(template).map((s) => s.Sid).join(', ')}`);
  return found;
}

/** A flattened repository ARN in the test account/region (partition left as CDK renders it). */
export function repoArn(glob: string): RegExp {
  const escaped = glob.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^arn:(aws|<AWS::Partition>):ecr:${REGION}:${ACCOUNT}:repository/${escaped}$`);
}

/** Template JSON with asset hashes and S3 keys scrubbed, for snapshots that survive code changes. */
export function scrubbedTemplate(template: Template): unknown {
  const text = JSON.stringify(template.toJSON(), null, 2)
    .replace(/[a-f0-9]{64}(\.zip|\.json)?/g, '<HASH>$1')
    .replace(/"S3Key": "[^"]*"/g, '"S3Key": "<S3KEY>"');
  return JSON.parse(text);
}
