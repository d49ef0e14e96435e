// One janitor per account and region: the stack is the EcrJanitor construct plus a few outputs.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { EcrJanitor, type EcrJanitorProps } from './ecr-janitor.js';

export interface EcrJanitorStackProps extends StackProps, EcrJanitorProps {
  /** ARN of an existing SNS topic for the run report digest (`-c reportTopicArn=`); `reportTopic` wins. */
  readonly reportTopicArn?: string;
}

export class EcrJanitorStack extends Stack {
  readonly janitor: EcrJanitor;

  constructor(scope: Construct, id: string, props: EcrJanitorStackProps) {
    super(scope, id, {
      description: 'ecr-janitor: scheduled Lambda that installs ECR lifecycle policies, protects pinned images and reports what was reaped',
      ...props,
    });
    const reportTopic = props.reportTopic ?? (props.reportTopicArn ? sns.Topic.fromTopicArn(this, 'ReportTopic', props.reportTopicArn) : undefined);
    this.janitor = new EcrJanitor(this, 'EcrJanitor', { ...props, ...(reportTopic ? { reportTopic } : {}) });

    new CfnOutput(this, 'FunctionName', { value: this.janitor.function.functionName, description: 'Invoke it by hand: aws lambda invoke --function-name <this> out.json' });
    new CfnOutput(this, 'LogGroupName', { value: this.janitor.logGroup.logGroupName, description: 'Run summaries and per-repository decisions' });
    new CfnOutput(this, 'StateBucketName', { value: this.janitor.stateBucket.bucketName, description: 'Per-repository state (state/<repository>.json) and run reports (reports/<date>.md, .json)' });
    if (this.janitor.dashboard) {
      new CfnOutput(this, 'DashboardName', { value: this.janitor.dashboard.dashboardName, description: 'CloudWatch dashboard of reaped, pending and protected images' });
    }
  }
}
