// EventBridge rules that route a new use of an image to the janitor's function between nightly runs (README "How the
// janitor knows an image is in use"). Patterns follow the documented events: "Amazon ECS task state change events"
// (ECS developer guide) and "AWS API Call via CloudTrail" for Lambda (EventBridge user guide; needs a CloudTrail
// trail recording management events in the region). Successful ECR pushes of a tag ("Amazon ECR events and
// EventBridge", ECR user guide) are routed too: the image the tag left may still run, and the function finds it from
// the last run's tag map in the run state.
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { JanitorConfig } from '../lambda/domain/types.js';

export interface UseEventRulesProps {
  readonly function: lambda.IFunction;
  readonly config: JanitorConfig;
  /** @default true */
  readonly enabled?: boolean;
  /**
   * Route every ECR push and delete (not only tagged pushes), so the function marks the repository changed and the
   * nightly run reads it whole (README "Scaling", "Unchanged repositories"). @default false
   */
  readonly changeMarks?: boolean;
}

/** One rule per pin source the config enables: a source the janitor does not scan gets no event either. */
export class UseEventRules extends Construct {
  readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: UseEventRulesProps) {
    super(scope, id);
    // A use is worth protecting for minutes, not hours: an event older than this is covered by the nightly scan.
    const target = () => new targets.LambdaFunction(props.function, { retryAttempts: 4, maxEventAge: Duration.hours(1) });
    if (props.config.pins.ecs) {
      this.rules.push(
        new events.Rule(this, 'EcsTaskRunning', {
          description: 'ecr-janitor: protect the images of an ECS task that starts running',
          enabled: props.enabled ?? true,
          // Only tasks meant to run, once they run: the event then carries the digest ECS resolved (imageDigest).
          eventPattern: { source: ['aws.ecs'], detailType: ['ECS Task State Change'], detail: { desiredStatus: ['RUNNING'], lastStatus: ['RUNNING'] } },
          targets: [target()],
        }),
      );
    }
    const orgBucket = props.config.pins.orgBucket;
    if (orgBucket) {
      const { account, region } = Stack.of(this);
      this.rules.push(
        new events.Rule(this, 'OrgPinsPublished', {
          description: "ecr-janitor: another account published what it uses of this registry (forwarded by the org pins bucket's account)",
          enabled: props.enabled ?? true,
          eventPattern: {
            source: ['aws.s3'],
            detailType: ['Object Created'],
            detail: { bucket: { name: [orgBucket] }, object: { key: events.Match.prefix(`org-pins/${account}/${region}/`) } },
          },
          targets: [target()],
        }),
      );
    }
    // Not tied to a pin source: whatever deployed the old image by tag (ECS, Lambda, EKS, a person) may still run it.
    this.rules.push(
      new events.Rule(this, 'EcrTagPushed', {
        description: 'ecr-janitor: protect the image a pushed tag left (it may still run)',
        enabled: props.enabled ?? true,
        eventPattern: { source: ['aws.ecr'], detailType: ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'image-tag': events.Match.exists() } },
        targets: [target()],
      }),
    );
    if (props.changeMarks) {
      // Tagged pushes already come through EcrTagPushed (which marks them too): these add the rest, each event once.
      this.rules.push(
        new events.Rule(this, 'EcrUntaggedPush', {
          description: 'ecr-janitor: mark a repository changed by a push without a tag (an index child, a push by digest)',
          enabled: props.enabled ?? true,
          eventPattern: { source: ['aws.ecr'], detailType: ['ECR Image Action'], detail: { 'action-type': ['PUSH'], 'image-tag': events.Match.doesNotExist() } },
          targets: [target()],
        }),
        new events.Rule(this, 'EcrImageDeleted', {
          description: 'ecr-janitor: mark a repository changed by a delete (a person or a tool; lifecycle expiries are not documented to emit it)',
          enabled: props.enabled ?? true,
          eventPattern: { source: ['aws.ecr'], detailType: ['ECR Image Action'], detail: { 'action-type': ['DELETE'] } },
          targets: [target()],
        }),
      );
    }
    if (props.config.pins.lambda) {
      this.rules.push(
        new events.Rule(this, 'LambdaImageCode', {
          description: 'ecr-janitor: protect the image of a Lambda function created or updated from a container image (needs a CloudTrail trail)',
          enabled: props.enabled ?? true,
          eventPattern: {
            source: ['aws.lambda'],
            detailType: ['AWS API Call via CloudTrail'],
            detail: {
              eventSource: ['lambda.amazonaws.com'],
              eventName: events.Match.anyOf(events.Match.prefix('CreateFunction'), events.Match.prefix('UpdateFunctionCode')),
              errorCode: events.Match.doesNotExist(),
            },
          },
          targets: [target()],
        }),
      );
    }
  }
}
