// The deployable stack, bundled for real: cdk-nag AwsSolutions finds nothing unacknowledged, every acknowledgement
// has a reason, and the template holds what an operator relies on (targeted assertions, no whole-template snapshot).
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { EcrJanitorStack } from '../../lib/ecr-janitor-stack.js';
import { ENV } from './support.js';

const CONFIG = {
  repositories: { include: ['team-*', 'app'], exclude: ['team-secret*'] },
  pins: { ecs: true, lambda: true, ssmParameter: '/ecr-janitor/pins' },
  schedule: 'cron(0 3 * * ? *)',
};

describe('EcrJanitorStack', () => {
  let app: App;
  let stack: EcrJanitorStack;
  let template: Template;

  beforeAll(() => {
    // Prepare: one real (bundled) stack, checked by cdk-nag the way bin/ecr-janitor.ts wires it.
    app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    stack = new EcrJanitorStack(app, 'EcrJanitor', { env: ENV, config: CONFIG, alarmEmail: 'ops@example.com' });
    template = Template.fromStack(stack);
  });

  describe('cdk-nag AwsSolutions', () => {
    it('reports no unacknowledged finding', () => {
      const report = new AwsSolutionsChecks().validateScope(stack);
      const findings = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
      expect(findings).toEqual([]);
    });

    it('lets the app synthesize (the validation plugin would throw on an error)', () => {
      expect(() => app.synth()).not.toThrow();
    });

    it('acknowledges every finding with a specific reason', () => {
      const acks = stack.node
        .findAll()
        .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((m) => Object.entries(m.data as Record<string, string>));
      expect(acks.length).toBeGreaterThan(0);
      for (const [id, reason] of acks) {
        expect(id).toMatch(/AwsSolutions-/);
        expect(reason.length, id).toBeGreaterThan(40);
      }
    });

    it('does catch a violation (the check is not vacuous)', () => {
      const bad = new Stack(new App(), 'Bad');
      new s3.Bucket(bad, 'Bucket');
      const rules = new AwsSolutionsChecks().validateScope(bad).violations.map((v) => v.ruleName);
      expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
    });
  });

  it('outputs the names an operator needs', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(expect.arrayContaining(['FunctionName', 'LogGroupName', 'StateBucketName', 'DashboardName']));
  });

  it('deploys the bundled handler on ARM64 with source maps, never two runs at once', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 1,
      Code: { S3Key: Match.stringLikeRegexp('^[a-f0-9]{64}\\.zip$') },
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps', JANITOR_STACK: 'EcrJanitor', JANITOR_CONFIG: Match.anyValue(), STATE_BUCKET: Match.anyValue() }) },
    });
  });

  it('has one schedule, one state bucket, the alarms with their topic and a dashboard', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});
