// Organization-wide pins on S3 (README "Organization-wide pins"): one bucket for the organization, a prefix per
// registry (org-pins/<account>/<region>/), one object per publisher in it. The bucket policy lets an organization
// member read only its own registry's prefix and write only its own objects (lib/org-pins-bucket.ts).
// A directory store with the same layout serves the CLI, the two-account demo and tests.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PinSource, StalePinPublisher } from '../app/ports.js';
import type { RegistryAddress } from '../domain/image-uri.js';
import { HOUR_MS } from '../domain/time.js';
import { documentsToPublish, type OrgReference, orgPinsFor, orgPinsKey, ORG_PINS_PREFIX, parsePublishedPins, publishedPinsToText, registryPrefix } from '../domain/org-pins.js';

export interface OrgPinStore {
  /** Every object under `prefix`: key -> text. */
  list(prefix: string): Promise<{ key: string; text: string }[]>;
  read(key: string): Promise<string | null>;
  write(key: string, text: string): Promise<void>;
}

export function createS3OrgPinStore(client: S3Client, bucket: string): OrgPinStore {
  return {
    async list(prefix) {
      const objects: { key: string; text: string }[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          const text = await this.read(object.Key);
          if (text !== null) objects.push({ key: object.Key, text });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return objects;
    },
    async read(key) {
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await response.Body?.transformToString('utf8')) ?? null;
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return null;
        throw error;
      }
    },
    async write(key, text) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: 'application/json' }));
    },
  };
}

export function createDirectoryOrgPinStore(dir: string): OrgPinStore {
  return {
    async list(prefix) {
      const folder = join(dir, prefix);
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const objects = [];
      for (const name of names.filter((n) => n.endsWith('.json')).sort()) objects.push({ key: `${prefix}${name}`, text: await readFile(join(folder, name), 'utf8') });
      return objects;
    },
    async read(key) {
      try {
        return await readFile(join(dir, key), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async write(key, text) {
      const path = join(dir, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(`${path}.tmp`, text, 'utf8');
      await rename(`${path}.tmp`, path);
    },
  };
}

/** Stale after two missed nights: the pins stay in force, the log names the publisher. */
export const ORG_PINS_STALE_AFTER_MS = 50 * HOUR_MS;

/**
 * What other accounts publish about this registry. A document it cannot read fails discovery (every repository fails
 * closed), as any pin source does.
 */
export function createOrgPinSource(
  store: OrgPinStore,
  registry: RegistryAddress,
  options: { now: () => number; onStale?: (stale: { publisher: RegistryAddress; publishedAt: number }[]) => void },
): PinSource {
  let stale: StalePinPublisher[] = [];
  return {
    name: 'org',
    stalePublishers: () => stale,
    async discover() {
      stale = [];
      const objects = await store.list(registryPrefix(registry));
      const docs = objects.map(({ key, text }) => {
        const doc = parsePublishedPins(text, `org pins ${key}`);
        // The bucket policy lets each account write only keys named after itself: a document under another name is
        // not what the policy vouches for.
        if (key !== orgPinsKey(doc.registry, doc.publisher)) throw new Error(`org pins ${key}: names publisher ${doc.publisher.accountId}/${doc.publisher.region} and registry ${doc.registry.accountId}/${doc.registry.region}, which belong under ${orgPinsKey(doc.registry, doc.publisher)}`);
        return doc;
      });
      const pins = orgPinsFor(docs, registry, options.now(), ORG_PINS_STALE_AFTER_MS);
      stale = pins.stale.map((p) => ({ publisher: `${p.publisher.accountId}/${p.publisher.region}`, lastPublishedAt: p.publishedAt }));
      if (pins.stale.length > 0) options.onStale?.(pins.stale);
      return pins.references;
    },
  };
}

/**
 * Publishes this account's uses of other registries. Registries it published to before and uses no more get an empty
 * document (the publisher's index, `org-pins/publishers/<account>-<region>.json`, remembers them): what stops being
 * used is released by its user, never by silence.
 */
export async function publishOrgPins(store: OrgPinStore, publisher: RegistryAddress, references: readonly OrgReference[], now: number): Promise<number> {
  const docs = documentsToPublish(publisher, references, now);
  const indexKey = `${ORG_PINS_PREFIX}publishers/${publisher.accountId}-${publisher.region}.json`;
  const indexText = await store.read(indexKey);
  const before: RegistryAddress[] = indexText ? (JSON.parse(indexText) as { registries: RegistryAddress[] }).registries : [];
  for (const registry of before) {
    if (!docs.some((d) => d.registry.accountId === registry.accountId && d.registry.region === registry.region)) {
      docs.push({ version: 1, publisher, registry, publishedAt: now, references: [] });
    }
  }
  for (const doc of docs) await store.write(orgPinsKey(doc.registry, publisher), publishedPinsToText(doc));
  const registries = docs.filter((d) => d.references.length > 0).map((d) => d.registry);
  await store.write(indexKey, `${JSON.stringify({ registries }, null, 2)}\n`);
  return docs.length;
}

export interface OrgPinWiring {
  /** Give this to the ECS and Lambda pin sources: their references to other registries. */
  onForeignReference: (reference: OrgReference) => void;
  /** Wraps a pin source whose foreign references are published: if it fails, nothing is published this run. */
  watch(source: PinSource): PinSource;
  /** Discovered after the watched sources: publishes this account's uses, then reads what others say about us. */
  source: PinSource;
}

/**
 * Publishing a partial scan would release other accounts' images: only a run whose every watched source succeeded
 * publishes. A failed publish leaves the last document in force (never fewer pins) and is reported, not thrown.
 */
export function createOrgPinWiring(
  store: OrgPinStore,
  registry: RegistryAddress,
  options: { now: () => number; onStale?: (stale: { publisher: RegistryAddress; publishedAt: number }[]) => void; onPublishError?: (error: Error) => void },
): OrgPinWiring {
  const foreign: OrgReference[] = [];
  let incomplete = false;
  const reader = createOrgPinSource(store, registry, options);
  return {
    onForeignReference: (reference) => foreign.push(reference),
    watch: (source) => ({
      name: source.name,
      async discover() {
        try {
          return await source.discover();
        } catch (error) {
          incomplete = true;
          throw error;
        }
      },
    }),
    source: {
      name: 'org',
      stalePublishers: () => reader.stalePublishers?.() ?? [],
      async discover() {
        if (!incomplete) {
          try {
            await publishOrgPins(store, registry, foreign, options.now());
          } catch (error) {
            options.onPublishError?.(error as Error);
          }
        }
        return reader.discover();
      },
    },
  };
}

/**
 * The event path's share: a new use of another registry's image, announced by event, is added to this account's
 * document for that registry at once (the nightly publish then replaces the document with what the scan sees).
 */
export async function appendOrgPins(store: OrgPinStore, publisher: RegistryAddress, references: readonly OrgReference[], now: number): Promise<number> {
  const docs = documentsToPublish(publisher, references, now);
  for (const doc of docs) {
    const key = orgPinsKey(doc.registry, publisher);
    const existing = await store.read(key);
    const before = existing ? parsePublishedPins(existing, `org pins ${key}`).references : [];
    const merged = [...before];
    for (const ref of doc.references) if (!merged.some((r) => JSON.stringify(r) === JSON.stringify(ref))) merged.push(ref);
    if (merged.length === before.length && existing) continue;
    await store.write(key, publishedPinsToText({ ...doc, references: merged }));
  }
  return docs.length;
}
