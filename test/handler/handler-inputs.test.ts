// What the handler reads besides the config: which pin sources to wire, and which repositories the event names.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { pinSourcesFor, repositoriesOf } from '../../lambda/handler.js';

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
