// JSON logs for CloudWatch and for `--json`-friendly CLI stderr. No pretty transport: Lambda wants one JSON object a line.
import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /** A pino level; otherwise LOG_LEVEL, otherwise info. */
  level?: string;
  /** Where lines go; stdout (synchronously) by default. */
  destination?: DestinationStream | NodeJS.WritableStream;
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
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
