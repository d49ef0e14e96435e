// JSON logs for CloudWatch (one object a line) and, for people at a terminal, the same lines made readable ("pretty").
// No pino transport (worker threads): the pretty form is a plain synchronous destination.
import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /** A pino level; otherwise LOG_LEVEL, otherwise info. */
  level?: string;
  /** Where lines go; stdout (synchronously) by default. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** "json" (default): one JSON object a line. "pretty": `12:00:01 WARN  message key=value`, for a terminal. */
  format?: 'json' | 'pretty';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  if (level !== 'silent' && pino.levels.values[level] === undefined) {
    throw new Error(`log level "${level}" is not one of ${[...Object.keys(pino.levels.values), 'silent'].join(', ')} (check LOG_LEVEL)`);
  }
  const settings = {
    level,
    base: { service: 'ecr-janitor' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"warn" reads better in Logs Insights than "level":40.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // pino's own default writes to stdout asynchronously: the last lines of a run that crashes or times out (the Lambda
  // runtime freezes or kills the process) would be lost. A synchronous stdout costs little at a few lines per repository.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(settings, options.format === 'pretty' ? prettyDestination(destination) : destination);
}

const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/** One JSON log line as a person reads it: time, level, message, then the other fields as key=value. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const level = String(entry.level ?? '').toUpperCase().padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`);
  return [time, level, entry.msg ?? '', ...fields].filter((part) => part !== '').join(' ');
}

function prettyDestination(inner: DestinationStream | NodeJS.WritableStream): DestinationStream {
  return { write: (line: string) => inner.write(`${prettyLine(line)}\n`) };
}
