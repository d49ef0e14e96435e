// `ecr-janitor plan|run|emulator|demo`: the janitor from a laptop or CI.
// Exit codes: 0 done; 1 a repository failed, was blocked or refused (the others finished), or the config manages no
// repository; 2 bad config or arguments (nothing touched).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createEcrRegistry, makeEcrClient } from '../lambda/adapters/ecr-registry.js';
import { createLogger } from '../lambda/adapters/logger.js';
import { checkStateDirWritable, createFileStateStore } from '../lambda/adapters/state-file.js';
import { runJanitor } from '../lambda/app/run-janitor.js';
import { formatReport, planJson } from './format.js';
import { ConfigError, DEFAULT_CONFIG, parseConfigText } from '../lambda/domain/config.js';
import type { JanitorConfig } from '../lambda/domain/types.js';
import { pinSourcesFor } from '../lambda/handler.js';

const USAGE = `usage:
  ecr-janitor plan [--config FILE] [--repository NAME]... [--json] [--state-dir DIR] [--pin-sources LIST]
  ecr-janitor run  [--config FILE] [--repository NAME]... [--json] [--dry-run] [--state-dir DIR] [--pin-sources LIST]
  ecr-janitor emulator [--port N] [--profile faithful|pessimistic] [--rate-limits]
  ecr-janitor demo [--profile faithful|pessimistic]

plan is read-only: what would go and why. run applies the plan (protection tags, lifecycle policy).
Exit codes: 0 done; 1 a repository failed, was blocked or refused (the others finished), or the config manages no
repository; 2 bad config or arguments (nothing touched).
Credentials and region come from the usual AWS chain; AWS_ENDPOINT_URL_ECR points at another endpoint (the emulator).
--pin-sources narrows pin discovery to some of config,ecs,lambda,ssm (default: those the config enables); a source
that fails makes every repository fail closed (no policy change, no protection removed).
emulator serves a local ECR; --profile picks how it reads what AWS leaves open (default pessimistic, the worst
plausible reading; see the README), --rate-limits applies ECR's API rate quotas (real time).`;

export class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'plan':
      case 'run':
        return await planOrRun(command, rest);
      case 'emulator': {
        const { values } = parseArgs({
          args: rest,
          options: { port: { type: 'string', default: '4566' }, profile: { type: 'string', default: 'pessimistic' }, 'rate-limits': { type: 'boolean', default: false } },
        });
        const port = Number(values.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got ${values.port}`);
        if (values.profile !== 'faithful' && values.profile !== 'pessimistic') throw new UsageError(`--profile must be faithful or pessimistic, got ${values.profile}`);
        const { runEmulatorCli } = await import('../emulator/server.js');
        await runEmulatorCli(port, { profile: values.profile, rateLimits: values['rate-limits'] });
        return 0;
      }
      case 'demo': {
        const { values } = parseArgs({ args: rest, options: { profile: { type: 'string' } } });
        if (values.profile !== undefined && values.profile !== 'faithful' && values.profile !== 'pessimistic') throw new UsageError(`--profile must be faithful or pessimistic, got ${values.profile}`);
        const { runDemo } = await import('./demo.js');
        return await runDemo({ out: (line) => process.stdout.write(`${line}\n`), ...(values.profile !== undefined ? { profile: values.profile } : {}) });
      }
      case undefined:
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`ecr-janitor: ${(error as Error).message}\n${error instanceof ConfigError ? '' : `${USAGE}\n`}`);
      return 2;
    }
    throw error;
  }
}

async function planOrRun(command: 'plan' | 'run', args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      repository: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: '.janitor-state' },
      'pin-sources': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (command === 'plan' && values['dry-run']) throw new UsageError('--dry-run goes with run; plan never changes anything');
  const config = narrowPinSources(await loadConfig(values.config), values['pin-sources']);
  // A run that changes ECR must be able to record what it did: check before the first write, not after the changes.
  if (command === 'run' && !values['dry-run'] && !config.dryRun) {
    try {
      await checkStateDirWritable(values['state-dir']!);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const client = makeEcrClient();
  const registry = createEcrRegistry(client);
  const region = await client.config.region();
  const accountId = await registry.registryId();
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
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

async function loadConfig(path: string | undefined): Promise<JanitorConfig> {
  if (!path) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  return parseConfigText(text, path);
}

// Run when executed as the CLI entry (bin/ecr-janitor-cli.mjs imports this module).
if (process.argv[1] && /ecr-janitor(-cli\.mjs)?$|cli\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ecr-janitor: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
