// `ecr-janitor event FILE [--config FILE] [--state-dir DIR] [--json]`: the Lambda's event path on an EventBridge event
// JSON, locally (tests, replaying a missed event). The same parser and app code as the handler.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config-file.js';
import { createEcrImageLookup } from '../lambda/adapters/ecr-image-lookup.js';
import { createEcrRegistry, makeEcrClient } from '../lambda/adapters/ecr-registry.js';
import { createLogger } from '../lambda/adapters/logger.js';
import { createFileStateStore } from '../lambda/adapters/state-file.js';
import { protectOnEvent } from '../lambda/app/protect-on-event.js';
import { EventShapeError, parseUseEvent } from '../lambda/domain/events.js';
import type { JanitorConfig } from '../lambda/domain/types.js';

/** Thrown for a bad argument or file: the CLI exits 2 with the message (nothing touched). */
export class EventUsageError extends Error {}

export async function runEventCommand(args: string[], out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, 'state-dir': { type: 'string', default: '.janitor-state' }, json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new EventUsageError('event needs exactly one FILE: an EventBridge event as JSON');
  const file = positionals[0]!;
  let event: unknown;
  try {
    event = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new EventUsageError(`cannot read the event ${file}: ${(error as Error).message}`);
  }
  let use;
  try {
    use = parseUseEvent(event);
  } catch (error) {
    if (error instanceof EventShapeError) throw new EventUsageError(`${file}: ${error.message}`);
    throw error;
  }
  if (!use) {
    throw new EventUsageError(`${file}: not a use event (expected source aws.ecs "ECS Task State Change", aws.lambda "AWS API Call via CloudTrail" or aws.ecr "ECR Image Action"); nothing was done`);
  }
  const config = await loadConfig(values.config);
  const client = makeEcrClient();
  const registry = createEcrRegistry(client);
  const region = await client.config.region();
  const accountId = await registry.registryId();
  if (accountId === undefined) throw new Error("this registry's account id is unknown, so the event's image URIs cannot be matched to it; nothing was done");
  const result = await protectOnEvent(
    {
      registry,
      imageLookup: createEcrImageLookup(client),
      stateStore: createFileStateStore(values['state-dir']!),
      clock: { now: () => Date.now() },
      log: createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr }),
      registryAddress: { accountId, region },
    },
    { config },
    use,
  );
  out(values.json ? JSON.stringify(result, null, 2) : formatEventResult(result));
  return result.failed > 0 ? 1 : 0;
}

function formatEventResult(result: Awaited<ReturnType<typeof protectOnEvent>>): string {
  const lines = [`event ${result.kind}${result.dryRun ? ' (dry run)' : ''}${result.noAction ? `: ${result.noAction}` : ''}`];
  for (const r of result.repositories) {
    lines.push(`  ${r.repository}: tagged ${r.tagged.length}, already protected ${r.alreadyTagged.length}, pins recorded ${r.recorded.length}`);
    for (const digest of r.tagged) lines.push(`    protect: ${digest} (${digest === r.tagLeft ? 'the image a pushed tag left; it may still run' : 'in use, announced by event'})`);
    for (const u of r.unresolved) lines.push(`    not in the repository: ${u}`);
    if (r.stateNotWritten) lines.push(`    state: ${r.stateNotWritten}`);
    for (const f of r.failures) lines.push(`    FAILED ${f.code} ${f.digest ?? ''}: ${f.message}`);
  }
  for (const i of result.ignored) lines.push(`  ignored ${i.reference}: ${i.reason}`);
  return lines.join('\n');
}

function loadConfig(path: string | undefined): Promise<JanitorConfig> {
  return loadConfigFile(path, (message) => new EventUsageError(message));
}
