// The use-event parser (lambda/domain/events.ts): documented shapes in, image references out; anything else from a use
// source throws naming the field.
import { describe, expect, it } from 'vitest';
import { parseUseEvent } from '../../lambda/domain/events.js';
import { ACCOUNT, ecrPushEvent, ecsTaskEvent, HOST, lambdaCodeEvent, REGION } from './support.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const REGISTRY = { accountId: ACCOUNT, region: REGION };

describe('parseUseEvent', () => {
  it('reads an ECS task: the digest ECS resolved wins, non-ECR images are set aside', () => {
    // Act
    const use = parseUseEvent(ecsTaskEvent([{ image: `${HOST}/team/api:ci-12`, imageDigest: DIGEST }, { image: 'docker.io/library/redis:7' }]));

    // Assess
    expect(use).toEqual({
      kind: 'ecs-task',
      uses: [{ registry: REGISTRY, repository: 'team/api', digest: DIGEST, tag: 'ci-12', source: 'event:ecs:prod/service:api' }],
      notEcr: ['docker.io/library/redis:7'],
    });
  });

  it('reads nothing to protect from a stopping task', () => {
    // Act
    const use = parseUseEvent(ecsTaskEvent([{ image: `${HOST}/api:1` }], { desiredStatus: 'STOPPED' }));

    // Assess
    expect(use).toMatchObject({ uses: [], noAction: expect.stringMatching(/stopping/) });
  });

  it.each([
    ['CreateFunction20150331', { functionName: 'resize', code: { imageUri: `${HOST}/fn:2` } }],
    ['UpdateFunctionCode20150331v2', { functionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:resize`, imageUri: `${HOST}/fn:2` }],
  ])('reads the image of a Lambda %s call', (eventName, request) => {
    // Act
    const use = parseUseEvent(lambdaCodeEvent(eventName, request));

    // Assess
    expect(use).toEqual({ kind: 'lambda-code', uses: [{ registry: REGISTRY, repository: 'fn', tag: '2', source: 'event:lambda:resize' }], notEcr: [] });
  });

  it('reads no use from a failed Lambda call or a .zip deployment', () => {
    // Act
    const failed = parseUseEvent(lambdaCodeEvent('UpdateFunctionCode20150331v2', { functionName: 'f', imageUri: `${HOST}/fn:2` }, 'AccessDenied'));
    const zip = parseUseEvent(lambdaCodeEvent('UpdateFunctionCode20150331v2', { functionName: 'f', s3Bucket: 'b' }));

    // Assess
    expect(failed).toMatchObject({ uses: [], noAction: expect.stringMatching(/failed \(AccessDenied\)/) });
    expect(zip).toMatchObject({ uses: [], noAction: expect.stringMatching(/\.zip package/) });
  });

  it('reads an ECR push of a tag as a tag move in the pushing registry; untagged, failed and other actions move nothing', () => {
    // Act
    const use = parseUseEvent(ecrPushEvent('app', DIGEST, 'latest'));
    const untagged = parseUseEvent(ecrPushEvent('app', DIGEST));
    const failed = parseUseEvent({ ...ecrPushEvent('app', DIGEST, 'latest'), detail: { ...ecrPushEvent('app', DIGEST, 'latest').detail, result: 'FAILURE' } });
    const deleted = parseUseEvent({ ...ecrPushEvent('app', DIGEST, 'latest'), detail: { ...ecrPushEvent('app', DIGEST, 'latest').detail, 'action-type': 'DELETE' } });
    const badDigest = () => parseUseEvent(ecrPushEvent('app', 'sha256:abc', 'latest'));

    // Assess
    expect(use).toEqual({ kind: 'ecr-push', uses: [], notEcr: [], tagMove: { registry: { accountId: ACCOUNT, region: REGION }, repository: 'app', tag: 'latest', digest: DIGEST } });
    expect(untagged).toMatchObject({ uses: [], noAction: expect.stringMatching(/without a tag/) });
    expect(failed).toMatchObject({ uses: [], noAction: expect.stringMatching(/did not succeed \(result FAILURE\)/) });
    expect(deleted).toMatchObject({ uses: [], noAction: expect.stringMatching(/^ECR DELETE in app/) });
    expect(badDigest).toThrow(/event\.detail\["image-digest"\] must look like sha256/);
    for (const event of [untagged, failed, deleted]) expect(event?.tagMove).toBeUndefined();
  });

  it('reads an organization pins document published to S3 (Object Created) as the object to read', () => {
    // Act
    const use = parseUseEvent({ source: 'aws.s3', 'detail-type': 'Object Created', region: REGION, detail: { bucket: { name: 'pins' }, object: { key: 'org-pins/1/r/2-r.json' } } });
    const malformed = () => parseUseEvent({ source: 'aws.s3', 'detail-type': 'Object Created', region: REGION, detail: { bucket: {}, object: { key: 'k' } } });

    // Assess
    expect(use).toEqual({ kind: 'org-pins', uses: [], notEcr: [], orgObject: { bucket: 'pins', key: 'org-pins/1/r/2-r.json' } });
    expect(malformed).toThrow(/event\.detail\.bucket\.name and event\.detail\.object\.key must name the object/);
  });

  it('leaves events of other sources to the run-event reader', () => {
    // Act / Assess
    expect(parseUseEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).toBeUndefined();
    expect(parseUseEvent({ repositories: ['app'] })).toBeUndefined();
    expect(parseUseEvent(null)).toBeUndefined();
  });

  it.each([
    ['a Lambda call that is not a code change', lambdaCodeEvent('DeleteFunction20150331', { functionName: 'f' }), /event\.detail\.eventName: "DeleteFunction20150331" is not a Lambda CreateFunction/],
    ['a container digest that is not one', ecsTaskEvent([{ image: `${HOST}/api:1`, imageDigest: 'sha256:xyz' }]), /imageDigest must look like sha256/],
    ['an image that is not a string', { ...ecsTaskEvent([]), detail: { containers: [{ image: 7 }] } }, /containers\[0\]\.image must be a non-empty string/],
    ['an ECR event without its repository', { ...ecrPushEvent('app', DIGEST), detail: { 'action-type': 'PUSH' } }, /"repository-name"\] must name the repository/],
  ])('throws for %s, naming the field', (_name, event, message) => {
    // Act / Assess
    expect(() => parseUseEvent(event)).toThrow(message);
  });
});
