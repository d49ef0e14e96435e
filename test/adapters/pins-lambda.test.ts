import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { describe, expect, test } from 'vitest';
import { createLambdaPinSource } from '../../lambda/adapters/pins-lambda.js';
import { digestOf, fakeTransport, jsonError, ok, type Responder, TEST_CREDENTIALS } from './fake-aws.js';

const REGISTRY = { accountId: '111122223333', region: 'eu-west-1' };
const HOST = '111122223333.dkr.ecr.eu-west-1.amazonaws.com';
const FUNCTIONS_PATH = '/2015-03-31/functions/';
const isListFunctions = (path: string) => `${path.replace(/\/$/, '')}/` === FUNCTIONS_PATH;

function lambdaSourceWith(respond: Responder) {
  const transport = fakeTransport(respond);
  const client = new LambdaClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler });
  return { source: createLambdaPinSource(client, REGISTRY), transport };
}

describe('Lambda pin source', () => {
  test('pins the tag and resolved digest of every image function version, and nothing else', async () => {
    // Prepare
    const latest = digestOf('app-2.0');
    const older = digestOf('app-1.0');
    const code: Record<string, object> = {
      'fn-a:$LATEST': { RepositoryType: 'ECR', ImageUri: `${HOST}/team/app:2.0`, ResolvedImageUri: `${HOST}/team/app@${latest}` },
      'fn-a:3': { RepositoryType: 'ECR', ImageUri: `${HOST}/team/app:1.0`, ResolvedImageUri: `${HOST}/team/app@${older}` },
      'fn-foreign:$LATEST': { ImageUri: '999988887777.dkr.ecr.eu-west-1.amazonaws.com/app:1', ResolvedImageUri: `999988887777.dkr.ecr.eu-west-1.amazonaws.com/app@${older}` },
    };
    const { source, transport } = lambdaSourceWith((request) => {
      if (isListFunctions(request.path)) {
        return ok(
          request.query.Marker
            ? {
                Functions: [
                  { FunctionName: 'fn-a', Version: '3', PackageType: 'Image' },
                  { FunctionName: 'fn-foreign', Version: '$LATEST', PackageType: 'Image' },
                  { FunctionName: 'fn-gone', Version: '$LATEST', PackageType: 'Image' },
                ],
              }
            : {
                Functions: [
                  { FunctionName: 'fn-a', Version: '$LATEST', PackageType: 'Image' },
                  { FunctionName: 'fn-zip', Version: '$LATEST', PackageType: 'Zip' },
                ],
                NextMarker: 'page-2',
              },
        );
      }
      const name = decodeURIComponent(request.path.slice(FUNCTIONS_PATH.length));
      const found = code[`${name}:${request.query.Qualifier}`];
      return found ? ok({ Configuration: { FunctionName: name }, Code: found }) : jsonError('ResourceNotFoundException', 'Function not found', 404);
    });

    // Act
    const references = await source.discover();

    // Assess
    expect(references).toEqual([
      { repository: 'team/app', tag: '2.0', digest: latest, source: 'lambda:fn-a' },
      { repository: 'team/app', tag: '1.0', digest: older, source: 'lambda:fn-a:3' },
    ]);
    const listCalls = transport.requests.filter((r) => isListFunctions(r.path));
    expect(listCalls.map((r) => [r.query.FunctionVersion, r.query.Marker])).toEqual([
      ['ALL', undefined],
      ['ALL', 'page-2'],
    ]);
    expect(transport.requests.some((r) => r.path.endsWith('fn-zip'))).toBe(false);
  });

  test('keeps nothing of a function but its name, version, package type and image URIs: no environment, never logged', async () => {
    // Prepare: functions whose configuration holds a secret, and an SDK logger that records what the client logs.
    const SECRET = 'db-password-hunter2';
    const configuration = {
      FunctionName: 'fn-a',
      Version: '$LATEST',
      PackageType: 'Image',
      Role: 'arn:aws:iam::111122223333:role/fn-a',
      Environment: { Variables: { DB_PASSWORD: SECRET } },
    };
    const transport = fakeTransport((request) =>
      isListFunctions(request.path)
        ? ok({ Functions: [configuration] })
        : ok({ Configuration: configuration, Code: { RepositoryType: 'ECR', ImageUri: `${HOST}/team/app:2.0` }, Tags: { owner: SECRET } }),
    );
    const logged: unknown[] = [];
    const record = (...args: unknown[]) => logged.push(args);
    const logger = { trace: record, debug: record, info: record, warn: record, error: record };
    const client = new LambdaClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, logger });
    const source = createLambdaPinSource(client, REGISTRY);
    createLambdaPinSource(client, REGISTRY); // a second source over the same client must not stack the middleware

    // Act
    const references = await source.discover();
    const listed = await client.send(new ListFunctionsCommand({}));
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'fn-a' }));

    // Assess
    expect(references).toEqual([{ repository: 'team/app', tag: '2.0', source: 'lambda:fn-a' }]);
    expect(listed.Functions).toEqual([{ FunctionName: 'fn-a', Version: '$LATEST', PackageType: 'Image' }]);
    expect(got).toEqual({ $metadata: expect.anything(), Code: { ImageUri: `${HOST}/team/app:2.0` } });
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain(SECRET);
  });

  test('a failed listing fails discovery', async () => {
    // Prepare
    const { source } = lambdaSourceWith(() => jsonError('AccessDeniedException', 'not authorized to perform lambda:ListFunctions', 403));

    // Act
    const discovery = source.discover();

    // Assess
    await expect(discovery).rejects.toThrow(/lambda:ListFunctions/);
  });
});
