// Run state on a laptop or CI runner: one JSON file per repository in a directory.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StateStore } from '../app/ports.js';
import { parseStateText, stateToText } from './state-codec.js';

/** `team/app` -> `team%2Fapp.json`: one flat directory, no path tricks from a repository name. */
export function stateFileName(repository: string): string {
  return `${encodeURIComponent(repository)}.json`;
}

/**
 * Fails unless `dir` can hold state: created if missing, a file written, renamed and removed, as save does. Called
 * before a run writes anything, so an unwritable --state-dir (e.g. under /proc) stops the run before any change in ECR,
 * not after the changes with the state that records them lost.
 */
export async function checkStateDirWritable(dir: string): Promise<void> {
  const probe = join(dir, `.write-probe.${randomUUID()}.tmp`);
  try {
    await makeDirectory(dir);
    await writeFile(probe, 'ecr-janitor write probe\n', 'utf8');
    await rename(probe, `${probe}.renamed`);
    await rm(`${probe}.renamed`, { force: true });
  } catch (error) {
    await rm(probe, { force: true }).catch(() => undefined);
    throw new Error(`--state-dir ${dir} is not writable (${(error as Error).message}); choose a directory the janitor can write: nothing was changed`);
  }
}

/**
 * mkdir -p, one level at a time. Node's own `recursive: true` never returns for a path under /proc (it keeps retrying
 * ENOENT), which would hang a run at its first state save.
 */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw error;
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
  }
  await makeDirectory(dirname(dir));
  try {
    await mkdir(dir);
  } catch (error) {
    // Another run made it in between: fine.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export function createFileStateStore(dir: string): StateStore {
  return {
    async load(repository) {
      const path = join(dir, stateFileName(repository));
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      return parseStateText(text, `state file ${path}`, repository);
    },

    async save(state) {
      await makeDirectory(dir);
      const path = join(dir, stateFileName(state.repository));
      // Write then rename: an interrupted run leaves the old state or the new one, never half of one.
      const temporary = `${path}.${randomUUID()}.tmp`;
      try {
        await writeFile(temporary, stateToText(state), 'utf8');
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    },

    async repositories() {
      let files: string[];
      try {
        files = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      return files.filter((file) => file.endsWith('.json')).map((file) => decodeURIComponent(file.slice(0, -'.json'.length)));
    },
  };
}
