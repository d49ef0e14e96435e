// The Lambda bundle as the CDK builds it: lambda/handler.ts through esbuild with the construct's own bundling options
// (JANITOR_BUNDLING, mapped to esbuild's API the way aws-lambda-nodejs maps them to its command line).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { JANITOR_BUNDLING } from '../lib/janitor-function.js';

export const HANDLER_ENTRY = resolve('lambda/handler.ts');

export interface BundleBench {
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  ms: number;
  /** Biggest contributors to the output, by package (or lambda/ for our own code). */
  topInputs: { input: string; bytes: number }[];
}

/** NodejsFunction's translation of BundlingOptions into esbuild arguments (Bundling.buildEsbuildArgs), as API options. */
export function esbuildOptionsFor(bundling: Readonly<nodejs.BundlingOptions>, entry: string, outdir: string): BuildOptions {
  const esm = bundling.format === nodejs.OutputFormat.ESM;
  const sourceMapMode = bundling.sourceMapMode ?? nodejs.SourceMapMode.DEFAULT;
  const sourcemap = (bundling.sourceMapMode ?? bundling.sourceMap)
    ? sourceMapMode === nodejs.SourceMapMode.DEFAULT
      ? true
      : (sourceMapMode as 'inline' | 'external' | 'both')
    : false;
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: bundling.target ?? 'node22',
    ...(bundling.format ? { format: bundling.format as 'esm' | 'cjs' } : {}),
    outfile: join(outdir, esm ? 'index.mjs' : 'index.js'),
    minify: bundling.minify ?? false,
    sourcemap,
    sourcesContent: bundling.sourcesContent ?? true,
    // aws-lambda-nodejs leaves the SDK external unless externalModules says otherwise; ours says [] (SDK inside).
    external: [...(bundling.externalModules ?? ['@aws-sdk/*'])],
    ...(bundling.mainFields ? { mainFields: [...bundling.mainFields] } : {}),
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.define ? { define: { ...bundling.define } } : {}),
    ...(bundling.keepNames ? { keepNames: true } : {}),
    logLevel: 'warning',
    metafile: true,
  };
}

function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return input.split('/').slice(0, 2).join('/');
  const rest = input.slice(at + 'node_modules/'.length).split('/');
  return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

function topInputs(metafile: Metafile, count: number): { input: string; bytes: number }[] {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = packageOf(input);
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage]
    .map(([input, bytes]) => ({ input, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count);
}

export async function benchBundle(): Promise<BundleBench> {
  const outdir = mkdtempSync(join(tmpdir(), 'ecr-janitor-bundle-'));
  try {
    const options = esbuildOptionsFor(JANITOR_BUNDLING, HANDLER_ENTRY, outdir);
    const start = performance.now();
    const result = await build(options);
    const ms = Math.round(performance.now() - start);
    const outfile = options.outfile!;
    const code = readFileSync(outfile);
    let sourceMapBytes = 0;
    try {
      sourceMapBytes = statSync(`${outfile}.map`).size;
    } catch {
      // no separate map (inline or none)
    }
    return { bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length, sourceMapBytes, ms, topInputs: topInputs(result.metafile!, 6) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
