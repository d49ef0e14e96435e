// What the handler reads besides the config: which pin sources to wire, and which repositories the event names.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { makeHandler, pinSourcesFor, repositoriesOf } from '../../lambda/handler.js';

describe('pinSourcesFor', () => {
  it('adds a failing source when the account id is unknown and ECS or Lambda pins are on', async () => {
    // Prepare
    const config = parseConfig({ pins: { ecs: true, lambda: false } }, 'test');

    // Act
    const sources = pinSourcesFor(config, { accountId: undefined, region: 'eu-west-1' });

    // Assess
    expect(sources.map((s) => s.name)).toEqual(['config', 'account']);
    await expect(sources[1]!.discover()).rejects.toThrow(/account id is unknown/);
  });

  it('needs no account id when only the config pins are used', () => {
    // Prepare
    const config = parseConfig({ pins: { ecs: false, lambda: false } }, 'test');

    // Act
    const sources = pinSourcesFor(config, { accountId: undefined, region: 'eu-west-1' });

    // Assess
    expect(sources.map((s) => s.name)).toEqual(['config']);
  });

  it('wires ECS, Lambda and SSM sources when the config enables them and the account is known', () => {
    // Prepare
    const config = parseConfig({ pins: { ecs: true, lambda: true, ssmParameter: '/ecr-janitor/pins' } }, 'test');

    // Act
    const sources = pinSourcesFor(config, { accountId: '123456789012', region: 'eu-west-1' });

    // Assess
    expect(sources.map((s) => s.name)).toEqual(['config', 'ecs', 'lambda', 'ssm']);
  });
});

describe('repositoriesOf (the invocation event)', () => {
  it.each([
    [{}, undefined],
    [{ 'detail-type': 'Scheduled Event', source: 'aws.events' }, undefined],
    [null, undefined],
    [{ repositories: ['team/app', 'web'] }, ['team/app', 'web']],
    [{ repositories: ['web', 'team/app', 'web'] }, ['web', 'team/app']],
    [{ version: '0', id: 'x', 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-01-01T03:00:00Z', resources: [], detail: {} }, undefined],
  ])('reads %j as %j', (event, expected) => {
    // Act
    const repositories = repositoriesOf(event);

    // Assess
    expect(repositories).toEqual(expected);
  });

  it.each([[{ repositories: [] }], [{ repositories: 'web' }], [{ repositories: ['web', 3] }]])('rejects %j, naming the field', (event) => {
    // Act
    const read = () => repositoriesOf(event);

    // Assess
    expect(read).toThrow(/event\.repositories must be a non-empty list of repository names/);
  });
});

describe('malformed invocation events (issue 9, point 5)', () => {
  it.each([
    ['a string', 'web', /^event: a string is not an invocation event/],
    ['an array', ['web'], /^event: a list is not an invocation event/],
    ['a typo of repositories', { repository: ['x'] }, /^event\.repository: unknown field \(did you mean "repositories"\?\)/],
    ['an EventBridge event that is neither the schedule nor a use event', { source: 'aws.codebuild', 'detail-type': 'CodeBuild Build State Change', detail: {} }, /^event\.source: unknown field/],
    // Use events are documented shapes now (issue 10), read as strictly: a malformed one names its field.
    ['an ECR Image Action without its fields', { source: 'aws.ecr', 'detail-type': 'ECR Image Action', detail: {} }, /^event\.region must be/],
    ['an ECS task event without containers', { source: 'aws.ecs', 'detail-type': 'ECS Task State Change', region: 'us-east-1', detail: {} }, /^event\.detail\.containers must be a list/],
    ['another ECS event', { source: 'aws.ecs', 'detail-type': 'ECS Container Instance State Change', region: 'us-east-1', detail: {} }, /^event\["detail-type"\]: "ECS Container Instance State Change" from aws\.ecs is not an event the janitor handles/],
    ['repositories with another field', { repositories: ['web'], dryRun: false }, /^event\.dryRun: unknown field/],
  ])('%s throws before anything is wired, read or written', async (_name, event, message) => {
    // Prepare
    let wired = 0;
    const handler = makeHandler(
      () => {
        wired += 1;
        throw new Error('the handler must not wire anything for a malformed event');
      },
      { JANITOR_CONFIG: '{}' },
    );

    // Act
    const invocation = handler(event, { invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ecr-janitor' });

    // Assess
    await expect(invocation).rejects.toThrow(message);
    expect(wired).toBe(0);
  });
});
