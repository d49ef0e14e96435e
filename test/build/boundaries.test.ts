// The emulator judges the janitor, so it must not share the janitor's code; and the Lambda ships only lambda/.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** Import specifiers of a TypeScript file: `from '...'`, bare `import '...'` and `import('...')`. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

describe('code boundaries', () => {
  it('emulator/ imports nothing from lambda/ (an independent model of ECR)', async () => {
    // Prepare
    const files = await sourceFiles(join(ROOT, 'emulator'));

    // Act
    const crossings: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(await readFile(file, 'utf8'))) {
        if (spec.startsWith('.') && relative(ROOT, join(file, '..', spec)).startsWith('lambda')) crossings.push(`${relative(ROOT, file)} -> ${spec}`);
      }
    }

    // Assess
    expect(files.length).toBeGreaterThan(3);
    expect(crossings).toEqual([]);
  });

  it('the Lambda bundle contains nothing from emulator/ or cli/', async () => {
    // Act
    const result = await build({
      entryPoints: [join(ROOT, 'lambda/handler.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outfile: 'index.mjs',
    });
    const inputs = Object.keys(result.metafile.inputs).map((input) => relative(ROOT, join(process.cwd(), input)));

    // Assess
    expect(inputs).toContain('lambda/handler.ts');
    expect(inputs.filter((input) => input.startsWith('emulator/') || input.startsWith('cli/'))).toEqual([]);
  });
});
