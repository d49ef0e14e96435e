// Least-privilege IAM for the janitor, derived from the validated config. IAM ARNs accept `*` and `?` with the same
// meaning as our repository globs (`*` also spans `/`), so an include glob becomes a repository ARN pattern as is.
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import type { JanitorConfig } from '../lambda/domain/types.js';

/**
 * What the janitor changes in a repository: lifecycle policy, protection tags (PutImage), tag removal. Every ECR write
 * the role holds is in this list (it has no TagResource, so it cannot opt a repository in by itself).
 */
export const ECR_WRITE_ACTIONS = ['ecr:PutLifecyclePolicy', 'ecr:PutImage', 'ecr:BatchDeleteImage'] as const;

/**
 * Per-repository reads. ListImageReferrers is authorized by ecr:BatchGetImage; the action is listed for clarity.
 * StartLifecyclePolicyPreview is "Write" in IAM's access levels but changes nothing in the repository; with
 * repositories.tag it carries the same tag condition as the writes.
 */
export const ECR_REPOSITORY_READ_ACTIONS = [
  'ecr:DescribeImages',
  'ecr:BatchGetImage',
  'ecr:ListImages',
  'ecr:GetLifecyclePolicy',
  'ecr:GetLifecyclePolicyPreview',
  'ecr:StartLifecyclePolicyPreview',
  'ecr:ListImageReferrers',
] as const;

export const ECS_PIN_ACTIONS = [
  'ecs:ListClusters',
  'ecs:ListServices',
  'ecs:DescribeServices',
  'ecs:ListTasks',
  'ecs:DescribeTasks',
  'ecs:DescribeTaskDefinition',
] as const;

export const LAMBDA_PIN_ACTIONS = ['lambda:ListFunctions', 'lambda:GetFunction'] as const;

/**
 * Object writes the state bucket refuses to every principal but the janitor's role (and the break-glass role): a
 * state written by anyone else could end a pin's grace early. PutObject also covers CopyObject and multipart uploads.
 */
export const STATE_WRITE_ACTIONS = [
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:PutObjectTagging',
  's3:DeleteObjectTagging',
  's3:ReplicateObject',
  's3:ReplicateDelete',
] as const;

/** `arn:<partition>:ecr:<region>:<account>:repository/<glob>` for this stack's account and region. */
export function repositoryArn(scope: IConstruct, glob: string): string {
  return Stack.of(scope).formatArn({ service: 'ecr', resource: 'repository', resourceName: glob });
}

/** The one parameter's ARN; names with and without a leading slash both map to `parameter/<name>`. */
export function ssmParameterArn(scope: IConstruct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
}

export interface JanitorGrant {
  statement: iam.PolicyStatement;
  /** Wildcard resources in an Allow (cdk-nag IAM5 findings), each with why it cannot be narrower. */
  wildcards: { resource: string; reason: string }[];
}

const STATE_PREFIX = 'state/';

/**
 * With repositories.tag set, the repository statements only apply where the repository carries the tag: IAM then
 * refuses a write to any other repository, whatever the code does. ECR evaluates aws:ResourceTag on repository
 * resources (Amazon ECR User Guide, "Using Tag-Based Access Control"; Service Authorization Reference, "Actions,
 * resources, and condition keys for Amazon Elastic Container Registry").
 */
export function repositoryTagCondition(config: JanitorConfig): Record<string, Record<string, string>> | undefined {
  const tag = config.repositories.tag;
  return tag ? { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } } : undefined;
}

/** Every statement the janitor's role needs for `config`, in a stable order. */
export function janitorGrants(scope: IConstruct, config: JanitorConfig, stateBucket: IBucket): JanitorGrant[] {
  const stack = Stack.of(scope);
  const include = unique(config.repositories.include);
  const exclude = unique(config.repositories.exclude);
  const managed = include.map((glob) => repositoryArn(scope, glob));
  const optedIn = repositoryTagCondition(config);
  const onlyOptedIn = optedIn ? { conditions: optedIn } : {};
  const grants: JanitorGrant[] = [];
  const globReason = (glob: string) =>
    `Repository glob "${glob}" from repositories.include in the janitor config: the janitor manages every repository it matches, and IAM ARN wildcards match exactly like the config globs.`;

  grants.push({
    statement: new iam.PolicyStatement({ sid: 'ReadRegistry', actions: ['ecr:DescribeRegistry'], resources: ['*'] }),
    wildcards: [{ resource: '*', reason: 'ecr:DescribeRegistry has no resource type in IAM (registry-level call); it only returns the registry id and replication settings.' }],
  });
  grants.push({
    statement: new iam.PolicyStatement({
      sid: 'ListRepositories',
      // ListTagsForResource: DescribeRepositories returns no tags, and repositories.tag selects by them.
      actions: ['ecr:DescribeRepositories', ...(optedIn ? ['ecr:ListTagsForResource'] : [])],
      resources: [repositoryArn(scope, '*')],
    }),
    wildcards: [
      {
        resource: repositoryArn(scope, '*'),
        reason: `DescribeRepositories enumerates the repositories of this registry so the config globs can be matched${optedIn ? ', and ListTagsForResource reads their tags to find those that opted in (repositories.tag)' : ''}; they return repository metadata only, no images.`,
      },
    ],
  });
  grants.push({
    statement: new iam.PolicyStatement({ sid: 'ReadManagedRepositories', actions: [...ECR_REPOSITORY_READ_ACTIONS], resources: managed, ...onlyOptedIn }),
    wildcards: include.filter((g) => g.includes('*')).map((glob) => ({ resource: repositoryArn(scope, glob), reason: globReason(glob) })),
  });
  grants.push({
    statement: new iam.PolicyStatement({ sid: 'WriteManagedRepositories', actions: [...ECR_WRITE_ACTIONS], resources: managed, ...onlyOptedIn }),
    wildcards: [],
  });
  if (exclude.length > 0) {
    // Belt and braces: even if an include glob also matches an excluded repository, IAM refuses the write.
    grants.push({
      statement: new iam.PolicyStatement({
        sid: 'NeverWriteExcludedRepositories',
        effect: iam.Effect.DENY,
        actions: [...ECR_WRITE_ACTIONS],
        resources: exclude.map((glob) => repositoryArn(scope, glob)),
      }),
      wildcards: [],
    });
  }

  if (config.pins.ecs) {
    const ecsArn = (resource: string) => stack.formatArn({ service: 'ecs', resource, resourceName: '*' });
    grants.push({
      statement: new iam.PolicyStatement({
        sid: 'DiscoverEcsPins',
        actions: ['ecs:ListClusters', 'ecs:ListServices', 'ecs:ListTasks', 'ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
      wildcards: [
        {
          resource: '*',
          reason:
            'ecs:ListClusters and ecs:DescribeTaskDefinition support no resource type; ecs:ListServices and ecs:ListTasks only a cluster condition, and the janitor must see every cluster to find every image in use (pins.ecs).',
        },
      ],
    });
    grants.push({
      statement: new iam.PolicyStatement({ sid: 'DescribeEcsServices', actions: ['ecs:DescribeServices'], resources: [ecsArn('service')] }),
      wildcards: [{ resource: ecsArn('service'), reason: 'Pin discovery (pins.ecs) reads every ECS service of this account and region: a service it cannot see would make its image look unused.' }],
    });
    grants.push({
      statement: new iam.PolicyStatement({ sid: 'DescribeEcsTasks', actions: ['ecs:DescribeTasks'], resources: [ecsArn('task')] }),
      wildcards: [{ resource: ecsArn('task'), reason: 'Pin discovery (pins.ecs) reads every running ECS task of this account and region, including standalone tasks outside services.' }],
    });
  }

  if (config.pins.lambda) {
    const functions = stack.formatArn({ service: 'lambda', resource: 'function', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    grants.push({
      statement: new iam.PolicyStatement({ sid: 'ListLambdaFunctions', actions: ['lambda:ListFunctions'], resources: ['*'] }),
      wildcards: [{ resource: '*', reason: 'lambda:ListFunctions supports no resource type; pin discovery (pins.lambda) lists functions to find container-image ones.' }],
    });
    grants.push({
      statement: new iam.PolicyStatement({ sid: 'ReadLambdaImages', actions: ['lambda:GetFunction'], resources: [functions] }),
      wildcards: [{ resource: functions, reason: 'Pin discovery (pins.lambda) reads the resolved image URI of every container-image function of this account and region.' }],
    });
  }

  if (config.pins.ssmParameter) {
    grants.push({
      statement: new iam.PolicyStatement({ sid: 'ReadPinParameter', actions: ['ssm:GetParameter'], resources: [ssmParameterArn(scope, config.pins.ssmParameter)] }),
      wildcards: [],
    });
  }

  if (config.pins.orgBucket) grants.push(...orgPinGrants(scope, config.pins.orgBucket));

  const stateObjects = stateBucket.arnForObjects(`${STATE_PREFIX}*`);
  grants.push({
    statement: new iam.PolicyStatement({ sid: 'ReadWriteState', actions: ['s3:GetObject', 's3:PutObject'], resources: [stateObjects] }),
    wildcards: [{ resource: stateObjects, reason: 'One state object per managed repository (state/<repository>.json) in the stack-owned state bucket; repository names are not known at deploy time.' }],
  });
  if ((config.fullReadEveryDays ?? 0) > 0) {
    // Change marks (adapters/change-marks-s3.ts): written by the ECR event path, read by the nightly run.
    const changeObjects = stateBucket.arnForObjects('changes/*');
    grants.push({
      statement: new iam.PolicyStatement({ sid: 'ReadWriteChangeMarks', actions: ['s3:GetObject', 's3:PutObject'], resources: [changeObjects] }),
      wildcards: [{ resource: changeObjects, reason: 'One change mark per repository (changes/<repository>) in the stack-owned state bucket; repository names are not known at deploy time.' }],
    });
  }
  grants.push({
    // Without ListBucket a missing state object (a repository's first run) reads as AccessDenied, not NoSuchKey. No
    // s3:prefix condition: S3's implicit check for that 404 carries no prefix. The bucket holds nothing but state.
    statement: new iam.PolicyStatement({ sid: 'ListState', actions: ['s3:ListBucket'], resources: [stateBucket.bucketArn] }),
    wildcards: [],
  });
  return grants;
}

/**
 * The state bucket's guard: no principal but `writers` (role ARNs) may write or delete `state/*`. An explicit deny in a
 * bucket policy wins over any identity policy in the account, an administrator's included (IAM User Guide, "Policy
 * evaluation logic"); aws:PrincipalArn is the role's ARN for its sessions (IAM User Guide, "AWS global condition
 * context keys").
 */
export function stateWriteGuard(stateBucket: IBucket, writers: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'OnlyTheJanitorWritesState',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: [...STATE_WRITE_ACTIONS],
    resources: [stateBucket.arnForObjects(`${STATE_PREFIX}*`)],
    conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...writers] } },
  });
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * Organization-wide pins (lib/org-pins-bucket.ts): read this registry's prefix, write this account's own documents and
 * its publisher index. The bucket policy, in the bucket's account, allows the same to organization members only.
 */
export function orgPinGrants(scope: IConstruct, bucket: string): JanitorGrant[] {
  const { account, region, partition } = Stack.of(scope);
  const bucketArn = `arn:${partition}:s3:::${bucket}`;
  const ownPrefix = `org-pins/${account}/${region}/`;
  const ownIndex = `org-pins/publishers/${account}-${region}.json`;
  const ownDocuments = `${bucketArn}/org-pins/*/*/${account}-${region}.json`;
  const reason = `Organization-wide pins in bucket ${bucket}: one document per publishing account under this registry's prefix; the publishing accounts are not known at deploy time.`;
  return [
    {
      statement: new iam.PolicyStatement({ sid: 'ReadOrgPins', actions: ['s3:GetObject'], resources: [`${bucketArn}/${ownPrefix}*`, `${bucketArn}/${ownIndex}`] }),
      wildcards: [{ resource: `${bucketArn}/${ownPrefix}*`, reason }],
    },
    {
      // ListBucket limited to the two prefixes; without it a missing document reads as AccessDenied, not NoSuchKey.
      statement: new iam.PolicyStatement({ sid: 'ListOrgPins', actions: ['s3:ListBucket'], resources: [bucketArn], conditions: { StringLike: { 's3:prefix': [`${ownPrefix}*`, ownIndex] } } }),
      wildcards: [],
    },
    {
      statement: new iam.PolicyStatement({ sid: 'PublishOrgPins', actions: ['s3:PutObject'], resources: [ownDocuments, `${bucketArn}/${ownIndex}`] }),
      wildcards: [{ resource: ownDocuments, reason: `This account publishes its uses of each other registry under that registry's prefix in ${bucket}; which registries it uses is only known at run time.` }],
    },
  ];
}
