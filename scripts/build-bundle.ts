// The Lambda bundle as the CDK builds it (lambda/handler.ts through esbuild with JANITOR_BUNDLING), written by
// `npm run build` (scripts/build.ts) to dist/bundle/lambda/ (the asset the published construct deploys), and beside it a
// CycloneDX SBOM (dist/bundle/lambda.cdx.json) of every package that put code into the bundle, each with the version
// read from its own node_modules/<name>/package.json.
// The package list comes from esbuild's metafile: an input with bytes in the output is in the bundle; one that was
// read but shaken out entirely is not.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, version as esbuildVersion, type Metafile } from 'esbuild';
import { JANITOR_BUNDLING } from '../lib/janitor-function.js';
import { esbuildOptionsFor } from './bench-bundle.js';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HANDLER_ENTRY = join(PROJECT_ROOT, 'lambda/handler.ts');

export interface BundledPackage {
  name: string;
  version: string;
  license?: string;
  /** Folder of the package, relative to the project root (node_modules/...). */
  path: string;
}

export interface BuildResult {
  bundlePath: string;
  sbomPath: string;
  packages: BundledPackage[];
  sbom: CycloneDxBom;
}

export interface CycloneDxComponent {
  type: 'library' | 'application';
  'bom-ref': string;
  group?: string;
  name: string;
  version: string;
  purl: string;
  licenses?: { expression: string }[];
  hashes?: { alg: 'SHA-256'; content: string }[];
}

/** The subset of CycloneDX 1.5 (https://cyclonedx.org/docs/1.5/json/) this SBOM uses. */
export interface CycloneDxBom {
  bomFormat: 'CycloneDX';
  specVersion: '1.5';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: string; version: string }[] };
    component: CycloneDxComponent;
  };
  components: CycloneDxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

/** Bundles into `outdir/lambda/index.mjs` and writes `outdir/lambda.cdx.json`. */
export async function buildLambdaBundle(outdir = join(PROJECT_ROOT, 'dist', 'bundle')): Promise<BuildResult> {
  const bundleDir = join(outdir, 'lambda');
  rmSync(bundleDir, { recursive: true, force: true });
  mkdirSync(bundleDir, { recursive: true });
  const options = { ...esbuildOptionsFor(JANITOR_BUNDLING, HANDLER_ENTRY, bundleDir), absWorkingDir: PROJECT_ROOT };
  const result = await build(options);
  const bundlePath = options.outfile!;
  const packages = bundledPackages(result.metafile!, PROJECT_ROOT);
  const sbom = cycloneDx(packages, readFileSync(bundlePath));
  const sbomPath = join(outdir, 'lambda.cdx.json');
  writeFileSync(sbomPath, `${JSON.stringify(sbom, null, 2)}\n`);
  return { bundlePath, sbomPath, packages, sbom };
}

/** `node_modules/@scope/name/dist/x.js` -> `node_modules/@scope/name` (the innermost node_modules wins). */
export function packageFolderOf(input: string): string | undefined {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const length = parts[at + 1]!.startsWith('@') ? 2 : 1;
  return parts.slice(0, at + 1 + length).join('/');
}

/** Every package with bytes in an output, one entry per name and version, sorted. */
export function bundledPackages(metafile: Metafile, root: string): BundledPackage[] {
  const folders = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const folder = packageFolderOf(input);
      if (folder !== undefined && bytesInOutput > 0) folders.add(folder);
    }
  }
  const byId = new Map<string, BundledPackage>();
  for (const folder of folders) {
    const manifest = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown; license?: unknown };
    if (typeof manifest.name !== 'string' || typeof manifest.version !== 'string') {
      throw new Error(`${folder}/package.json has no name or version; the SBOM cannot list what is bundled from it`);
    }
    const pkg: BundledPackage = { name: manifest.name, version: manifest.version, path: folder };
    if (typeof manifest.license === 'string') pkg.license = manifest.license;
    byId.set(`${pkg.name}@${pkg.version}`, pkg);
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** Package URL of an npm package (https://github.com/package-url/purl-spec: the scope's @ is percent-encoded). */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

function cycloneDx(packages: BundledPackage[], bundle: Buffer): CycloneDxBom {
  const project = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
  const bundleSha256 = createHash('sha256').update(bundle).digest('hex');
  const root: CycloneDxComponent = {
    type: 'application',
    'bom-ref': npmPurl(project.name, project.version),
    name: project.name,
    version: project.version,
    purl: npmPurl(project.name, project.version),
    ...(project.license ? { licenses: [{ expression: project.license }] } : {}),
    // Ties the SBOM to the one bundle it describes.
    hashes: [{ alg: 'SHA-256', content: bundleSha256 }],
  };
  const components = packages.map((pkg): CycloneDxComponent => {
    const scoped = pkg.name.startsWith('@');
    const purl = npmPurl(pkg.name, pkg.version);
    return {
      type: 'library',
      'bom-ref': purl,
      ...(scoped ? { group: pkg.name.split('/')[0]!, name: pkg.name.split('/')[1]! } : { name: pkg.name }),
      version: pkg.version,
      purl,
      ...(pkg.license ? { licenses: [{ expression: pkg.license }] } : {}),
    };
  });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    // Same bundle, same serial number: a rebuild does not mint a new identity for identical content.
    serialNumber: `urn:uuid:${uuidFrom(bundleSha256)}`,
    version: 1,
    metadata: {
      timestamp: sourceDate().toISOString(),
      tools: { components: [{ type: 'application', name: 'esbuild', version: esbuildVersion }] },
      component: root,
    },
    components,
    dependencies: [{ ref: root['bom-ref'], dependsOn: components.map((c) => c['bom-ref']) }],
  };
}

/** A version-4-shaped UUID from the first 128 bits of a hex digest. */
function uuidFrom(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '4';
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** SOURCE_DATE_EPOCH (reproducible builds) when set, otherwise now. */
function sourceDate(): Date {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  return epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date();
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildLambdaBundle()
    .then(({ bundlePath, sbomPath, packages }) => {
      console.log(`bundle: ${bundlePath}\nSBOM:   ${sbomPath} (${packages.length} packages)`);
    })
    .catch((error: unknown) => {
      console.error((error as Error).stack ?? String(error));
      process.exit(1);
    });
}
