// ECR's API contract in the emulator: requests that break the service model's constraints are refused as ECR refuses
// them, before they reach the model. Constraints from the Amazon ECR API Reference (Actions / Data Types pages,
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/); structure from aws-sdk's ecr-2015-09-21.min.json.
import { DescribeImagesCommand, InvalidParameterException } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { contractError, EcrContract, loadEcrContract } from '../../emulator/contract.js';
import { useEmulator } from '../support/emulator-fixture.js';

const T0 = Date.UTC(2026, 0, 1);
const contract = new EcrContract();
const POLICY = JSON.stringify({
  rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: { type: 'expire' } }],
});

describe('the contract read from the service model', () => {
  it('knows the operations of the v2 model and the ones that came after it', () => {
    // Prepare, Act
    const inputs = loadEcrContract();

    // Assess
    for (const operation of ['DescribeImages', 'BatchGetImage', 'BatchDeleteImage', 'PutImage', 'PutLifecyclePolicy', 'StartLifecyclePolicyPreview', 'GetLifecyclePolicyPreview', 'ListImageReferrers', 'UpdateImageStorageClass']) {
      expect(inputs.has(operation), operation).toBe(true);
    }
    expect(contract.violations('DescribeImages', { repositoryName: 'app', filter: { tagStatus: 'ANY', imageStatus: 'ARCHIVED' } })).toEqual([]);
  });

  it.each([
    ['a missing required member', 'DescribeImages', {}, 'repositoryName', 'Member must not be null'],
    ['maxResults 0', 'DescribeImages', { repositoryName: 'app', maxResults: 0 }, 'maxResults', 'Member must have value greater than or equal to 1'],
    ['maxResults over the page size', 'GetLifecyclePolicyPreview', { repositoryName: 'app', maxResults: 101 }, 'maxResults', 'Member must have value less than or equal to 100'],
    ['a tag status outside the enum', 'ListImages', { repositoryName: 'app', filter: { tagStatus: 'SOME' } }, 'filter.tagStatus', 'Member must satisfy enum value set: [ANY, TAGGED, UNTAGGED]'],
    ['a 301-character tag', 'BatchDeleteImage', { repositoryName: 'app', imageIds: [{ imageTag: 't'.repeat(301) }] }, 'imageIds.1.imageTag', 'Member must have length less than or equal to 300'],
    ['101 image ids', 'BatchGetImage', { repositoryName: 'app', imageIds: Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` })) }, 'imageIds', 'Member must have length less than or equal to 100'],
    ['an empty image id list', 'BatchDeleteImage', { repositoryName: 'app', imageIds: [] }, 'imageIds', 'Member must have length greater than or equal to 1'],
    ['an upper-case repository name', 'CreateRepository', { repositoryName: 'App' }, 'repositoryName', expect.stringMatching(/^Member must satisfy regular expression pattern/)],
    ['a registry id that is not 12 digits', 'GetLifecyclePolicy', { repositoryName: 'app', registryId: '123' }, 'registryId', expect.stringMatching(/^Member must satisfy regular expression pattern/)],
    ['policy text under 100 characters', 'PutLifecyclePolicy', { repositoryName: 'app', lifecyclePolicyText: '{"rules":[]}' }, 'lifecyclePolicyText', 'Member must have length greater than or equal to 100'],
    ['an unknown storage class', 'UpdateImageStorageClass', { repositoryName: 'app', imageId: { imageTag: 'v1' }, targetStorageClass: 'GLACIER' }, 'targetStorageClass', 'Member must satisfy enum value set: [ARCHIVE, STANDARD]'],
  ])('fires on %s', (_case, operation, body, path, constraint) => {
    // Prepare: the body above

    // Act
    const violations = contract.violations(operation, body);

    // Assess
    expect(violations).toEqual([expect.objectContaining({ path, constraint, kind: 'validation' })]);
  });

  it('treats a member the model lacks and a member of the wrong type as shape errors', () => {
    // Prepare, Act
    const misspelt = contract.violations('DescribeImages', { repositoryName: 'app', maxResult: 10 });
    const wrongType = contract.violations('DeleteRepository', { repositoryName: 'app', force: 'yes' });

    // Assess
    expect(misspelt).toEqual([expect.objectContaining({ path: 'maxResult', kind: 'shape' })]);
    expect(wrongType).toEqual([expect.objectContaining({ path: 'force', constraint: 'Member must be a boolean', kind: 'shape' })]);
    expect(contractError(wrongType).code).toBe('SerializationException');
  });

  it('words one violation as ECR does and several as a counted list', () => {
    // Prepare
    const one = contract.violations('DescribeImages', { repositoryName: 'app', maxResults: 0 });
    const two = contract.violations('DescribeImages', { repositoryName: 'a', maxResults: 0 });

    // Act
    const single = contractError(one);
    const counted = contractError(two);

    // Assess
    expect(single).toEqual({ code: 'InvalidParameterException', message: "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value greater than or equal to 1'" });
    expect(counted.code).toBe('InvalidParameterException');
    expect(counted.message).toMatch(/^2 validation errors detected: Value 'a' at 'repositoryName' .*; Value '0' at 'maxResults'/);
  });
});

describe('the emulator refuses what breaks the contract', () => {
  const fixture = useEmulator({ now: T0 });

  async function raw(operation: string, body: unknown): Promise<{ status: number; json: { __type?: string; message?: string } }> {
    const response = await fetch(fixture.emulator.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AmazonEC2ContainerRegistry_V20150921.${operation}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as { __type?: string; message?: string } };
  }

  it('answers a bad request 400 with the member named, counts it, and leaves the model untouched', async () => {
    // Prepare
    const before = fixture.emulator.stats().contractViolations;

    // Act
    const tooLong = await raw('PutLifecyclePolicy', { repositoryName: 'app', lifecyclePolicyText: `${POLICY}${' '.repeat(30_721)}` });
    const missing = await raw('BatchDeleteImage', { imageIds: [{ imageTag: 'v1' }] });
    const good = await raw('PutLifecyclePolicy', { repositoryName: 'app', lifecyclePolicyText: `${POLICY}` });

    // Assess
    expect(tooLong).toEqual({ status: 400, json: { __type: 'InvalidParameterException', message: "Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must have length less than or equal to 30720'" } });
    expect(missing.json).toEqual({ __type: 'InvalidParameterException', message: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'" });
    expect(good.status).toBe(200);
    expect(fixture.emulator.stats().contractViolations - before).toBe(2);
    expect(fixture.emulator.contractViolations()).toEqual([expect.stringMatching(/^PutLifecyclePolicy: /), expect.stringMatching(/^BatchDeleteImage: /)]);
  });

  it('surfaces a violation through the SDK as its typed InvalidParameterException', async () => {
    // Prepare: an empty repository `app`

    // Act
    const error = await fixture.client.send(new DescribeImagesCommand({ repositoryName: 'app', maxResults: 5000 })).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect((error as Error).message).toBe("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'");
  });
});
