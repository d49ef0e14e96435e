import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { checkStateDirWritable, createFileStateStore, stateFileName } from '../../lambda/adapters/state-file.js';
import type { RepositoryState } from '../../lambda/domain/types.js';
import { digestOf } from './fake-aws.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecr-janitor-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const state: RepositoryState = {
  repository: 'team/web',
  pinsLastSeen: { [digestOf('pinned')]: 1_700_000_000_000 },
  lastInventory: { at: 1_700_000_000_000, digests: [digestOf('pinned'), digestOf('other')], bytes: [1234, 99] },
};

describe('file state store', () => {
  test('saves and loads a repository whose name has slashes, as one flat file', async () => {
    // Prepare
    const store = createFileStateStore(join(dir, 'nested', 'state'));

    // Act
    await store.save(state);
    const loaded = await store.load('team/web');

    // Assess
    expect(loaded).toEqual(state);
    expect(await readdir(join(dir, 'nested', 'state'))).toEqual(['team%2Fweb.json']);
  });

  test('lists the repositories it holds state for (the fallback when the registry cannot be listed)', async () => {
    // Prepare
    const store = createFileStateStore(dir);
    await store.save(state);
    await store.save({ ...state, repository: 'api' });
    await writeFile(join(dir, 'notes.txt'), 'not a state', 'utf8');

    // Act
    const names = await store.repositories!();
    const none = await createFileStateStore(join(dir, 'missing')).repositories!();

    // Assess
    expect(names.sort()).toEqual(['api', 'team/web']);
    expect(none).toEqual([]);
  });

  test('saving again replaces the state and leaves no temporary file', async () => {
    // Prepare
    const store = createFileStateStore(dir);
    await store.save(state);

    // Act
    await store.save({ repository: 'team/web', pinsLastSeen: {} });

    // Assess
    expect(await store.load('team/web')).toEqual({ repository: 'team/web', pinsLastSeen: {} });
    expect(await readdir(dir)).toEqual([stateFileName('team/web')]);
  });

  test('no file means no state yet', async () => {
    // Prepare
    const store = createFileStateStore(join(dir, 'does-not-exist'));

    // Act
    const loaded = await store.load('app');

    // Assess
    expect(loaded).toBeNull();
  });

  test.each([
    ['not JSON', '{"repository":', /state file .*app\.json is not valid JSON/],
    ['a wrong repository', '{"repository":"other","pinsLastSeen":{}}', /repository is "other", expected "app"/],
    ['a pin time that is not a number', '{"repository":"app","pinsLastSeen":{"sha256:x":"yesterday"}}', /pinsLastSeen\["sha256:x"\] must be a number/],
    ['no pinsLastSeen', '{"repository":"app"}', /pinsLastSeen must be an object/],
    ['lastInventory bytes that do not pair with its digests', '{"repository":"app","pinsLastSeen":{},"lastInventory":{"at":1,"digests":["sha256:a"],"bytes":[]}}', /lastInventory.bytes has 0 entries for 1 digests: they must pair up/],
    ['lastInventory byte counts that are not numbers', '{"repository":"app","pinsLastSeen":{},"lastInventory":{"at":1,"digests":["sha256:a"],"bytes":["1"]}}', /lastInventory.bytes must be a list of byte counts, one per digest/],
    ['lastInventory without its digests', '{"repository":"app","pinsLastSeen":{},"lastInventory":{"at":1,"bytes":[]}}', /lastInventory.digests must be a list of digests/],
  ])('a file with %s is an error naming the problem', async (_, text, problem) => {
    // Prepare
    await writeFile(join(dir, 'app.json'), text);
    const store = createFileStateStore(dir);

    // Act
    const load = store.load('app');

    // Assess
    await expect(load).rejects.toThrow(problem);
  });

  test('the file is readable JSON', async () => {
    // Prepare
    const store = createFileStateStore(dir);

    // Act
    await store.save(state);

    // Assess
    expect(JSON.parse(await readFile(join(dir, 'team%2Fweb.json'), 'utf8'))).toEqual({ ...state, checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });
});

describe('checkStateDirWritable (issue 9, point 9)', () => {
  test('creates a missing directory and leaves nothing behind', async () => {
    // Prepare
    const target = join(dir, 'fresh', 'state');

    // Act
    await checkStateDirWritable(target);

    // Assess
    expect(await readdir(target)).toEqual([]);
  });

  test.each([
    ['under /proc', '/proc/ecr-janitor-state'],
    ['a path through a regular file', 'FILE/state'],
  ])('fails %s before anything is written, naming the directory', async (_name, path) => {
    // Prepare
    await writeFile(join(dir, 'FILE'), 'not a directory', 'utf8');
    const target = path.startsWith('FILE') ? join(dir, path) : path;

    // Act
    const check = checkStateDirWritable(target);

    // Assess
    await expect(check).rejects.toThrow(new RegExp(`--state-dir ${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not writable.*nothing was changed`));
  });
});
