// The plain-JSON control routes under /_emulator/ and the `ecr-janitor emulator` entry point.
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEmulatorClient, runEmulatorCli, startEmulator, type EmulatorHandle } from '../../emulator/server.js';

const T0 = Date.UTC(2026, 0, 1);

let emulator: EmulatorHandle;

beforeAll(async () => {
  emulator = await startEmulator({ now: T0, accountId: '123456789012', region: 'eu-west-1' });
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  emulator.reset();
});

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${emulator.endpoint}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, json: await response.json() };
}

describe('control routes', () => {
  it('installs, shows and clears faults, refusing settings it does not know', async () => {
    // Prepare
    const faults = { throttleEveryN: 5, latencyMs: 1, operations: ['BatchDeleteImage'], failDeletesOf: ['sha256:abc'] };

    // Act
    const set = await control('POST', '/_emulator/faults', faults);
    const shown = await control('GET', '/_emulator/faults');
    const typo = await control('POST', '/_emulator/faults', { throttleEvery: 5 });
    const badOperation = await control('POST', '/_emulator/faults', { throttleEveryN: 2, operations: ['DeleteEverything'] });
    const cleared = await control('DELETE', '/_emulator/faults');

    // Assess
    expect(set).toEqual({ status: 200, json: faults });
    expect(shown.json).toEqual(faults);
    expect(typo.status).toBe(400);
    expect(typo.json).toEqual({ error: expect.stringContaining('throttleEvery') });
    expect(badOperation.status).toBe(400);
    expect(cleared).toEqual({ status: 200, json: {} });
  });

  it('reports call counts and forgets everything on reset, keeping the clock', async () => {
    // Prepare
    const client = makeEmulatorClient(emulator.endpoint);
    await client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    await client.send(new DescribeRepositoriesCommand({}));

    // Act
    const stats = await control('GET', '/_emulator/stats');
    const reset = await control('POST', '/_emulator/reset');
    const after = await client.send(new DescribeRepositoriesCommand({}));
    client.destroy();

    // Assess
    expect(stats.json).toEqual({ calls: { CreateRepository: 1, DescribeRepositories: 1 }, total: 2, throttled: 0, serverErrors: 0, contractViolations: 0, rateLimited: 0 });
    expect(reset.json).toEqual({ reset: true, now: T0, iso: new Date(T0).toISOString() });
    expect(after.repositories).toEqual([]);
  });

  it('shows and switches the profile, with readings of its own, refusing names and readings it does not know', async () => {
    // Prepare
    const initial = await control('GET', '/_emulator/profile');

    // Act
    const switched = await control('POST', '/_emulator/profile', { profile: 'pessimistic', previewPollsInProgress: 5 });
    const shown = await control('GET', '/_emulator/profile');
    const modelPolls = emulator.model.profile.previewPollsInProgress;
    const unknownName = await control('POST', '/_emulator/profile', { profile: 'optimistic' });
    const unknownReading = await control('POST', '/_emulator/profile', { profile: 'faithful', previewPolls: 2 });
    await control('POST', '/_emulator/profile', { profile: 'faithful' });

    // Assess
    expect(initial.json).toMatchObject({ profile: 'faithful', rateLimits: false });
    expect(switched.status).toBe(200);
    expect(shown.json).toMatchObject({ profile: 'pessimistic', readings: { previewPollsInProgress: 5, deleteByDigestAndTag: 'image', policyText: 'normalised' } });
    expect(modelPolls).toBe(5);
    expect(unknownName).toEqual({ status: 400, json: { error: expect.stringContaining('faithful, pessimistic') } });
    expect(unknownReading).toEqual({ status: 400, json: { error: expect.stringContaining('previewPolls') } });
  });

  it('turns the rate quotas on and off, and lists the contract violations it refused', async () => {
    // Prepare
    const client = makeEmulatorClient(emulator.endpoint);
    await client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    await client.send(new DescribeRepositoriesCommand({ maxResults: 0 })).catch(() => undefined);
    client.destroy();

    // Act
    const on = await control('POST', '/_emulator/rate-limits', { enabled: true });
    const shown = await control('GET', '/_emulator/rate-limits');
    const bad = await control('POST', '/_emulator/rate-limits', { enabled: 'yes' });
    const off = await control('POST', '/_emulator/rate-limits', { enabled: false });
    const violations = await control('GET', '/_emulator/contract-violations');

    // Assess
    expect([on.json, shown.json, off.json]).toEqual([{ rateLimits: true }, { rateLimits: true }, { rateLimits: false }]);
    expect(bad.status).toBe(400);
    expect(violations.json).toEqual({ count: 1, recent: [expect.stringMatching(/^DescribeRepositories: InvalidParameterException: Invalid parameter at 'maxResults'/)] });
  });

  it('answers an unknown control route with 404 and a non-object body with 400', async () => {
    // Prepare: nothing

    // Act
    const unknown = await control('GET', '/_emulator/coffee');
    const notObject = await control('POST', '/_emulator/faults', [1, 2]);

    // Assess
    expect(unknown.status).toBe(404);
    expect(notObject.status).toBe(400);
  });

  it('uses the configured account and region in what it answers', async () => {
    // Prepare
    const client = makeEmulatorClient(emulator.endpoint);

    // Act
    const created = await client.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
    client.destroy();

    // Assess
    expect(created.repository).toMatchObject({
      registryId: '123456789012',
      repositoryArn: 'arn:aws:ecr:eu-west-1:123456789012:repository/team/app',
      repositoryUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app',
      createdAt: new Date(T0),
      imageTagMutability: 'MUTABLE',
    });
  });
});

describe('runEmulatorCli', () => {
  let printed: string[];

  beforeEach(() => {
    printed = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints the endpoint and the environment to use, serves, and stops on SIGTERM', async () => {
    // Prepare
    const running = runEmulatorCli(0, { profile: 'faithful', rateLimits: true });
    await vi.waitUntil(() => printed.length >= 3);
    const endpoint = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(printed[0]!)?.[1];
    const client = makeEmulatorClient(endpoint!);

    // Act
    const answer = await client.send(new DescribeRepositoriesCommand({}));
    client.destroy();
    process.emit('SIGTERM');
    await running;

    // Assess
    expect(printed[0]).toMatch(/^ECR emulator listening on http:\/\/127\.0\.0\.1:\d+ \(account 000000000000, region us-east-1\)\n$/);
    expect(printed[1]).toBe(`use it with: AWS_ENDPOINT_URL_ECR=${endpoint} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n`);
    expect(printed[2]).toBe('profile: faithful; rate limits: on (ECR quotas, real time)\n');
    expect(answer.repositories).toEqual([]);
    await expect(fetch(`${endpoint}/_emulator/clock`)).rejects.toThrow();
  });
});
