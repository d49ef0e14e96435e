// EventBridge events as AWS documents them, for the event-path tests. Shapes: "Amazon ECS task state change events"
// (ECS developer guide), "Amazon ECR events and EventBridge" (ECR user guide), "AWS API Call via CloudTrail"
// (EventBridge user guide) with Lambda's CreateFunction20150331 / UpdateFunctionCode20150331v2 request parameters.
export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
export const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;

export function ecsTaskEvent(containers: { image: string; imageDigest?: string }[], options: { desiredStatus?: string; group?: string } = {}) {
  return {
    version: '0',
    id: '3317b2af-7005-947d-b652-f55e762e571a',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: '2026-01-02T14:00:00Z',
    region: REGION,
    resources: [`arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/b8a1a9a0`],
    detail: {
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`,
      containers: containers.map((c, i) => ({
        containerArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container/prod/b8a1a9a0/${i}`,
        lastStatus: 'RUNNING',
        name: `c${i}`,
        image: c.image,
        ...(c.imageDigest !== undefined ? { imageDigest: c.imageDigest } : {}),
        taskArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/b8a1a9a0`,
      })),
      desiredStatus: options.desiredStatus ?? 'RUNNING',
      lastStatus: 'RUNNING',
      group: options.group ?? 'service:api',
      taskArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/b8a1a9a0`,
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/api:7`,
    },
  };
}

export function lambdaCodeEvent(eventName: string, request: Record<string, unknown>, errorCode?: string) {
  return {
    version: '0',
    id: '6f2b8c4e-2a4b-4f6d-9c1e-1d2f3a4b5c6d',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.lambda',
    account: ACCOUNT,
    time: '2026-01-02T14:00:00Z',
    region: REGION,
    resources: [],
    detail: {
      eventVersion: '1.08',
      eventSource: 'lambda.amazonaws.com',
      eventName,
      awsRegion: REGION,
      requestParameters: request,
      ...(errorCode !== undefined ? { errorCode } : {}),
    },
  };
}

export function ecrPushEvent(repository: string, digest: string, tag?: string) {
  return {
    version: '0',
    id: '13cde686-328b-6117-af20-0e5566167482',
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: ACCOUNT,
    time: '2026-01-02T14:00:00Z',
    region: REGION,
    resources: [],
    detail: { result: 'SUCCESS', 'repository-name': repository, 'image-digest': digest, 'action-type': 'PUSH', ...(tag !== undefined ? { 'image-tag': tag } : {}) },
  };
}
