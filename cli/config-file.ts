// `--config FILE` for every command: the defaults without one, the file validated by the one config schema with one.
import { readFile } from 'node:fs/promises';
import { DEFAULT_CONFIG, parseConfigText } from '../lambda/domain/config.js';
import type { JanitorConfig } from '../lambda/domain/types.js';

/** `usageError` makes the command's own exit-2 error when the file cannot be read; a bad config throws ConfigError. */
export async function loadConfigFile(path: string | undefined, usageError: (message: string) => Error): Promise<JanitorConfig> {
  if (!path) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  return parseConfigText(text, path);
}
