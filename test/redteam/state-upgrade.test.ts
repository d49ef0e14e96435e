// Red team: the run state's last inventory moved from a digest -> bytes object to columns. The first night after an
// upgrade reads every state in the older shape; a misread there must not end a pin's grace early, lose the reaped
// accounting, or make the state look tampered with (read as missing).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { stateFileName } from '../../lambda/adapters/state-file.js';
import { canonicalJson } from '../../lambda/domain/canonical-json.js';
import { sha256Digest } from '../../lambda/domain/digest.js';
import { protectionTagFor } from '../../lambda/domain/patterns.js';
import { pushSingleImage } from '../../emulator/workload.js';
import { janitorConfig, repositoryReport, SMALL, useJanitorWorld } from '../support/emulator-janitor.js';

const world = useJanitorWorld();

/** Rewrites a stored state as the release before the columns wrote it: digest -> bytes, its checksum over that shape. */
async function rewriteByDigest(repository: string): Promise<void> {
  const path = join(world.stateDir, stateFileName(repository));
  const { checksum: _columns, ...state } = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown> & {
    lastInventory: { at: number; digests: string[]; bytes: number[]; tags?: Record<string, string> };
  };
  const { digests, bytes, ...rest } = state.lastInventory;
  const body = { ...state, lastInventory: { ...rest, bytes: Object.fromEntries(digests.map((digest, i) => [digest, bytes[i]!])) } };
  await writeFile(path, `${JSON.stringify({ ...body, checksum: sha256Digest(canonicalJson(body)) }, null, 2)}\n`);
}

describe('the first night after the last inventory moved to columns', () => {
  it('reads a digest -> bytes state: the pin keeps its grace, what expired is counted as reaped, the state is rewritten in columns', async () => {
    // Prepare: night 1 pins an untagged image (its protection tag is its only tag) beside an untagged leftover; the
    // state is then put back in the older shape, as the release before wrote it. The pin goes; the leftover expires.
    const config = janitorConfig({ pinGraceDays: 7 });
    await world.client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    const rollback = await pushSingleImage(world.client, 'app', { tags: [], seed: 'rollback', bytes: SMALL });
    const leftover = await pushSingleImage(world.client, 'app', { tags: [], seed: 'leftover', bytes: SMALL + 1 });
    await pushSingleImage(world.client, 'app', { tags: ['v2'], seed: 'v2', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: rollback.digest, source: 'ecs:prod/rollback' }];
    const pinnedNight = await world.run(config);
    await rewriteByDigest('app');
    const expired = world.nextNight(3.5).expired.map((e) => e.digest);
    world.ecs.references = [];

    // Act
    const upgraded = await world.run(config);
    const lifecycle = world.nextNight();

    // Assess
    const stored = JSON.parse(await readFile(join(world.stateDir, stateFileName('app')), 'utf8')) as { lastInventory: Record<string, unknown> };
    expect(repositoryReport(pinnedNight, 'app').actions.tagsAdded).toBe(1);
    expect(expired).toEqual([leftover.digest]);
    expect(repositoryReport(upgraded, 'app')).toMatchObject({ status: 'ok', reaped: { images: 1, bytes: SMALL + 1 }, actions: { tagsRemoved: 0 } });
    expect(lifecycle.expired).toEqual([]);
    expect(await world.tagsOf('app', rollback.digest)).toEqual([protectionTagFor(rollback.digest)]);
    expect(await world.resolvable('app', [rollback.digest])).toEqual(new Set([rollback.digest]));
    expect(Object.keys(stored.lastInventory).sort()).toEqual(['at', 'bytes', 'digests', 'tags']);
  });

  it('reads a digest -> bytes state edited after it was written as missing, and still keeps the pin', async () => {
    // Prepare: as above, but someone edits a byte count in the older-shape state without fixing its checksum
    const config = janitorConfig({ pinGraceDays: 7 });
    await world.client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    const rollback = await pushSingleImage(world.client, 'app', { tags: [], seed: 'rollback', bytes: SMALL });
    await pushSingleImage(world.client, 'app', { tags: ['v2'], seed: 'v2', bytes: SMALL });
    world.ecs.references = [{ repository: 'app', digest: rollback.digest, source: 'ecs:prod/rollback' }];
    await world.run(config);
    await rewriteByDigest('app');
    const path = join(world.stateDir, stateFileName('app'));
    await writeFile(path, (await readFile(path, 'utf8')).replace(`"${rollback.digest}": ${SMALL}`, `"${rollback.digest}": ${SMALL + 7}`));
    world.nextNight(3.5);
    world.ecs.references = [];

    // Act
    const edited = await world.run(config);
    const lifecycle = world.nextNight(10);

    // Assess: read as missing, the protection tag with no state behind it counts as pinned now
    expect(repositoryReport(edited, 'app')).toMatchObject({ status: 'failed', actions: { tagsRemoved: 0 } });
    expect(lifecycle.expired).toEqual([]);
    expect(await world.resolvable('app', [rollback.digest])).toEqual(new Set([rollback.digest]));
  });
});
