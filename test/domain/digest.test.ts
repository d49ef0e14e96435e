// The digest check without a regex must accept and refuse exactly what the regex does.
import { describe, expect, it } from 'vitest';
import { isSha256Digest, sha256Digest, SHA256_DIGEST } from '../../lambda/domain/digest.js';

describe('isSha256Digest', () => {
  it('agrees with SHA256_DIGEST on real digests and on near misses', () => {
    // Prepare
    const real = sha256Digest('manifest');
    const samples = [
      real,
      real.toUpperCase(),
      `SHA256:${real.slice(7)}`,
      real.slice(0, 70),
      `${real}0`,
      `sha512:${real.slice(7)}`,
      `${real.slice(0, 70)}g`,
      `${real.slice(0, 70)}/`,
      `${real.slice(0, 70)}:`,
      `${real.slice(0, 70)}\``,
      `sha256 ${real.slice(7)}`,
      '',
    ];

    // Act
    const verdicts = samples.map((sample) => [isSha256Digest(sample), SHA256_DIGEST.test(sample)]);

    // Assess
    expect(verdicts.map(([fast]) => fast)).toEqual([true, false, false, false, false, false, false, false, false, false, false, false]);
    for (const [fast, regex] of verdicts) expect(fast).toBe(regex);
  });
});
