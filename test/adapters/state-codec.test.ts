// Stored run state is read strictly: a misread field could end a pin's grace early or lose a held policy.
import { describe, expect, it } from 'vitest';
import { parseStateText, stateToText } from '../../lambda/adapters/state-codec.js';
import type { RepositoryState } from '../../lambda/domain/types.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('state codec', () => {
  it('round-trips every field, the held policy and the index manifests included', () => {
    // Prepare
    const state: RepositoryState = {
      repository: 'team/app',
      pinsLastSeen: { [DIGEST]: 1_700_000_000_000 },
      lastInventory: { at: 1_700_000_000_000, bytes: { [DIGEST]: 42 } },
      indexManifests: { [DIGEST]: '{"schemaVersion":2,"manifests":[]}' },
      heldPolicyText: '{"rules":[]}',
    };

    // Act
    const read = parseStateText(stateToText(state), 'state/team/app', 'team/app');

    // Assess
    expect(read).toEqual(state);
  });

  it.each([
    [{ indexManifests: { [DIGEST]: 7 } }, /indexManifests must be an object of digest -> manifest text/],
    [{ indexManifests: [] }, /indexManifests must be an object/],
    [{ heldPolicyText: { rules: [] } }, /heldPolicyText must be the text of a lifecycle policy/],
  ])('rejects %j, naming the field', (extra, message) => {
    // Prepare
    const text = JSON.stringify({ repository: 'app', pinsLastSeen: {}, ...extra });

    // Act
    const read = () => parseStateText(text, 'state/app', 'app');

    // Assess
    expect(read).toThrow(message);
  });
});
