// Run state on a laptop or CI runner: one JSON file per repository in a directory.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StateStore } from '../app/ports.js';
import { parseStateText, stateToText } from './state-codec.js';

/** `team/app` -> `team%2Fapp.json`: one flat directory, no path tricks from a repository name. */
export function stateFileName(repository: string): string {
  return `${encodeURIComponent(repository)}.json`;
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
      await mkdir(dir, { recursive: true });
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
  };
}
