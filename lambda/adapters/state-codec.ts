// Run state as stored (file or S3 object). Read strictly: a state we misread could end a pin's grace period early.
// Each object carries its repository and a checksum over a canonical body, so a hand-edited object or one copied from
// another repository is caught here, in both stores, and the app treats it as missing (StateIntegrityError).
// The checksum is not a signature: whoever can write the object can recompute it. Only the bucket policy keeps other
// writers out (lib/ecr-janitor.ts); the checksum catches the edits and copies that slip past it or predate it.
import { StateIntegrityError } from '../app/ports.js';
import { canonicalJson, isRecord } from '../domain/canonical-json.js';
import { sha256Digest } from '../domain/digest.js';
import { parseUnchangedBasis } from '../domain/change-check.js';
import type { Digest, LastInventory, RepositoryState } from '../domain/types.js';

/** lastInventory as written before it was stored in columns (digest -> bytes): still read, and checked as written. */
interface LastInventoryByDigest {
  at: number;
  bytes: Record<Digest, number>;
  tags?: Record<string, Digest>;
}

/** `sha256:<hex>` over the canonical JSON (keys sorted, no whitespace) of the state's known fields. */
export function stateChecksum(state: RepositoryState): string {
  return sha256Digest(canonicalJson(knownFields(state)));
}

export function stateToText(state: RepositoryState): string {
  const body = knownFields(state);
  return `${JSON.stringify({ ...body, checksum: sha256Digest(canonicalJson(body)) }, null, 2)}\n`;
}

/**
 * Parses and checks stored state; throws naming `where` and the offending field. A well-formed state that fails its
 * integrity check (another repository's, a checksum that does not match, no checksum at all) throws
 * StateIntegrityError: the caller treats it as missing.
 */
export function parseStateText(text: string, where: string, expectedRepository: string): RepositoryState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} is not valid JSON (${(error as Error).message})`);
  }
  const fail: (problem: string) => never = (problem) => {
    throw new Error(`${where}: ${problem}`);
  };
  if (!isRecord(value)) return fail('expected a JSON object');
  const { repository, pinsLastSeen, lastInventory, heldPolicyText, indexManifests, pinBaseline, janitorReads, unchanged, previewRunning, checksum } = value;
  if (typeof repository !== 'string') fail('repository must be a string');
  if (!isRecord(pinsLastSeen)) fail('pinsLastSeen must be an object of digest -> epoch milliseconds');
  const state: RepositoryState = { repository, pinsLastSeen: numbersOf(pinsLastSeen, 'pinsLastSeen', fail) };
  // What the checksum covers: lastInventory as it was written (columns, or the older digest -> bytes object).
  let storedInventory: LastInventory | LastInventoryByDigest | undefined;
  if (lastInventory !== undefined) {
    const read = readLastInventory(lastInventory, fail);
    state.lastInventory = read.columns;
    storedInventory = read.stored;
  }
  if (indexManifests !== undefined) {
    if (!isRecord(indexManifests) || Object.values(indexManifests).some((text) => typeof text !== 'string')) {
      fail('indexManifests must be an object of digest -> manifest text');
    }
    state.indexManifests = indexManifests as Record<string, string>;
  }
  if (heldPolicyText !== undefined) {
    if (typeof heldPolicyText !== 'string') fail('heldPolicyText must be the text of a lifecycle policy');
    state.heldPolicyText = heldPolicyText;
  }
  if (janitorReads !== undefined) {
    if (!isRecord(janitorReads)) return fail('janitorReads must be an object of digest -> epoch milliseconds');
    state.janitorReads = numbersOf(janitorReads, 'janitorReads', fail);
  }
  if (pinBaseline !== undefined) {
    const shape = 'pinBaseline must be { at, digests: [digest...], sources: { source: count } }';
    if (!isRecord(pinBaseline) || !isFiniteNumber(pinBaseline.at) || !Array.isArray(pinBaseline.digests) || !isRecord(pinBaseline.sources)) return fail(shape);
    if (pinBaseline.digests.some((d) => typeof d !== 'string')) fail(shape);
    state.pinBaseline = { at: pinBaseline.at, digests: pinBaseline.digests as string[], sources: numbersOf(pinBaseline.sources, 'pinBaseline.sources', fail) };
  }
  if (unchanged !== undefined) {
    try {
      state.unchanged = parseUnchangedBasis(unchanged);
    } catch (error) {
      fail((error as Error).message);
    }
  }
  if (previewRunning !== undefined) {
    if (!isRecord(previewRunning) || !isFiniteNumber(previewRunning.startedAt) || typeof previewRunning.policyFingerprint !== 'string') {
      fail('previewRunning must be { startedAt, policyFingerprint }');
    }
    const preview = previewRunning as { startedAt: number; policyFingerprint: string };
    state.previewRunning = { startedAt: preview.startedAt, policyFingerprint: preview.policyFingerprint };
  }
  // A state under the wrong name would carry another repository's pins.
  if (repository !== expectedRepository) {
    throw new StateIntegrityError(`${where}: repository is "${repository}", expected "${expectedRepository}"`, 'repository');
  }
  if (checksum === undefined) {
    throw new StateIntegrityError(`${where}: has no checksum (written before ecr-janitor checked its state, or by hand)`, 'unchecked');
  }
  const expected = sha256Digest(canonicalJson(knownFields(state, storedInventory)));
  if (checksum !== expected) {
    throw new StateIntegrityError(`${where}: checksum ${JSON.stringify(checksum)} does not match its content (${expected}); it was changed outside the janitor`, 'checksum');
  }
  return state;
}

function readLastInventory(value: unknown, fail: (problem: string) => never): { columns: LastInventory; stored: LastInventory | LastInventoryByDigest } {
  if (!isRecord(value)) return fail('lastInventory must be an object { at, digests, bytes }');
  if (!isFiniteNumber(value.at)) fail('lastInventory.at must be a number');
  let tags: Record<string, Digest> | undefined;
  if (value.tags !== undefined) {
    if (!isRecord(value.tags) || Object.values(value.tags).some((digest) => typeof digest !== 'string')) fail('lastInventory.tags must be an object of tag -> digest');
    tags = value.tags as Record<string, Digest>;
  }
  const withTags = tags !== undefined ? { tags } : {};
  if (isRecord(value.bytes) && value.digests === undefined) {
    const byDigest = numbersOf(value.bytes, 'lastInventory.bytes', fail);
    return { columns: { at: value.at, digests: Object.keys(byDigest), bytes: Object.values(byDigest), ...withTags }, stored: { at: value.at, bytes: byDigest, ...withTags } };
  }
  const { digests, bytes } = value;
  if (!Array.isArray(digests) || !digests.every((digest) => typeof digest === 'string')) fail('lastInventory.digests must be a list of digests');
  if (!Array.isArray(bytes) || !bytes.every(isFiniteNumber)) fail('lastInventory.bytes must be a list of byte counts, one per digest');
  if (bytes.length !== digests.length) fail(`lastInventory.bytes has ${bytes.length} entries for ${digests.length} digests: they must pair up`);
  const columns = { at: value.at, digests: digests as Digest[], bytes: bytes as number[], ...withTags };
  return { columns, stored: columns };
}

/** Only the fields the janitor reads: what is stored is exactly what is checked. */
function knownFields(state: RepositoryState, lastInventory: LastInventory | LastInventoryByDigest | undefined = state.lastInventory): Record<string, unknown> {
  const { repository, pinsLastSeen, indexManifests, heldPolicyText, pinBaseline, janitorReads, unchanged, previewRunning } = state;
  return {
    repository,
    pinsLastSeen,
    ...(lastInventory !== undefined ? { lastInventory: storedLastInventory(lastInventory) } : {}),
    ...(indexManifests !== undefined ? { indexManifests } : {}),
    ...(heldPolicyText !== undefined ? { heldPolicyText } : {}),
    ...(janitorReads !== undefined ? { janitorReads } : {}),
    ...(pinBaseline !== undefined ? { pinBaseline: { at: pinBaseline.at, digests: pinBaseline.digests, sources: pinBaseline.sources } } : {}),
    ...(unchanged !== undefined ? { unchanged } : {}),
    ...(previewRunning !== undefined ? { previewRunning: { startedAt: previewRunning.startedAt, policyFingerprint: previewRunning.policyFingerprint } } : {}),
  };
}

function storedLastInventory(inventory: LastInventory | LastInventoryByDigest): LastInventory | LastInventoryByDigest {
  const tags = inventory.tags !== undefined ? { tags: inventory.tags } : {};
  return 'digests' in inventory ? { at: inventory.at, digests: inventory.digests, bytes: inventory.bytes, ...tags } : { at: inventory.at, bytes: inventory.bytes, ...tags };
}

function numbersOf(record: Record<string, unknown>, field: string, fail: (problem: string) => never): Record<string, number> {
  const numbers: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!isFiniteNumber(value)) fail(`${field}["${key}"] must be a number`);
    numbers[key] = value;
  }
  return numbers;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
