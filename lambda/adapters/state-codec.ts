// Run state as stored (file or S3 object). Read strictly: a state we misread could end a pin's grace period early.
// Each object carries its repository and a checksum over a canonical body, so a hand-edited object or one copied from
// another repository is caught here, in both stores, and the app treats it as missing (StateIntegrityError).
// The checksum is not a signature: whoever can write the object can recompute it. Only the bucket policy keeps other
// writers out (lib/ecr-janitor.ts); the checksum catches the edits and copies that slip past it or predate it.
import { StateIntegrityError } from '../app/ports.js';
import { canonicalJson, isRecord } from '../domain/canonical-json.js';
import { sha256Digest } from '../domain/digest.js';
import { parseUnchangedBasis } from '../domain/change-check.js';
import type { RepositoryState } from '../domain/types.js';

/** `sha256:<hex>` over the canonical JSON (keys sorted, no whitespace) of the state's known fields. */
export function stateChecksum(state: RepositoryState): string {
  return sha256Digest(canonicalJson(knownFields(state)));
}

export function stateToText(state: RepositoryState): string {
  const body = knownFields(state);
  return `${JSON.stringify({ ...body, checksum: stateChecksum(body) }, null, 2)}\n`;
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
  if (lastInventory !== undefined) {
    if (!isRecord(lastInventory)) return fail('lastInventory must be an object { at, bytes }');
    if (!isFiniteNumber(lastInventory.at)) fail('lastInventory.at must be a number');
    if (!isRecord(lastInventory.bytes)) fail('lastInventory.bytes must be an object of digest -> bytes');
    state.lastInventory = { at: lastInventory.at, bytes: numbersOf(lastInventory.bytes, 'lastInventory.bytes', fail) };
    if (lastInventory.tags !== undefined) {
      if (!isRecord(lastInventory.tags) || Object.values(lastInventory.tags).some((digest) => typeof digest !== 'string')) {
        fail('lastInventory.tags must be an object of tag -> digest');
      }
      state.lastInventory.tags = lastInventory.tags as Record<string, string>;
    }
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
  const expected = stateChecksum(state);
  if (checksum !== expected) {
    throw new StateIntegrityError(`${where}: checksum ${JSON.stringify(checksum)} does not match its content (${expected}); it was changed outside the janitor`, 'checksum');
  }
  return state;
}

/** Only the fields the janitor reads: what is stored is exactly what is checked. */
function knownFields(state: RepositoryState): RepositoryState {
  const { repository, pinsLastSeen, lastInventory, indexManifests, heldPolicyText, pinBaseline, janitorReads, unchanged, previewRunning } = state;
  return {
    repository,
    pinsLastSeen,
    ...(lastInventory !== undefined
      ? { lastInventory: { at: lastInventory.at, bytes: lastInventory.bytes, ...(lastInventory.tags !== undefined ? { tags: lastInventory.tags } : {}) } }
      : {}),
    ...(indexManifests !== undefined ? { indexManifests } : {}),
    ...(heldPolicyText !== undefined ? { heldPolicyText } : {}),
    ...(janitorReads !== undefined ? { janitorReads } : {}),
    ...(pinBaseline !== undefined ? { pinBaseline: { at: pinBaseline.at, digests: pinBaseline.digests, sources: pinBaseline.sources } } : {}),
    ...(unchanged !== undefined ? { unchanged } : {}),
    ...(previewRunning !== undefined ? { previewRunning: { startedAt: previewRunning.startedAt, policyFingerprint: previewRunning.policyFingerprint } } : {}),
  };
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
