// Skip what did not change, in the construct: with fullReadEveryDays set, every ECR push and delete reaches the
// function (each event once), the function learns where change marks live and may read and write only changes/*.
// Patterns follow "Amazon ECR events and EventBridge" (ECR user guide, ECR Image Action).
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { EcrJanitor } from '../../lib/ecr-janitor.js';
import { ENV, FAKE_CODE, statements } from './support.js';

function synth(config: Record<string, unknown>, protectOnEvents?: boolean) {
  const stack = new Stack(new App(), 'Janitor', { env: ENV });
  new EcrJanitor(stack, 'EcrJanitor', { config, code: FAKE_CODE, ...(protectOnEvents !== undefined ? { protectOnEvents } : {}) });
  return { stack, template: Template.fromStack(stack) };
}

function ecrPatterns(template: Template): unknown[] {
  return Object.values(template.findResources('AWS::Events::Rule'))
    .map((rule) => (rule as { Properties: { EventPattern?: { source?: string[] } } }).Properties.EventPattern)
    .filter((pattern) => pattern?.source?.[0] === 'aws.ecr');
}

function environmentOf(template: Template): Record<string, unknown> {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }[];
  return functions.map((f) => f.Properties.Environment?.Variables ?? {}).find((variables) => 'JANITOR_CONFIG' in variables) ?? {};
}

describe('change marks in the construct', () => {
  it('with fullReadEveryDays, routes untagged pushes and deletes too, wires the marks and grants changes/* only', () => {
    // Act
    const { template } = synth({ fullReadEveryDays: 7 });

    // Assess
    expect(ecrPatterns(template)).toEqual([
      { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'image-tag': [{ exists: true }] } },
      { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'], detail: { 'action-type': ['PUSH'], 'image-tag': [{ exists: false }] } },
      { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'], detail: { 'action-type': ['DELETE'] } },
    ]);
    expect(environmentOf(template).CHANGE_MARKS_PREFIX).toBe('changes/');
    const marks = statements(template).filter((s) => s.Sid === 'ReadWriteChangeMarks');
    expect(marks).toHaveLength(1);
    expect(marks[0]!.actions).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(marks[0]!.resources).toEqual([expect.stringMatching(/\/changes\/\*$/)]);
  });

  it('without it (the default), or without event rules, every repository is read whole: no marks, no extra rules', () => {
    // Act
    const byDefault = synth({});
    const noEvents = synth({ fullReadEveryDays: 7 }, false);

    // Assess
    expect(ecrPatterns(byDefault.template)).toHaveLength(1);
    expect(environmentOf(byDefault.template).CHANGE_MARKS_PREFIX).toBeUndefined();
    expect(statements(byDefault.template).filter((s) => s.Sid === 'ReadWriteChangeMarks')).toEqual([]);
    expect(environmentOf(noEvents.template).CHANGE_MARKS_PREFIX).toBeUndefined();
  });

  it('leaves cdk-nag nothing unacknowledged', () => {
    // Prepare
    const { stack } = synth({ fullReadEveryDays: 7 });

    // Act
    const violations = new AwsSolutionsChecks().validateScope(stack).violations;

    // Assess
    expect(violations.filter((v) => /UseEvents|changes\//.test(JSON.stringify(v)))).toEqual([]);
  });
});
