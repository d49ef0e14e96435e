// The README's first command: the demo must reap, keep every live image resolvable, and exit 0.
import { describe, expect, it } from 'vitest';
import { runDemo } from '../cli/demo.js';

describe('npm run demo', () => {
  it('reaps leftovers in both accounts while every live image still resolves', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const code = await runDemo({ out: (line) => lines.push(line) });

    // Assess
    const text = lines.join('\n');
    expect(code).toBe(0);
    expect(text).toMatch(/live images: all \d+ resolve/);
    const rows = text.split('\n').filter((l) => /^\d{12}\s/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const [, before, pushed, reaped, after] = row.split(/\s+/).map(Number);
      expect(reaped).toBeGreaterThan(0);
      expect(before! + pushed! - reaped!).toBe(after); // every image that went is accounted for
      expect(after).toBeLessThan(before!);
    }
  });
});
