// The bench's virtual clock (scripts/bench-scale.ts): sleepers wake in time order, and the clock never moves while a
// real request is in flight, so no modelled call is answered before its 100 ms are up.
import { describe, expect, it } from 'vitest';
import { traceWriteStream, VirtualTime } from '../../scripts/bench-scale.js';

describe('VirtualTime', () => {
  it('wakes sleepers in the order of their virtual deadlines, with the clock at each deadline or later', async () => {
    // Prepare
    const time = new VirtualTime();
    const woke: [string, number][] = [];

    // Act
    await Promise.all(
      [
        ['late', 300],
        ['early', 100],
        ['middle', 200],
      ].map(async ([name, ms]) => {
        await time.sleep(ms as number);
        woke.push([name as string, time.now]);
      }),
    );

    // Assess
    expect(woke.map(([name]) => name)).toEqual(['early', 'middle', 'late']);
    for (const [name, at] of woke) expect(at).toBeGreaterThanOrEqual({ early: 100, middle: 200, late: 300 }[name]!);
  });

  it('holds the clock while real work is in flight: a sleeper cannot wake before it ends', async () => {
    // Prepare
    const time = new VirtualTime();
    let release!: () => void;
    const realWork = new Promise<void>((resolve) => (release = resolve));
    const order: string[] = [];

    // Act
    const io = time.io(async () => {
      await realWork;
      order.push('real work done');
    });
    const sleeper = time.sleep(1).then(() => order.push('sleeper woke'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const whileInFlight = [...order];
    release();
    await Promise.all([io, sleeper]);

    // Assess
    expect(whileInFlight).toEqual([]);
    expect(order).toEqual(['real work done', 'sleeper woke']);
  });
});

describe('traceWriteStream', () => {
  it('tells time with no PutImage waiting (starved) from time a waiting one was held (blocked)', () => {
    // Prepare: 10 per second; sends at 0 and 100 ms, then nothing asked until 1,000 ms (starved 800 ms: the bucket
    // would have sent at 200), sent at 1,000; a second ask at 1,000 is held until 1,600 (blocked 500 ms)
    const asks = [0, 0, 1_000, 1_000];
    const sends = [0, 100, 1_000, 1_600];

    // Act
    const trace = traceWriteStream(asks, sends, 100, 1);

    // Assess
    expect(trace).toMatchObject({ puts: 4, firstAskS: 0, firstSendS: 0, lastSendS: 1.6, starvedS: 0.8, blockedS: 0.5 });
    // The bucket alone needs 300 ms after the first send: 1.3 s were lost.
    expect(trace.lostS).toBe(1.3);
  });
});
