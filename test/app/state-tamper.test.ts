// The run state decides when a protection tag may go. A state changed outside the janitor (a pin time edited so its
// grace looks over, or another repository's state copied in) is read as missing: every protection tag stays, the
// repository is reported at error level, and the object is left for a person to look at.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushSingleImage } from '../../emulator/workload.js';
import { stateToText } from '../../lambda/adapters/state-codec.js';
import { stateFileName } from '../../lambda/adapters/state-file.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import type { Digest } from '../../lambda/domain/types.js';
import { DAY, janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld({ repositories: ['app'] });
const config = janitorConfig({ pinGraceDays: 7 });
const RELEASE = 'release-1';

/**
 * Night 1: an image pinned by ECS gets its protection tag and a state; then the deployment moves off it. The image
 * keeps a release tag, so removing the protection tag is a plain tag removal.
 */
async function protectedThenUnpinned(): Promise<{ digest: Digest; tag: string; statePath: string }> {
  const image = await pushSingleImage(world.client, 'app', { tags: [RELEASE], seed: 'pinned', bytes: SMALL });
  world.ecs.references = [{ repository: 'app', digest: image.digest, source: 'ecs:prod/api' }];
  await world.run(config);
  world.ecs.references = [];
  world.emulator.advanceDays(1);
  const tag = protectionTagFor(image.digest);
  expect(await world.tagsOf('app', image.digest)).toEqual([tag, RELEASE].sort());
  return { digest: image.digest, tag, statePath: join(world.stateDir, stateFileName('app')) };
}

/** What an attacker wants the janitor to believe: the pin was last seen 30 days ago, its grace is long over. */
function pinLongGone(digest: Digest) {
  return { repository: 'app', pinsLastSeen: { [digest]: world.emulator.now() - 30 * DAY } };
}

function errorLines(repository: string) {
  return world.logs.filter((line) => line.level === 'error' && line.fields.repository === repository);
}

describe('a state changed outside the janitor', () => {
  it('control: the same claim in a state the janitor wrote does end the protection', async () => {
    // Prepare
    const { digest, statePath } = await protectedThenUnpinned();
    await writeFile(statePath, stateToText(pinLongGone(digest)));

    // Act
    const report = await world.run(config);

    // Assess: this is what the tampering below tries to achieve.
    expect(repositoryReport(report, 'app').status).toBe('ok');
    expect(await world.tagsOf('app', digest)).toEqual([RELEASE]);
  });

  it('keeps every protection tag when a pin time was edited (wrong checksum), and reports it', async () => {
    // Prepare: the stored state with its pin time moved back and the old checksum kept.
    const { digest, tag, statePath } = await protectedThenUnpinned();
    const stored = JSON.parse(await readFile(statePath, 'utf8')) as Record<string, unknown>;
    const tampered = JSON.stringify({ ...stored, pinsLastSeen: pinLongGone(digest).pinsLastSeen });
    await writeFile(statePath, tampered);

    // Act
    const report = await world.run(config);

    // Assess
    expect(await world.tagsOf('app', digest)).toEqual([tag, RELEASE].sort());
    const app = repositoryReport(report, 'app');
    expect(app.status).toBe('failed');
    expect(app.error).toMatch(/^state check: state file .* checksum .* does not match its content/);
    expect(app.actions.tagsRemoved).toBe(0);
    expect(errorLines('app')).toContainEqual(expect.objectContaining({ fields: expect.objectContaining({ stateCheck: 'checksum' }) }));
    expect(await readFile(statePath, 'utf8')).toBe(tampered);
  });

  it("keeps every protection tag when another repository's state was copied in, and reports it", async () => {
    // Prepare: a valid state, checksum and all, of repository "other", where nothing is pinned.
    const { digest, tag, statePath } = await protectedThenUnpinned();
    const copied = stateToText({ repository: 'other', pinsLastSeen: {} });
    await writeFile(statePath, copied);

    // Act
    const report = await world.run(config);

    // Assess
    expect(await world.tagsOf('app', digest)).toEqual([tag, RELEASE].sort());
    const app = repositoryReport(report, 'app');
    expect(app.status).toBe('failed');
    expect(app.error).toMatch(/^state check: .*repository is "other", expected "app"/);
    expect(errorLines('app')).toContainEqual(expect.objectContaining({ fields: expect.objectContaining({ stateCheck: 'repository' }) }));
    expect(await readFile(statePath, 'utf8')).toBe(copied);
  });

  it('reads a state without a checksum (an older version wrote it) as missing, keeps the tags and rewrites it', async () => {
    // Prepare
    const { digest, tag, statePath } = await protectedThenUnpinned();
    await writeFile(statePath, JSON.stringify(pinLongGone(digest)));

    // Act
    const report = await world.run(config);

    // Assess
    expect(await world.tagsOf('app', digest)).toEqual([tag, RELEASE].sort());
    expect(repositoryReport(report, 'app').status).not.toBe('failed');
    expect(world.logs.some((line) => line.level === 'warn' && line.fields.stateCheck === 'unchecked')).toBe(true);
    expect(JSON.parse(await readFile(statePath, 'utf8'))).toHaveProperty('checksum');
  });
});
