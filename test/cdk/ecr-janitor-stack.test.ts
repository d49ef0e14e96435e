// The deployable stack, bundled for real: cdk-nag AwsSolutions finds nothing unacknowledged, every acknowledgement
// has a reason, and the template matches the snapshot (asset hashes scrubbed).
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { EcrJanitorStack } from '../../lib/ecr-janitor-stack.js';
import { ENV, scrubbedTemplate } from './support.js';

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

  it('matches the template snapshot', () => {
    expect(scrubbedTemplate(template)).toMatchSnapshot();
  });
});
