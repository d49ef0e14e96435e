// Organization-wide pins: each janitor publishes, per registry it uses in another account or region, the image
// references its account runs from that registry; each registry's janitor reads what every publisher says about it.
// One JSON document per (registry, publisher) under a prefix per registry account (README "Organization-wide pins").
// A publisher that stops publishing is never forgotten: its last document stays in force and is reported as stale.
import { DIGEST, type RegistryAddress } from './image-uri.js';
import type { PinReference } from './types.js';

export const ORG_PINS_PREFIX = 'org-pins/';

/** An image reference to some registry, as a publisher saw it. */
export interface OrgReference {
  registry: RegistryAddress;
  repository: string;
  digest?: string;
  tag?: string;
  source: string;
}

export interface PublishedPins {
  version: 1;
  publisher: RegistryAddress;
  registry: RegistryAddress;
  publishedAt: number;
  references: { repository: string; digest?: string; tag?: string; source: string }[];
}

/** `org-pins/<registry account>/<registry region>/<publisher account>-<publisher region>.json` */
export function orgPinsKey(registry: RegistryAddress, publisher: RegistryAddress): string {
  return `${registryPrefix(registry)}${publisher.accountId}-${publisher.region}.json`;
}

export function registryPrefix(registry: RegistryAddress): string {
  return `${ORG_PINS_PREFIX}${registry.accountId}/${registry.region}/`;
}

/** One document per registry the publisher uses, its own registry aside (its own janitor scans that). */
export function documentsToPublish(publisher: RegistryAddress, references: readonly OrgReference[], now: number): PublishedPins[] {
  const byRegistry = new Map<string, PublishedPins>();
  for (const ref of references) {
    if (ref.registry.accountId === publisher.accountId && ref.registry.region === publisher.region) continue;
    const key = `${ref.registry.accountId}/${ref.registry.region}`;
    let doc = byRegistry.get(key);
    if (!doc) {
      doc = { version: 1, publisher, registry: ref.registry, publishedAt: now, references: [] };
      byRegistry.set(key, doc);
    }
    const entry = { repository: ref.repository, ...(ref.digest ? { digest: ref.digest } : {}), ...(ref.tag ? { tag: ref.tag } : {}), source: ref.source };
    if (!doc.references.some((r) => JSON.stringify(r) === JSON.stringify(entry))) doc.references.push(entry);
  }
  return [...byRegistry.values()];
}

export function publishedPinsToText(doc: PublishedPins): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Reads a published document strictly; throws naming `where` and the field (the reader then fails closed). */
export function parsePublishedPins(text: string, where: string): PublishedPins {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} is not valid JSON (${(error as Error).message})`);
  }
  const fail = (problem: string): never => {
    throw new Error(`${where}: ${problem}`);
  };
  if (!isRecord(value)) return fail('expected a JSON object');
  if (value.version !== 1) fail('version must be 1');
  const publisher = address(value.publisher, 'publisher', fail);
  const registry = address(value.registry, 'registry', fail);
  if (typeof value.publishedAt !== 'number' || !Number.isFinite(value.publishedAt)) fail('publishedAt must be epoch milliseconds');
  if (!Array.isArray(value.references)) return fail('references must be a list');
  const references = value.references.map((entry: unknown, i: number) => {
    if (!isRecord(entry)) return fail(`references[${i}] must be an object`);
    const { repository, digest, tag, source } = entry;
    if (typeof repository !== 'string' || repository === '') fail(`references[${i}].repository must be a repository name`);
    if (digest !== undefined && (typeof digest !== 'string' || !DIGEST.test(digest))) fail(`references[${i}].digest must look like sha256:<64 hex>`);
    if (tag !== undefined && (typeof tag !== 'string' || tag === '')) fail(`references[${i}].tag must be a tag`);
    if (digest === undefined && tag === undefined) fail(`references[${i}] needs a digest or a tag`);
    if (typeof source !== 'string') fail(`references[${i}].source must be a string`);
    return { repository: repository as string, ...(digest !== undefined ? { digest: digest as string } : {}), ...(tag !== undefined ? { tag: tag as string } : {}), source: source as string };
  });
  return { version: 1, publisher, registry, publishedAt: value.publishedAt as number, references };
}

export interface OrgPins {
  references: PinReference[];
  /** Publishers whose last document is older than the stale limit: still in force, named in the log. */
  stale: { publisher: RegistryAddress; publishedAt: number }[];
}

/** What every publisher says about `registry`, as pins with their publisher in the source. */
export function orgPinsFor(docs: readonly PublishedPins[], registry: RegistryAddress, now: number, staleAfterMs: number): OrgPins {
  const references: PinReference[] = [];
  const stale: OrgPins['stale'] = [];
  for (const doc of docs) {
    // A document filed under this registry but naming another is not about us.
    if (doc.registry.accountId !== registry.accountId || doc.registry.region !== registry.region) continue;
    if (now - doc.publishedAt > staleAfterMs) stale.push({ publisher: doc.publisher, publishedAt: doc.publishedAt });
    for (const ref of doc.references) references.push({ ...ref, source: `org:${doc.publisher.accountId}/${doc.publisher.region}:${ref.source}` });
  }
  return { references, stale };
}

function address(value: unknown, field: string, fail: (problem: string) => never): RegistryAddress {
  if (!isRecord(value) || typeof value.accountId !== 'string' || !/^\d{12}$/.test(value.accountId) || typeof value.region !== 'string' || value.region === '') {
    return fail(`${field} must be {"accountId": "<12 digits>", "region": "..."}`);
  }
  return { accountId: value.accountId, region: value.region };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
