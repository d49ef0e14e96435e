// `npm run build` (scripts/build-bundle.ts): the Lambda bundle and, beside it, a CycloneDX SBOM listing every package
// that put code into the bundle. Checked against the bundle's own source map, which esbuild writes independently of
// the metafile the SBOM is built from.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildLambdaBundle, packageFolderOf } from '../../scripts/build-bundle.js';

const ROOT = resolve(import.meta.dirname, '../..');
let outdir: string;
let built: BuildResult;

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function listed(): Map<string, string> {
  return new Map(built.sbom.components.map((c) => [c.group ? `${c.group}/${c.name}` : c.name, c.version]));
}

beforeAll(async () => {
  // Prepare + Act: one build for the file, into a temporary dist/.
  outdir = mkdtempSync(join(tmpdir(), 'ecr-janitor-dist-'));
  built = await buildLambdaBundle(outdir);
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the Lambda bundle SBOM', () => {
  it('is CycloneDX 1.5 JSON beside the bundle, naming the bundle by its SHA-256', () => {
    // Act
    const onDisk = JSON.parse(readFileSync(join(outdir, 'lambda.cdx.json'), 'utf8')) as BuildResult['sbom'];

    // Assess
    expect(built.bundlePath).toBe(join(outdir, 'lambda', 'index.mjs'));
    expect(onDisk).toEqual(built.sbom);
    expect(onDisk).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });
    expect(onDisk.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const sha256 = createHash('sha256').update(readFileSync(built.bundlePath)).digest('hex');
    expect(onDisk.metadata.component).toMatchObject({ name: 'ecr-janitor', hashes: [{ alg: 'SHA-256', content: sha256 }] });
  });

  it('lists the runtime packages with the versions installed in node_modules', () => {
    // Act
    const packages = listed();

    // Assess
    for (const name of ['@aws-sdk/client-ecr', '@aws-sdk/client-s3', '@aws-sdk/client-lambda', 'pino']) {
      expect(packages.get(name), name).toBe(installedVersion(name));
    }
    const ecr = built.sbom.components.find((c) => c.group === '@aws-sdk' && c.name === 'client-ecr')!;
    expect(ecr.purl).toBe(`pkg:npm/%40aws-sdk/client-ecr@${installedVersion('@aws-sdk/client-ecr')}`);
  });

  it('lists exactly the packages the source map says the bundle holds code from', () => {
    // Prepare: the map's sources are relative to the map file.
    const map = JSON.parse(readFileSync(`${built.bundlePath}.map`, 'utf8')) as { sources: string[] };
    const fromMap = new Map<string, string>();
    for (const source of map.sources) {
      const folder = packageFolderOf(relative(ROOT, resolve(dirname(built.bundlePath), source)).split('\\').join('/'));
      if (folder === undefined) continue;
      const manifest = JSON.parse(readFileSync(join(ROOT, folder, 'package.json'), 'utf8')) as { name: string; version: string };
      fromMap.set(manifest.name, manifest.version);
    }

    // Act
    const packages = listed();

    // Assess
    expect(fromMap.size).toBeGreaterThan(5);
    expect(Object.fromEntries([...packages].sort())).toEqual(Object.fromEntries([...fromMap].sort()));
  });

  it('lists no build-time package (CDK, esbuild, test tools)', () => {
    // Act
    const names = [...listed().keys()];

    // Assess
    expect(names.filter((n) => ['aws-cdk-lib', 'aws-cdk', 'cdk-nag', 'constructs', 'esbuild', 'vitest', 'typescript', 'tsx', 'aws-sdk'].includes(n))).toEqual([]);
  });
});
