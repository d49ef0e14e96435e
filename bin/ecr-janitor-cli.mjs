#!/usr/bin/env node
// The `ecr-janitor` command. Installed from npm it runs the built JavaScript (dist/cli/cli.js). In a checkout it runs
// dist too when `npm run build` is newer than every source file, and otherwise the TypeScript through tsx (a dev
// dependency), so a fresh clone needs no build step and a stale build is never run.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/cli/cli.js`;
const source = `${root}cli/cli.ts`;

/** Newest modification time (ms) of the TypeScript under the folders dist is built from. */
function newestSource() {
  let newest = 0;
  for (const folder of ['cli', 'lambda', 'lib', 'emulator']) {
    const dir = `${root}${folder}`;
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { recursive: true })) {
      if (entry.endsWith('.ts')) newest = Math.max(newest, statSync(`${dir}/${entry}`).mtimeMs);
    }
  }
  return newest;
}

function useBuilt() {
  if (!existsSync(built)) return false;
  if (!existsSync(source)) return true; // an installed package: no sources beside it
  const stamp = `${root}dist/build-info.json`;
  return existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource();
}

let cli;
if (useBuilt()) {
  cli = await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source);
}
process.exitCode = await cli.run(process.argv.slice(2));
