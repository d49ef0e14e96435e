// Which pin sources a run gets: an unknown account id must fail closed, never silently match nothing.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/domain/config.js';
import { pinSourcesFor } from '../../lambda/handler.js';

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
