// The organization's pins bucket (README "Organization-wide pins"), deployed once, e.g. in a shared-services account.
// One prefix per registry (org-pins/<account>/<region>/) and one object per publishing account in it. The bucket
// policy admits organization members only (aws:PrincipalOrgID), and each only to its own part: it reads the prefix of
// its own registry and writes the documents named after itself, so no account can forge or erase another's pins.
// ${aws:PrincipalAccount} is a policy variable here (IAM User Guide, "IAM policy elements: Variables and tags").
import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { privateVersionedBucketProps } from './private-bucket.js';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

export interface OrgPinsBucketProps {
  /** The AWS Organization whose accounts publish and read pins, e.g. "o-a1b2c3d4e5". */
  readonly organizationId: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Registries whose janitors hear of a new document within seconds: the bucket's S3 events for each registry's prefix
   * are forwarded to that account's default event bus (which must allow events:PutEvents from this account).
   * @default - none: each janitor reads the bucket at its nightly run
   */
  readonly forwardToRegistries?: readonly { account: string; region: string }[];
}

export class OrgPinsBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: OrgPinsBucketProps) {
    super(scope, id);
    if (!/^o-[a-z0-9]{10,32}$/.test(props.organizationId)) throw new Error(`organizationId must look like o-a1b2c3d4e5, got ${props.organizationId}`);
    // Versions keep an overwritten document recoverable: a bad publish must not silently release pins for good.
    this.bucket = new s3.Bucket(this, 'Bucket', privateVersionedBucketProps(props.removalPolicy));
    acknowledge(this.bucket, 'AwsSolutions-S1', 'Small JSON documents written by the janitors of the organization, versioned; each janitor logs what it publishes, so server access logs would add a bucket and cost without new information.');
    // S3 events to EventBridge, forwarded per registry prefix to the registry account's bus (lib/event-rules.ts there).
    if (props.forwardToRegistries && props.forwardToRegistries.length > 0) {
      this.bucket.enableEventBridgeNotification();
      for (const registry of props.forwardToRegistries) {
        const stack = Stack.of(this);
        new events.Rule(this, `Forward${registry.account}${registry.region.replace(/-/g, '')}`, {
          description: `ecr-janitor org pins: new documents about registry ${registry.account}/${registry.region}`,
          eventPattern: {
            source: ['aws.s3'],
            detailType: ['Object Created'],
            detail: { bucket: { name: [this.bucket.bucketName] }, object: { key: events.Match.prefix(`org-pins/${registry.account}/${registry.region}/`) } },
          },
          targets: [new targets.EventBus(events.EventBus.fromEventBusArn(this, `Bus${registry.account}${registry.region.replace(/-/g, '')}`, stack.formatArn({ service: 'events', account: registry.account, region: registry.region, resource: 'event-bus', resourceName: 'default' })))],
        });
      }
    }
    const member = { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } };
    const own = '${aws:PrincipalAccount}';
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'MembersReadTheirRegistryPins',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(`org-pins/${own}/*`), this.bucket.arnForObjects(`org-pins/publishers/${own}-*`)],
        conditions: member,
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'MembersListTheirRegistryPins',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { ...member, StringLike: { 's3:prefix': [`org-pins/${own}/*`, `org-pins/publishers/${own}-*`] } },
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'MembersPublishTheirOwnPins',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`org-pins/*/*/${own}-*`), this.bucket.arnForObjects(`org-pins/publishers/${own}-*`)],
        conditions: member,
      }),
    );
  }
}
