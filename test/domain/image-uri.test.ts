import { describe, expect, test } from 'vitest';
import { parseEcrImageUri, pinFromImageUri } from '../../lambda/domain/image-uri.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const HOST = '111122223333.dkr.ecr.eu-west-1.amazonaws.com';
const REGISTRY = { accountId: '111122223333', region: 'eu-west-1' };

describe('parseEcrImageUri', () => {
  test.each([
    [`${HOST}/app:1.4`, { repository: 'app', tag: '1.4' }],
    [`${HOST}/team/sub/web@${DIGEST}`, { repository: 'team/sub/web', digest: DIGEST }],
    [`${HOST}/team/web:v2_rc-1@${DIGEST}`, { repository: 'team/web', tag: 'v2_rc-1', digest: DIGEST }],
    [`${HOST}/app`, { repository: 'app', tag: 'latest' }],
    [`  ${HOST}/app:1  `, { repository: 'app', tag: '1' }],
  ])('%s', (uri, expected) => {
    // Act
    const parsed = parseEcrImageUri(uri);

    // Assess
    expect(parsed).toEqual({ accountId: '111122223333', region: 'eu-west-1', ...expected });
  });

  test.each([
    ['China', '111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1', 'cn-north-1'],
    ['FIPS', '111122223333.dkr.ecr-fips.us-east-1.amazonaws.com/app:1', 'us-east-1'],
    ['dual-stack', '111122223333.dkr-ecr.us-west-2.on.aws/app:1', 'us-west-2'],
  ])('reads %s hosts', (_, uri, region) => {
    // Act
    const parsed = parseEcrImageUri(uri);

    // Assess
    expect(parsed).toMatchObject({ accountId: '111122223333', region, repository: 'app', tag: '1' });
  });

  test.each([
    'nginx:1.25',
    'docker.io/library/nginx:1.25',
    'public.ecr.aws/nginx/nginx:1.25',
    'ghcr.io/org/app@sha256:' + 'ab'.repeat(32),
    `${HOST}/`,
    `${HOST}/App:1`,
    `${HOST}/app@sha256:short`,
    `${HOST}/app:bad tag`,
    '12345.dkr.ecr.eu-west-1.amazonaws.com/app:1',
  ])('%s is not an ECR image URI', (uri) => {
    // Act
    const parsed = parseEcrImageUri(uri);

    // Assess
    expect(parsed).toBeUndefined();
  });
});

describe('pinFromImageUri', () => {
  test('keeps images of this registry with their source', () => {
    // Act
    const pin = pinFromImageUri(`${HOST}/team/web:2@${DIGEST}`, REGISTRY, 'ecs:prod/web');

    // Assess
    expect(pin).toEqual({ repository: 'team/web', tag: '2', digest: DIGEST, source: 'ecs:prod/web' });
  });

  test.each([
    ['another account', '999988887777.dkr.ecr.eu-west-1.amazonaws.com/app:1'],
    ['another region', '111122223333.dkr.ecr.us-east-1.amazonaws.com/app:1'],
    ['not ECR', 'nginx:latest'],
  ])('ignores %s', (_, uri) => {
    // Act
    const pin = pinFromImageUri(uri, REGISTRY, 'x');

    // Assess
    expect(pin).toBeUndefined();
  });
});
