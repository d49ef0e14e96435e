// An artifact of a media type the janitor does not understand (issue 9, point 7): with unknownArtifacts "keep" (the
// default) its protection tag goes in (BatchGetImage accepts its own media type, PutImage sends it back) and the policy is
// installed, not held every night; with "expire" the policy treats it like any image. The report names image and setting.
import { createHash } from 'node:crypto';
import { PutImageCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app'] });
const WEIRD = 'application/vnd.example.thing.v1+json';

/** An untagged artifact of an unknown media type, pushed 10 days ago (past the untagged rule's 3 days). */
async function pushUnknownArtifact(): Promise<string> {
  const text = JSON.stringify({ schemaVersion: 2, mediaType: WEIRD, payload: 'something only its tool reads' });
  await world.client.send(new PutImageCommand({ repositoryName: 'app', imageManifest: text, imageManifestMediaType: WEIRD }));
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

describe('unknown artifacts', () => {
  it('keeps one by default with a protection tag that does go in, installs the policy, and names image and setting', async () => {
    // Prepare
    const artifact = await pushUnknownArtifact();
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    world.emulator.advanceDays(10);

    // Act
    const report = await world.run(janitorConfig());
    const lifecycle = world.nextNight();

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app).toMatchObject({ status: 'ok', actions: { tagsAdded: 1, policyInstalled: true, policyHeld: false, failures: [] } });
    expect(app.plan!.warnings).toContainEqual(expect.stringMatching(new RegExp(`^${artifact}: unknown media type ${WEIRD.replace(/[.+]/g, '\\$&')}: kept \\(unknownArtifacts "keep"; set it to "expire"`)));
    expect(await world.tagsOf('app', artifact)).toEqual([protectionTagFor(artifact)]);
    expect(lifecycle.expired).toEqual([]);
  });

  it('lets the policy expire one with unknownArtifacts "expire", saying so', async () => {
    // Prepare
    const artifact = await pushUnknownArtifact();
    await pushSingleImage(world.client, 'app', { tags: ['v1'], seed: 'v1', bytes: SMALL });
    world.emulator.advanceDays(10);

    // Act
    const report = await world.run(janitorConfig({ unknownArtifacts: 'expire' }));
    const lifecycle = world.nextNight();

    // Assess
    const app = repositoryReport(report, 'app');
    expect(app).toMatchObject({ status: 'ok', actions: { tagsAdded: 0, policyInstalled: true } });
    expect(app.plan!.images.find((i) => i.digest === artifact)).toMatchObject({ decision: 'expire' });
    expect(app.plan!.warnings).toContainEqual(expect.stringContaining(`${artifact}: unknown media type ${WEIRD}; unknownArtifacts is "expire"`));
    expect(lifecycle.expired.map((e) => e.digest)).toEqual([artifact]);
  });
});
