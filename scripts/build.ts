// `npm run build` (also npm's `prepack`): what the package ships, in dist/:
// - JavaScript (ESM) with .d.ts and source maps of lib/, lambda/, cli/ and emulator/ (tsc -p tsconfig.build.json);
// - the Lambda bundle and its CycloneDX SBOM in dist/bundle/ (scripts/build-bundle.ts): the construct deploys this
//   asset, so a consumer's `cdk synth` needs no esbuild;
// - dist/schema/janitor-config.schema.json, the config's JSON Schema generated from the zod schema (for editors;
//   exported as ecr-janitor/schema/janitor-config.schema.json);
// - dist/build-info.json last: bin/ecr-janitor-cli.mjs runs dist only when this stamp is newer than every source.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configJsonSchema } from '../lambda/domain/config.js';
import { buildLambdaBundle } from './build-bundle.js';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The JSON Schema file's text, exactly as the build writes it. */
export function configSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

export async function buildPackage(root = PROJECT_ROOT): Promise<void> {
  const dist = join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${tsc.status})`);
  const bundle = await buildLambdaBundle(join(dist, 'bundle'));
  mkdirSync(join(dist, 'schema'), { recursive: true });
  writeFileSync(join(dist, 'schema', 'janitor-config.schema.json'), configSchemaText());
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dist, 'build-info.json'), `${JSON.stringify({ version, bundle: 'bundle/lambda/index.mjs', sbom: 'bundle/lambda.cdx.json', packages: bundle.packages.length }, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildPackage()
    .then(() => console.log('dist/: JavaScript + .d.ts (lib, lambda, cli, emulator), bundle/lambda/index.mjs + SBOM, schema/janitor-config.schema.json'))
    .catch((error: unknown) => {
      console.error((error as Error).stack ?? String(error));
      process.exit(1);
    });
}
