// Rollback depth (issue 10 point 3): the ECS pin source also pins the images of the revisions just before each
// service's current task definition, so a rollback still finds its image after the tag moved.
import { ECSClient } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { previousRevisions } from '../../lambda/adapters/ecs-rollback.js';
import { createEcsPinSource } from '../../lambda/adapters/pins-ecs.js';
import { byOperation, digestOf, fakeTransport, jsonError, ok, TEST_CREDENTIALS } from './fake-aws.js';

const REGISTRY = { accountId: '111122223333', region: 'eu-west-1' };
const HOST = '111122223333.dkr.ecr.eu-west-1.amazonaws.com';
const TD = (revision: number) => `arn:aws:ecs:eu-west-1:111122223333:task-definition/api:${revision}`;

describe('previousRevisions', () => {
  it('counts the current revision as the first of K and stops at revision 1', () => {
    // Act / Assess
    expect(previousRevisions(TD(5), 3)).toEqual([
      { arn: TD(4), back: 1 },
      { arn: TD(3), back: 2 },
    ]);
    expect(previousRevisions(TD(2), 5)).toEqual([{ arn: TD(1), back: 1 }]);
    expect(previousRevisions(TD(5), 1)).toEqual([]);
    expect(previousRevisions('not-an-arn', 3)).toEqual([]);
  });
});

describe('ECS pin source with rollbackDepth', () => {
  it('pins the images of the last K revisions of a service, skipping a deleted one', async () => {
    // Prepare
    const images: Record<string, string[]> = {
      [TD(5)]: [`${HOST}/api:ci-50`],
      [TD(4)]: [`${HOST}/api@${digestOf('ci-49')}`],
      [TD(2)]: [`${HOST}/api@${digestOf('ci-40')}`],
    };
    const transport = fakeTransport(
      byOperation({
        ListClusters: () => ok({ clusterArns: ['arn:aws:ecs:eu-west-1:111122223333:cluster/prod'] }),
        ListServices: () => ok({ serviceArns: ['arn:aws:ecs:eu-west-1:111122223333:service/prod/api'] }),
        DescribeServices: () => ok({ services: [{ serviceName: 'api', taskDefinition: TD(5), deployments: [{ status: 'PRIMARY', taskDefinition: TD(5) }] }], failures: [] }),
        ListTasks: () => ok({ taskArns: [] }),
        DescribeTaskDefinition: (request) => {
          const found = images[request.json.taskDefinition as string];
          if (!found) return jsonError('ClientException', 'Unable to describe task definition.');
          return ok({ taskDefinition: { containerDefinitions: found.map((image, i) => ({ name: `c${i}`, image })) } });
        },
      }),
    );
    const client = new ECSClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, maxAttempts: 1 });

    // Act
    const references = await createEcsPinSource(client, REGISTRY, { rollbackDepth: 4 }).discover();

    // Assess
    expect(references).toEqual([
      { repository: 'api', tag: 'ci-50', source: 'ecs:prod/api' },
      { repository: 'api', digest: digestOf('ci-49'), source: 'ecs:prod/api (rollback target, 1 revision back)' },
      { repository: 'api', digest: digestOf('ci-40'), source: 'ecs:prod/api (rollback target, 3 revisions back)' },
    ]);
  });

  it('fails discovery when an older revision cannot be read for another reason (fail closed)', async () => {
    // Prepare
    const transport = fakeTransport(
      byOperation({
        ListClusters: () => ok({ clusterArns: ['arn:aws:ecs:eu-west-1:111122223333:cluster/prod'] }),
        ListServices: () => ok({ serviceArns: ['arn:aws:ecs:eu-west-1:111122223333:service/prod/api'] }),
        DescribeServices: () => ok({ services: [{ serviceName: 'api', taskDefinition: TD(5) }], failures: [] }),
        ListTasks: () => ok({ taskArns: [] }),
        DescribeTaskDefinition: (request) =>
          request.json.taskDefinition === TD(5) ? ok({ taskDefinition: { containerDefinitions: [{ name: 'c', image: `${HOST}/api:1` }] } }) : jsonError('AccessDeniedException', 'not authorized'),
      }),
    );
    const client = new ECSClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler, maxAttempts: 1 });

    // Act
    const discovery = createEcsPinSource(client, REGISTRY, { rollbackDepth: 2 }).discover();

    // Assess
    await expect(discovery).rejects.toThrow(/not authorized/);
  });
});
