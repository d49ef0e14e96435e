// The run state's tag map (lastInventory.tags) that lets an ECR push event find the image a moved tag left: stored,
// read back, and covered by the state's checksum like every other field (lambda/adapters/state-codec.ts).
import { describe, expect, it } from 'vitest';
import { StateIntegrityError } from '../../lambda/app/ports.js';
import { parseStateText, stateToText } from '../../lambda/adapters/state-codec.js';
import type { RepositoryState } from '../../lambda/domain/types.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const STATE: RepositoryState = { repository: 'app', pinsLastSeen: {}, lastInventory: { at: 1, digests: [A, B], bytes: [10, 20], tags: { main: A, '1.0': B } } };

describe('tag map in the run state', () => {
  it('round-trips through the state text', () => {
    // Act
    const read = parseStateText(stateToText(STATE), 'state', 'app');

    // Assess
    expect(read.lastInventory).toEqual(STATE.lastInventory);
  });

  it('is covered by the checksum: a tag pointed elsewhere by hand is distrusted', () => {
    // Prepare
    const stored = JSON.parse(stateToText(STATE));
    stored.lastInventory.tags.main = B;

    // Act
    const read = () => parseStateText(JSON.stringify(stored), 'state', 'app');

    // Assess
    expect(read).toThrow(StateIntegrityError);
    expect(read).toThrow(/checksum .* does not match its content/);
  });

  it('refuses a tag map that is not tag -> digest, naming the field', () => {
    // Prepare
    const stored = JSON.parse(stateToText(STATE));
    stored.lastInventory.tags = { main: 7 };

    // Act
    const read = () => parseStateText(JSON.stringify(stored), 'state', 'app');

    // Assess
    expect(read).toThrow(/^state: lastInventory\.tags must be an object of tag -> digest$/);
  });

  it('reads a state written before the tag map existed, with the same checksum', () => {
    // Prepare
    const { tags: _tags, ...inventory } = STATE.lastInventory!;
    const older: RepositoryState = { ...STATE, lastInventory: inventory };

    // Act
    const read = parseStateText(stateToText(older), 'state', 'app');

    // Assess
    expect(read.lastInventory).toEqual(inventory);
    expect(read.lastInventory?.tags).toBeUndefined();
  });
});
