// EventBridge events that announce a new use of an image, read strictly into image references. Pure: no SDK, no clock.
// Shapes from the AWS docs: "Amazon ECS task state change events" (ECS developer guide), "Amazon ECR events and
// EventBridge" (ECR user guide, ECR Image Action) and "Lambda API calls recorded by CloudTrail" delivered as
// "AWS API Call via CloudTrail" (EventBridge user guide). A Lambda event needs a CloudTrail trail in the region
// (management events); EventBridge receives those without a trail only for read-write management events it is sent.
import { DIGEST, parseEcrImageUri, type RegistryAddress } from './image-uri.js';
import { protectionTagFor } from './patterns.js';
import type { Digest } from './types.js';

/** One image reference a use event names, with the registry it lives in. */
export interface ImageUse {
  registry: RegistryAddress;
  repository: string;
  /** What actually runs when known (ECS imageDigest); wins over the tag. */
  digest?: Digest;
  tag?: string;
  /** For the report and state: "event:ecs:cluster/service:api", "event:lambda:fn". */
  source: string;
}

export type UseEventKind = 'ecs-task' | 'lambda-code' | 'ecr-push' | 'org-pins';

export interface UseEvent {
  kind: UseEventKind;
  uses: ImageUse[];
  /** References in the event that name no ECR image (Docker Hub, public.ecr.aws...): nothing for a janitor to keep. */
  notEcr: string[];
  /** Why an accepted event needs no protection (a stopped task, a failed API call, a push). */
  noAction?: string;
  /** org-pins: the organization pins document another account just published (S3 Object Created). */
  orgObject?: { bucket: string; key: string };
  /** ecr-push: a tag now names `digest`; the image it named at the last run may still be running. */
  tagMove?: TagMove;
}

/**
 * An ECR push or delete: the repository changed, so the nightly run reads it whole (domain/change-check.ts). `time` is
 * the event's own (absent: the event path uses its clock, which is later).
 */
export interface ChangeMark {
  registry?: RegistryAddress;
  repository: string;
  time?: number;
}

/** A push that (re)pointed a tag. The image the tag left is found from the run state (RepositoryState tagDigests). */
export interface TagMove {
  registry: RegistryAddress;
  repository: string;
  tag: string;
  /** The image the tag names now. */
  digest: Digest;
}

const ECS_TASK = 'ECS Task State Change';
const CLOUDTRAIL = 'AWS API Call via CloudTrail';
const ECR_ACTION = 'ECR Image Action';
/** S3 "Object Created" via EventBridge (S3 user guide, "EventBridge event message structure"). */
const S3_CREATED = 'Object Created';
/** CloudTrail names the Lambda API versions in eventName (e.g. UpdateFunctionCode20150331v2). */
const LAMBDA_CODE_CALL = /^(CreateFunction|UpdateFunctionCode)\d{8}(v\d+)?$/;

export class EventShapeError extends Error {
  constructor(message: string) {
    super(`${message}; nothing was done`);
    this.name = 'EventShapeError';
  }
}

/**
 * The use event `event` is, or undefined when it is none of them (the caller then reads it as a run event). An event
 * from a use source with the wrong shape throws naming the field: it must not be mistaken for something else.
 */
export function parseUseEvent(event: unknown): UseEvent | undefined {
  if (!isRecord(event)) return undefined;
  const source = event.source;
  const detailType = event['detail-type'];
  if (source === 'aws.ecs' && detailType === ECS_TASK) return ecsTask(event);
  if (source === 'aws.lambda' && detailType === CLOUDTRAIL) return lambdaCode(event);
  if (source === 'aws.ecr' && detailType === ECR_ACTION) return ecrAction(event);
  if (source === 'aws.s3' && detailType === S3_CREATED) return orgPinsObject(event);
  if (source === 'aws.ecs' || source === 'aws.lambda' || source === 'aws.ecr') {
    throw new EventShapeError(
      `event["detail-type"]: ${JSON.stringify(detailType)} from ${String(source)} is not an event the janitor handles ` +
        `(expected "${ECS_TASK}", "${CLOUDTRAIL}" for Lambda CreateFunction/UpdateFunctionCode, or "${ECR_ACTION}")`,
    );
  }
  return undefined;
}

function eventRegion(event: Record<string, unknown>): string {
  const region = event.region;
  if (typeof region !== 'string' || region === '') throw new EventShapeError('event.region must be the region the event came from');
  return region;
}

function ecsTask(event: Record<string, unknown>): UseEvent {
  eventRegion(event);
  const detail = requireRecord(event.detail, 'event.detail');
  const containers = detail.containers;
  if (!Array.isArray(containers)) throw new EventShapeError('event.detail.containers must be a list (ECS Task State Change)');
  const cluster = nameFromArn(optionalString(detail.clusterArn, 'event.detail.clusterArn') ?? 'cluster');
  const group = optionalString(detail.group, 'event.detail.group') ?? nameFromArn(optionalString(detail.taskArn, 'event.detail.taskArn') ?? 'task');
  const source = `event:ecs:${cluster}/${group}`;
  const desired = optionalString(detail.desiredStatus, 'event.detail.desiredStatus');
  const result: UseEvent = { kind: 'ecs-task', uses: [], notEcr: [] };
  // A task on its way out starts nothing new: its image was protected when it started.
  if (desired === 'STOPPED') return { ...result, noAction: 'the task is stopping (desiredStatus STOPPED): it starts no new use' };
  containers.forEach((entry, i) => {
    const container = requireRecord(entry, `event.detail.containers[${i}]`);
    const image = optionalString(container.image, `event.detail.containers[${i}].image`);
    const digest = optionalString(container.imageDigest, `event.detail.containers[${i}].imageDigest`);
    if (digest !== undefined && !DIGEST.test(digest)) throw new EventShapeError(`event.detail.containers[${i}].imageDigest must look like sha256:<64 hex>`);
    if (image === undefined) return;
    addUse(result, image, source, digest);
  });
  return result;
}

function lambdaCode(event: Record<string, unknown>): UseEvent {
  eventRegion(event);
  const detail = requireRecord(event.detail, 'event.detail');
  const name = detail.eventName;
  if (typeof name !== 'string' || !LAMBDA_CODE_CALL.test(name)) {
    throw new EventShapeError(`event.detail.eventName: ${JSON.stringify(name)} is not a Lambda CreateFunction or UpdateFunctionCode call`);
  }
  const result: UseEvent = { kind: 'lambda-code', uses: [], notEcr: [] };
  // A call that failed changed no code.
  if (detail.errorCode !== undefined) return { ...result, noAction: `the ${name} call failed (${String(detail.errorCode)}): no code changed` };
  const request = requireRecord(detail.requestParameters, 'event.detail.requestParameters');
  const code = request.code === undefined ? undefined : requireRecord(request.code, 'event.detail.requestParameters.code');
  const imageUri = optionalString(code?.imageUri ?? request.imageUri, 'event.detail.requestParameters.imageUri');
  const functionName = optionalString(request.functionName, 'event.detail.requestParameters.functionName') ?? 'function';
  if (imageUri === undefined) return { ...result, noAction: `${name} of ${nameFromArn(functionName)} deploys a .zip package, not an image` };
  addUse(result, imageUri, `event:lambda:${nameFromArn(functionName)}`);
  return result;
}

/**
 * An ECR push. The event names the image pushed, not the one its tag left: a push of a tag becomes a tag move, and the
 * event path finds the image the tag named at the last run from the run state. Other actions (DELETE) and failed
 * pushes start no use. The registry is the event's account and region (the registry that received the push).
 */
function ecrAction(event: Record<string, unknown>): UseEvent {
  const region = eventRegion(event);
  const detail = requireRecord(event.detail, 'event.detail');
  const action = optionalString(detail['action-type'], 'event.detail["action-type"]');
  const repository = optionalString(detail['repository-name'], 'event.detail["repository-name"]');
  if (repository === undefined) throw new EventShapeError('event.detail["repository-name"] must name the repository (ECR Image Action)');
  const tag = optionalString(detail['image-tag'], 'event.detail["image-tag"]');
  const outcome = optionalString(detail.result, 'event.detail.result');
  const none = (why: string): UseEvent => ({ kind: 'ecr-push', uses: [], notEcr: [], noAction: why });
  if (action !== 'PUSH') return none(`ECR ${String(action)} in ${repository}: no new use of an image`);
  if (outcome !== undefined && outcome !== 'SUCCESS') return none(`push to ${repository} did not succeed (result ${outcome}): no tag moved`);
  if (tag === undefined) return none(`push to ${repository} without a tag: no tag moved`);
  const account = optionalString(event.account, 'event.account');
  if (account === undefined || !/^\d{12}$/.test(account)) throw new EventShapeError('event.account must be the 12-digit account of the registry (ECR Image Action)');
  const digest = optionalString(detail['image-digest'], 'event.detail["image-digest"]');
  if (digest === undefined || !DIGEST.test(digest)) throw new EventShapeError('event.detail["image-digest"] must look like sha256:<64 hex> (ECR Image Action PUSH)');
  return { kind: 'ecr-push', uses: [], notEcr: [], tagMove: { registry: { accountId: account, region }, repository, tag, digest } };
}

/**
 * The change an "ECR Image Action" event announces, whatever the action or result: a needless mark costs one full
 * read, a missing one could let a changed repository be confirmed. One exception: the protection tag of the very image
 * pushed (the janitor's own PutImage, planned by the read before it) only adds protection; that tag pushed onto another
 * image moves it, and is marked. undefined for any other event.
 */
export function parseChangeMark(event: unknown): ChangeMark | undefined {
  if (!isRecord(event) || event.source !== 'aws.ecr' || event['detail-type'] !== ECR_ACTION || !isRecord(event.detail)) return undefined;
  const detail = event.detail;
  const repository = detail['repository-name'];
  if (typeof repository !== 'string' || repository === '') return undefined;
  const { 'action-type': action, 'image-tag': tag, 'image-digest': digest } = detail;
  if (action === 'PUSH' && typeof digest === 'string' && DIGEST.test(digest) && tag === protectionTagFor(digest)) return undefined;
  const time = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
  const account = typeof event.account === 'string' && /^\d{12}$/.test(event.account) ? event.account : undefined;
  const region = typeof event.region === 'string' && event.region !== '' ? event.region : undefined;
  return {
    repository,
    ...(account !== undefined && region !== undefined ? { registry: { accountId: account, region } } : {}),
    ...(Number.isFinite(time) ? { time } : {}),
  };
}

/** Another account published organization pins: the registry's janitor reads that document now, not tonight. */
function orgPinsObject(event: Record<string, unknown>): UseEvent {
  eventRegion(event);
  const detail = requireRecord(event.detail, 'event.detail');
  const bucket = optionalString(requireRecord(detail.bucket, 'event.detail.bucket').name, 'event.detail.bucket.name');
  const key = optionalString(requireRecord(detail.object, 'event.detail.object').key, 'event.detail.object.key');
  if (bucket === undefined || key === undefined) throw new EventShapeError('event.detail.bucket.name and event.detail.object.key must name the object (S3 Object Created)');
  return { kind: 'org-pins', uses: [], notEcr: [], orgObject: { bucket, key } };
}

function addUse(result: UseEvent, image: string, source: string, digest?: string): void {
  const parsed = parseEcrImageUri(image);
  if (!parsed) {
    result.notEcr.push(image);
    return;
  }
  const resolved = digest ?? parsed.digest;
  result.uses.push({
    registry: { accountId: parsed.accountId, region: parsed.region },
    repository: parsed.repository,
    ...(resolved !== undefined ? { digest: resolved } : {}),
    ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}),
    source,
  });
}

function nameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1).replace(/^.*:function:/, '');
}

function requireRecord(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) throw new EventShapeError(`${field} must be an object`);
  return value;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw new EventShapeError(`${field} must be a non-empty string`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
