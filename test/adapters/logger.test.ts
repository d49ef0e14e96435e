import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../lambda/adapters/logger.js';
import type { LogPort } from '../../lambda/app/run-janitor.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { destination, lines };
}

describe('logger', () => {
  const saved = process.env.LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = saved;
  });

  test('writes one JSON object per line with the service, a level name and the fields', () => {
    // Prepare
    const { destination, lines } = capture();
    const log: LogPort = createLogger({ level: 'info', destination });

    // Act
    log.warn({ repository: 'app', status: 'blocked' }, 'repository app: blocked');

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'ecr-janitor', level: 'warn', repository: 'app', status: 'blocked', msg: 'repository app: blocked' });
    expect(typeof lines[0]!.time).toBe('string');
  });

  test('falls back to LOG_LEVEL', () => {
    // Prepare
    process.env.LOG_LEVEL = 'error';
    const { destination, lines } = capture();
    const log = createLogger({ destination });

    // Act
    log.info({}, 'hidden');
    log.error({ err: 'boom' }, 'shown');

    // Assess
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
  });

  test('an unknown level is an error naming it', () => {
    // Act
    const create = () => createLogger({ level: 'verbose' });

    // Assess
    expect(create).toThrow(/log level "verbose" is not one of .*LOG_LEVEL/);
  });

  test('writes to stdout synchronously by default, so a crashed or timed-out run keeps its last lines (issue 9, point 10)', () => {
    // Act
    const log = createLogger({ level: 'info' });

    // Assess: pino's stream for the logger; its default (no destination given to pino) is asynchronous.
    const stream = (log as unknown as Record<symbol, { sync?: boolean; fd?: number }>)[pino.symbols.streamSym]!;
    expect(stream.fd).toBe(1);
    expect(stream.sync).toBe(true);
  });
});
