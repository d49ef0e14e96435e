// Opt-in by repository tag (config repositories.tag): only repositories carrying the tag are managed, the globs still
// apply, and a tag that cannot be read fails the run rather than guessing. The ECR side (ListTagsForResource) is
// exercised against a fake transport; the selection against the emulator, with the tags supplied through the port.
import { describe, expect, it } from 'vitest';
import { createEcrRegistry, makeEcrClient } from '../../lambda/adapters/ecr-registry.js';
import { runJanitor } from '../../lambda/app/run-janitor.js';
import { ConfigError, parseConfig } from '../../lambda/domain/config.js';
import { byOperation, fakeTransport, jsonError, ok, TEST_CREDENTIALS } from '../adapters/fake-aws.js';
import { janitorConfig, useJanitorWorld } from '../support/emulator-janitor.js';

const TAG = { key: 'ecr-janitor', value: 'managed' };
const ARN = (name: string) => `arn:aws:ecr:eu-west-1:111122223333:repository/${name}`;

describe('config repositories.tag', () => {
  it('is read with the globs', () => {
    // Act
    const config = parseConfig({ repositories: { include: ['team-*'], tag: TAG } }, 'test');

    // Assess
    expect(config.repositories).toEqual({ include: ['team-*'], exclude: [], tag: TAG });
  });

  it.each([
    [{ key: 'ecr-janitor' }, 'repositories.tag.value'],
    [{ key: 'aws:cloudformation:stack-name', value: 'x' }, 'repositories.tag.key'],
    [{ key: 'ecr-janitor', value: 'managed', vlaue: 'x' }, 'repositories.tag.vlaue'],
    ['ecr-janitor=managed', 'repositories.tag'],
  ])('refuses %j, naming %s', (tag, field) => {
    // Act
    let error: unknown;
    try {
      parseConfig({ repositories: { tag } }, 'test');
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toContain(field);
  });

  it('suggests the key for a misspelt "tags"', () => {
    // Act
    const parse = () => parseConfig({ repositories: { tags: TAG } }, 'test');

    // Assess
    expect(parse).toThrow('did you mean "repositories.tag"?');
  });
});

describe('ECR repositoryTags', () => {
  it('reads the tags of a listed repository by its ARN, and null once it is gone', async () => {
    // Prepare
    const transport = fakeTransport(
      byOperation({
        DescribeRepositories: (request) =>
          request.json.repositoryNames === undefined
            ? ok({ repositories: [{ repositoryName: 'team/app', repositoryArn: ARN('team/app'), registryId: '111122223333' }] })
            : jsonError('RepositoryNotFoundException', `The repository with name '${String(request.json.repositoryNames)}' does not exist`),
        ListTagsForResource: (request) => {
          expect(request.json.resourceArn).toBe(ARN('team/app'));
          return ok({ tags: [{ Key: TAG.key, Value: TAG.value }, { Key: 'owner', Value: 'team' }] });
        },
      }),
    );
    const registry = createEcrRegistry(makeEcrClient({ region: 'eu-west-1', credentials: TEST_CREDENTIALS, requestHandler: transport.requestHandler }));

    // Act
    await registry.listRepositories();
    const tags = await registry.repositoryTags('team/app');
    const gone = await registry.repositoryTags('team/gone');

    // Assess
    expect(tags).toEqual({ [TAG.key]: TAG.value, owner: 'team' });
    expect(gone).toBeNull();
    expect(transport.count('DescribeRepositories')).toBe(2); // the listing, then the ARN of the one it did not list
  });
});

describe('selecting repositories by tag', () => {
  const world = useJanitorWorld({ repositories: ['team-a', 'team-b', 'team-secret', 'other'] });
  const tagged: Record<string, Record<string, string>> = {
    'team-a': { [TAG.key]: TAG.value },
    'team-b': { [TAG.key]: 'no' },
    'team-secret': { [TAG.key]: TAG.value },
    other: { [TAG.key]: TAG.value },
  };

  it('manages only the repositories that carry the tag and match the globs', async () => {
    // Prepare
    const registry = { ...world.newRegistry(), repositoryTags: async (name: string) => tagged[name] ?? {} };
    const config = janitorConfig({ repositories: { include: ['team-*'], exclude: ['team-secret'], tag: TAG } });

    // Act
    const report = await runJanitor({ registry, pinSources: [], stateStore: world.stateStore, clock: world.clock, log: world.log }, { config, mode: 'plan' });

    // Assess
    expect(report.repositories.map((r) => r.repository)).toEqual(['team-a']);
  });

  it('fails each repository whose tag cannot be read, touching nothing there (no janitor policy to hold)', async () => {
    // Prepare
    const registry = {
      ...world.newRegistry(),
      repositoryTags: async () => Promise.reject(Object.assign(new Error('not authorized to perform ecr:ListTagsForResource'), { name: 'AccessDeniedException' })),
    };
    const config = janitorConfig({ repositories: { include: ['*'], tag: TAG } });

    // Act
    const report = await runJanitor({ registry, pinSources: [], stateStore: world.stateStore, clock: world.clock, log: world.log }, { config, mode: 'run' });

    // Assess
    expect(report.repositories.find((r) => r.repository === 'team-a')).toMatchObject({ status: 'failed', error: expect.stringMatching(/ecr:ListTagsForResource/) });
    expect(report.totals.failed).toBe(report.repositories.length);
    expect(await world.policyOf('team-a')).toBeNull();
  });
});
