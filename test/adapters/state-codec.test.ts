// Stored run state is read strictly: a misread field could end a pin's grace early or lose a held policy, and a state
// changed outside the janitor (edited, or copied from another repository) must be caught, in every store.
import { describe, expect, it } from 'vitest';
import { parseStateText, stateChecksum, stateToText } from '../../lambda/adapters/state-codec.js';
import { StateIntegrityError } from '../../lambda/app/ports.js';
import type { RepositoryState } from '../../lambda/domain/types.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const DAY = 86_400_000;

const state: RepositoryState = {
  repository: 'team/app',
  pinsLastSeen: { [DIGEST]: 1_700_000_000_000 },
  lastInventory: { at: 1_700_000_000_000, digests: [DIGEST], bytes: [42] },
  indexManifests: { [DIGEST]: '{"schemaVersion":2,"manifests":[]}' },
  heldPolicyText: '{"rules":[]}',
};

/** The error a parse throws; a parse that succeeds fails the test. */
function parseError(text: string, repository: string): unknown {
  try {
    parseStateText(text, 'state/x', repository);
  } catch (error) {
    return error;
  }
  throw new Error('expected the state to be refused');
}

describe('state codec', () => {
  it('round-trips every field, the held policy and the index manifests included', () => {
    // Act
    const read = parseStateText(stateToText(state), 'state/team/app', 'team/app');

    // Assess
    expect(read).toEqual(state);
  });

  it('stores the repository and a sha256 checksum of the content beside it', () => {
    // Act
    const stored = JSON.parse(stateToText(state)) as Record<string, unknown>;

    // Assess
    expect(stored.repository).toBe('team/app');
    expect(stored.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(stored.checksum).toBe(stateChecksum(state));
  });

  it('checks the content, not the layout: the same state with its keys reordered still reads', () => {
    // Prepare
    const stored = JSON.parse(stateToText(state)) as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(stored).reverse());

    // Act
    const read = parseStateText(JSON.stringify(reordered), 'state/team/app', 'team/app');

    // Assess
    expect(read).toEqual(state);
  });

  it('refuses a state whose pin time was edited after it was written (checksum)', () => {
    // Prepare: claim the pin was last seen 30 days earlier, so its grace would be over.
    const stored = JSON.parse(stateToText(state)) as { pinsLastSeen: Record<string, number> };
    stored.pinsLastSeen[DIGEST] = stored.pinsLastSeen[DIGEST]! - 30 * DAY;

    // Act
    const error = parseError(JSON.stringify(stored), 'team/app');

    // Assess
    expect(error).toBeInstanceOf(StateIntegrityError);
    expect(error).toMatchObject({ reason: 'checksum', message: expect.stringMatching(/state\/x: checksum .* does not match its content/) });
  });

  it("refuses another repository's state, even with a valid checksum", () => {
    // Prepare
    const other = stateToText({ repository: 'team/other', pinsLastSeen: {} });

    // Act
    const error = parseError(other, 'team/app');

    // Assess
    expect(error).toBeInstanceOf(StateIntegrityError);
    expect(error).toMatchObject({ reason: 'repository', message: 'state/x: repository is "team/other", expected "team/app"' });
  });

  it('refuses a state without a checksum as unchecked', () => {
    // Prepare: what versions before the checksum wrote.
    const legacy = JSON.stringify({ repository: 'app', pinsLastSeen: { [DIGEST]: 1 } });

    // Act
    const error = parseError(legacy, 'app');

    // Assess
    expect(error).toBeInstanceOf(StateIntegrityError);
    expect(error).toMatchObject({ reason: 'unchecked' });
  });

  it('does not store fields the janitor does not read, so nothing unchecked rides along', () => {
    // Prepare
    const withExtra = { ...state, note: 'not part of the state' } as RepositoryState;

    // Act
    const stored = JSON.parse(stateToText(withExtra)) as Record<string, unknown>;

    // Assess
    expect(Object.keys(stored).sort()).toEqual(['checksum', 'heldPolicyText', 'indexManifests', 'lastInventory', 'pinsLastSeen', 'repository']);
  });

  // Written by the release that stored lastInventory as digest -> bytes (its stateToText, verbatim): an upgrade must read
  // it, checked as written, or every repository's state would look tampered with the first night after the upgrade.
  const OTHER = `sha256:${'b'.repeat(64)}`;
  const writtenByDigest = {
    repository: 'team/app',
    pinsLastSeen: { [DIGEST]: 1700000000000 },
    lastInventory: { at: 1700000000000, bytes: { [DIGEST]: 42, [OTHER]: 7 }, tags: { main: DIGEST } },
    checksum: 'sha256:e1136de4cad035c0fca5d74a34d6dea5730d3cd8bfc133a924d7217923295d89',
  };

  it('reads a state written with lastInventory as digest -> bytes into columns, checksum and all', () => {
    // Act
    const read = parseStateText(JSON.stringify(writtenByDigest), 'state/team/app', 'team/app');

    // Assess
    expect(read.lastInventory).toEqual({ at: 1700000000000, digests: [DIGEST, OTHER], bytes: [42, 7], tags: { main: DIGEST } });
    expect(read.pinsLastSeen).toEqual({ [DIGEST]: 1700000000000 });
  });

  it('refuses a digest -> bytes state whose byte count was edited (checksum)', () => {
    // Prepare
    const edited = { ...writtenByDigest, lastInventory: { ...writtenByDigest.lastInventory, bytes: { [DIGEST]: 42, [OTHER]: 8 } } };

    // Act
    const error = parseError(JSON.stringify(edited), 'team/app');

    // Assess
    expect(error).toMatchObject({ reason: 'checksum' });
  });

  it('writes lastInventory back in columns, with a checksum over the columns', () => {
    // Prepare
    const read = parseStateText(JSON.stringify(writtenByDigest), 'state/team/app', 'team/app');

    // Act
    const stored = JSON.parse(stateToText(read)) as { lastInventory: Record<string, unknown>; checksum: string };

    // Assess
    expect(stored.lastInventory).toEqual({ at: 1700000000000, digests: [DIGEST, OTHER], bytes: [42, 7], tags: { main: DIGEST } });
    expect(stored.checksum).not.toBe(writtenByDigest.checksum);
    expect(parseStateText(JSON.stringify(stored), 'state/team/app', 'team/app')).toEqual(read);
  });

  it.each([
    [{ indexManifests: { [DIGEST]: 7 } }, /indexManifests must be an object of digest -> manifest text/],
    [{ indexManifests: [] }, /indexManifests must be an object/],
    [{ heldPolicyText: { rules: [] } }, /heldPolicyText must be the text of a lifecycle policy/],
  ])('rejects %j as unreadable, naming the field', (extra, message) => {
    // Prepare
    const text = JSON.stringify({ repository: 'app', pinsLastSeen: {}, ...extra });

    // Act
    const error = parseError(text, 'app');

    // Assess: unreadable is not the same as distrusted (the app blocks the repository for the first).
    expect(error).not.toBeInstanceOf(StateIntegrityError);
    expect((error as Error).message).toMatch(message);
  });
});
