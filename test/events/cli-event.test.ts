// `ecr-janitor event FILE` in-process against the emulator, configured as a user would (AWS_ENDPOINT_URL_ECR, a
// --config file, a --state-dir): the same path the Lambda takes for a use event.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { runCli as cli, useEmulatorCliEnvironment } from '../support/cli-harness.js';
import { SMALL, useJanitorWorld } from '../support/emulator-janitor.js';
import { ecsTaskEvent, HOST } from './support.js';

const world = useJanitorWorld({ repositories: ['app'] });

useEmulatorCliEnvironment(world, 'silent');

async function file(name: string, value: unknown): Promise<string> {
  const path = join(world.stateDir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
  return path;
}

describe('ecr-janitor event FILE', () => {
  it('tags the image an ECS task event names and prints what it did', async () => {
    // Prepare
    const image = await pushSingleImage(world.client, 'app', { tags: ['ci-7'], seed: 'ci-7', bytes: SMALL });
    const event = await file('event.json', ecsTaskEvent([{ image: `${HOST}/app:ci-7`, imageDigest: image.digest }]));
    const config = await file('janitor.json', { pins: { ecs: false, lambda: false } });

    // Act
    const { code, stdout } = await cli(['event', event, '--config', config, '--state-dir', join(world.stateDir, 'state')]);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`protect: ${image.digest} \\(in use, announced by event\\)`));
    expect(await world.tagsOf('app', image.digest)).toEqual(['ci-7', protectionTagFor(image.digest)].sort());
  });

  it.each([
    ['a run event', { repositories: ['app'] }, /not a use event/],
    ['a malformed ECS event', { source: 'aws.ecs', 'detail-type': 'ECS Task State Change', region: 'us-east-1', detail: { containers: 'x' } }, /event\.detail\.containers must be a list/],
    ['text that is not JSON', 'not json', /cannot read the event/],
  ])('exits 2 for %s, naming the problem and touching nothing', async (_name, content, message) => {
    // Prepare
    const event = await file('event.json', content);
    const before = world.emulator.stats().total;

    // Act
    const { code, stderr } = await cli(['event', event]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(world.emulator.stats().total).toBe(before);
  });
});
