// Run state as stored (file or S3 object). Read strictly: a state we misread could end a pin's grace period early.
import type { RepositoryState } from '../domain/types.js';

export function stateToText(state: RepositoryState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** Parses and checks stored state; throws naming `where` and the offending field. */
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
  const { repository, pinsLastSeen, lastInventory, heldPolicyText, indexManifests } = value;
  if (typeof repository !== 'string') fail('repository must be a string');
  // A state file under the wrong name would carry another repository's pins.
  if (repository !== expectedRepository) fail(`repository is "${repository}", expected "${expectedRepository}"`);
  if (!isRecord(pinsLastSeen)) fail('pinsLastSeen must be an object of digest -> epoch milliseconds');
  const state: RepositoryState = { repository, pinsLastSeen: numbersOf(pinsLastSeen, 'pinsLastSeen', fail) };
  if (lastInventory !== undefined) {
    if (!isRecord(lastInventory)) return fail('lastInventory must be an object { at, bytes }');
    if (!isFiniteNumber(lastInventory.at)) fail('lastInventory.at must be a number');
    if (!isRecord(lastInventory.bytes)) fail('lastInventory.bytes must be an object of digest -> bytes');
    state.lastInventory = { at: lastInventory.at, bytes: numbersOf(lastInventory.bytes, 'lastInventory.bytes', fail) };
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
  return state;
}

function numbersOf(record: Record<string, unknown>, field: string, fail: (problem: string) => never): Record<string, number> {
  const numbers: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!isFiniteNumber(value)) fail(`${field}["${key}"] must be a number`);
    numbers[key] = value;
  }
  return numbers;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
