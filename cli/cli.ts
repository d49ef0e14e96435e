// `ecr-janitor plan|run|event|emulator|demo`: the janitor from a laptop or CI. Results go to stdout, logs and progress
// to stderr (readable on a terminal, JSON lines with --log-format json). Heavy modules (AWS SDK, pino, the app) load
// only when a command needs them, so `--help` and `--version` start fast.
// Exit codes: 0 done; 1 a repository failed, was blocked or refused (the others finished), or the config manages no
// repository; 2 bad config or arguments (nothing touched).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config-file.js';
import { ConfigError } from '../lambda/domain/config.js';
import type { EcrRegistryOptions } from '../lambda/adapters/ecr-registry.js';
import type { JanitorConfig } from '../lambda/domain/types.js';

interface OptionHelp {
  flag: string;
  help: string;
  default?: string;
}
interface CommandHelp {
  usage: string;
  summary: string;
  options: OptionHelp[];
  notes?: string;
}

const EXIT_CODES = `exit codes:
  0  done
  1  a repository failed, was blocked or refused (the others finished), or the config manages no repository
  2  bad config or arguments (nothing touched)`;

const LOG_OPTIONS: OptionHelp[] = [
  { flag: '--log-format pretty|json', help: 'log lines on stderr: readable, or one JSON object a line', default: 'pretty on a terminal, json otherwise' },
  { flag: '--log-level LEVEL', help: 'fatal, error, warn, info, debug, trace or silent', default: 'LOG_LEVEL, else warn' },
];

const PLAN_RUN_OPTIONS: OptionHelp[] = [
  { flag: '--config FILE', help: 'janitor config (JSON; schema/janitor-config.schema.json)', default: 'the documented defaults' },
  { flag: '--repository NAME', help: 'only this repository (repeatable), still within the config\'s include/exclude', default: 'every managed repository' },
  { flag: '--json', help: 'print the result as JSON instead of tables', default: 'false' },
  { flag: '--state-dir DIR', help: 'run state (pins last seen, previous inventory)', default: '.janitor-state' },
  { flag: '--pin-sources LIST', help: 'narrow pin discovery to some of config,ecs,lambda,ssm (config is required)', default: 'those the config enables' },
];

const COMMANDS: Record<string, CommandHelp> = {
  plan: {
    usage: 'ecr-janitor plan [options]',
    summary: 'Read-only: per repository what the policy would expire, what is protected and why. Changes nothing.',
    options: [...PLAN_RUN_OPTIONS, ...LOG_OPTIONS],
  },
  run: {
    usage: 'ecr-janitor run [options]',
    summary: 'Apply the plan: protection tags, then (after ECR\'s preview agrees) the lifecycle policy, then lapsed tags.',
    options: [...PLAN_RUN_OPTIONS, { flag: '--dry-run', help: 'print what it would do, change nothing', default: 'false (or the config\'s dryRun)' }, ...LOG_OPTIONS],
  },
  event: {
    usage: 'ecr-janitor event FILE [options]',
    summary: 'The Lambda\'s event path on an EventBridge event JSON: protect the image the event says is in use.',
    options: [
      { flag: '--config FILE', help: 'janitor config (JSON)', default: 'the documented defaults' },
      { flag: '--state-dir DIR', help: 'run state', default: '.janitor-state' },
      { flag: '--json', help: 'print the result as JSON', default: 'false' },
    ],
  },
  emulator: {
    usage: 'ecr-janitor emulator [options]',
    summary: 'Serve a local ECR (development checkout only) until Ctrl-C; point the CLI at it with AWS_ENDPOINT_URL_ECR.',
    options: [
      { flag: '--port N', help: 'TCP port on 127.0.0.1', default: '4566' },
      { flag: '--profile faithful|pessimistic', help: 'how it reads what AWS leaves open (see the README)', default: 'pessimistic' },
      { flag: '--rate-limits', help: 'apply ECR\'s API rate quotas (real time)', default: 'false' },
    ],
  },
  demo: {
    usage: 'ecr-janitor demo [options]',
    summary: 'Five nights of the janitor against two embedded emulators (development checkout only).',
    options: [{ flag: '--profile faithful|pessimistic', help: 'emulator profile', default: 'pessimistic' }],
  },
};

const ENVIRONMENT = `environment:
  AWS credentials and region come from the usual AWS chain; AWS_ENDPOINT_URL_ECR points at another endpoint (the
  emulator). LOG_LEVEL sets the default log level.`;

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: ecr-janitor <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  -h, --help     help (also: ecr-janitor <command> --help, ecr-janitor help <command>)',
    '  -V, --version  print the version',
    '',
    EXIT_CODES,
    '',
    ENVIRONMENT,
  ].join('\n');
}

export function commandHelp(name: string): string {
  const command = COMMANDS[name]!;
  const width = Math.max(...command.options.map((o) => o.flag.length));
  return [
    `usage: ${command.usage}`,
    '',
    command.summary,
    '',
    'options:',
    ...command.options.map((o) => `  ${o.flag.padEnd(width)}  ${o.help}${o.default ? ` (default: ${o.default})` : ''}`),
    `  ${'-h, --help'.padEnd(width)}  this help`,
    ...(command.notes ? ['', command.notes] : []),
    '',
    EXIT_CODES,
    '',
    ENVIRONMENT,
  ].join('\n');
}

/** The package's version, read from its package.json (dist/cli/ or cli/ are one or two levels below it). */
export function version(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'ecr-janitor' && manifest.version) return manifest.version;
    } catch {
      // not here: try one level up
    }
  }
  return 'unknown';
}

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

const wantsHelp = (args: string[]) => args.includes('--help') || args.includes('-h');

/** The CLI entry (bin/ecr-janitor-cli.mjs): `main`, with an unexpected crash reported on stderr as exit 1. */
export async function run(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    process.stderr.write(`ecr-janitor: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

/** What tests inject into `main`; the CLI itself runs with the defaults. */
export interface CliOptions {
  /** E.g. `{ previewPollMs: 0 }` against the emulator, whose preview moves on by polls, not by time. */
  registryOptions?: EcrRegistryOptions;
}

export async function main(argv: string[], options: CliOptions = {}): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && command in COMMANDS && wantsHelp(rest)) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    switch (command) {
      case 'plan':
      case 'run':
        return await planOrRun(command, rest, options);
      case 'emulator': {
        const { values } = parseArgs({
          args: rest,
          options: { port: { type: 'string', default: '4566' }, profile: { type: 'string', default: 'pessimistic' }, 'rate-limits': { type: 'boolean', default: false } },
        });
        const port = Number(values.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got ${values.port}`, command);
        if (values.profile !== 'faithful' && values.profile !== 'pessimistic') throw new UsageError(`--profile must be faithful or pessimistic, got ${values.profile}`, command);
        const { runEmulatorCli } = await developmentOnly(command, () => import('../emulator/server.js'));
        await runEmulatorCli(port, { profile: values.profile, rateLimits: values['rate-limits'] });
        return 0;
      }
      case 'event': {
        // The Lambda's event path on an EventBridge event JSON (README "How the janitor knows an image is in use").
        const { EventUsageError, runEventCommand } = await import('./event-command.js');
        try {
          return await runEventCommand(rest, (text) => process.stdout.write(`${text}\n`));
        } catch (error) {
          if (error instanceof EventUsageError) throw new UsageError(error.message);
          throw error;
        }
      }
      case 'demo': {
        const { values } = parseArgs({ args: rest, options: { profile: { type: 'string' } } });
        if (values.profile !== undefined && values.profile !== 'faithful' && values.profile !== 'pessimistic') throw new UsageError(`--profile must be faithful or pessimistic, got ${values.profile}`);
        const { runDemo } = await developmentOnly(command, () => import('./demo.js'));
        return await runDemo({ out: (line) => process.stdout.write(`${line}\n`), ...(values.profile !== undefined ? { profile: values.profile } : {}) });
      }
      case '--version':
      case '-V':
        process.stdout.write(`${version()}\n`);
        return 0;
      case 'help':
      case '--help':
      case '-h': {
        const topic = rest[0];
        if (topic !== undefined && !(topic in COMMANDS)) throw new UsageError(`unknown command "${topic}"`);
        process.stdout.write(`${topic !== undefined ? commandHelp(topic) : overview()}\n`);
        return 0;
      }
      case undefined:
        process.stderr.write(`${overview()}\n`);
        return 2;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const hint = error instanceof ConfigError ? '' : `run "ecr-janitor ${error instanceof UsageError && error.command ? `${error.command} ` : command && command in COMMANDS ? `${command} ` : ''}--help" for the options\n`;
      process.stderr.write(`ecr-janitor: ${(error as Error).message}\n${hint}`);
      return 2;
    }
    throw error;
  }
}

/** The emulator and the demo are development tools: the published package does not ship them. */
async function developmentOnly<T>(command: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new UsageError(`${command} needs a development checkout of ecr-janitor (git clone, npm install): ${(error as Error).message}`, command);
  }
}

async function planOrRun(command: 'plan' | 'run', args: string[], options: CliOptions): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      repository: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: '.janitor-state' },
      'pin-sources': { type: 'string' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (command === 'plan' && values['dry-run']) throw new UsageError('--dry-run goes with run; plan never changes anything', command);
  const logFormat = values['log-format'] ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (logFormat !== 'pretty' && logFormat !== 'json') throw new UsageError(`--log-format must be pretty or json, got ${logFormat}`, command);
  const config = narrowPinSources(await loadConfig(values.config), values['pin-sources']);
  // A run that changes ECR must be able to record what it did: check before the first write, not after the changes.
  if (command === 'run' && !values['dry-run'] && !config.dryRun) {
    const { checkStateDirWritable } = await import('../lambda/adapters/state-file.js');
    try {
      await checkStateDirWritable(values['state-dir']!);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const [{ createEcrRegistry, makeEcrClient }, { createLogger }, { createFileStateStore }, { runJanitor }, { formatReport, planJson }, { pinSourcesFor }] = await Promise.all([
    import('../lambda/adapters/ecr-registry.js'),
    import('../lambda/adapters/logger.js'),
    import('../lambda/adapters/state-file.js'),
    import('../lambda/app/run-janitor.js'),
    import('./format.js'),
    import('../lambda/handler.js'),
  ]);
  let log;
  try {
    log = createLogger({ level: values['log-level'] ?? process.env.LOG_LEVEL ?? 'warn', destination: process.stderr, format: logFormat });
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  const client = makeEcrClient();
  const registry = createEcrRegistry(client, options.registryOptions);
  const region = await client.config.region();
  const accountId = await registry.registryId();
  const progress = (message: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
    else if (/images read/.test(message) === false) process.stderr.write(`${message}\n`);
  };

  const report = await runJanitor(
    {
      registry,
      pinSources: pinSourcesFor(config, { accountId, region }),
      stateStore: createFileStateStore(values['state-dir']!),
      clock: { now: () => Date.now() },
      log,
    },
    { config, mode: command, dryRun: values['dry-run'], ...(values.repository ? { repositories: values.repository } : {}), onProgress: progress },
  );
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  process.stdout.write(values.json ? `${JSON.stringify(planJson(report), null, 2)}\n` : `${formatReport(report, { pricePerGbMonth: config.pricePerGbMonth })}\n`);
  if (report.noRepositories) process.stderr.write(`ecr-janitor: ${report.noRepositories}\n`);
  const { failed, blocked, refused } = report.totals;
  return failed + blocked + refused > 0 || report.noRepositories !== undefined ? 1 : 0;
}

const PIN_SOURCE_NAMES = ['config', 'ecs', 'lambda', 'ssm'];

function narrowPinSources(config: JanitorConfig, list: string | undefined): JanitorConfig {
  if (list === undefined) return config;
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !PIN_SOURCE_NAMES.includes(n));
  if (unknown.length > 0) throw new UsageError(`--pin-sources: unknown source(s) ${unknown.join(', ')}; choose from ${PIN_SOURCE_NAMES.join(', ')}`);
  if (!names.includes('config')) throw new UsageError('--pin-sources must include config: the explicit pins in the config are always honoured');
  return {
    ...config,
    pins: {
      ...config.pins,
      ecs: config.pins.ecs && names.includes('ecs'),
      lambda: config.pins.lambda && names.includes('lambda'),
      ...(names.includes('ssm') && config.pins.ssmParameter ? { ssmParameter: config.pins.ssmParameter } : { ssmParameter: undefined }),
    },
  };
}

function loadConfig(path: string | undefined): Promise<JanitorConfig> {
  return loadConfigFile(path, (message) => new UsageError(message));
}
