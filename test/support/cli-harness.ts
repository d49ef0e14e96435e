// The CLI in-process against the emulator, configured as a user would: the endpoint, region and throwaway
// credentials from the environment, no AWS config files of the machine's. (test/build/package.test.ts runs the built
// CLI as a real process.)
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { type CliOptions, main } from '../../cli/cli.js';
import type { JanitorWorld } from './emulator-janitor.js';

/** Before each test: the environment a user of the emulator sets; after it, the real one back. */
export function useEmulatorCliEnvironment(world: JanitorWorld, logLevel: string): void {
  beforeEach(() => {
    vi.stubEnv('AWS_ENDPOINT_URL_ECR', world.emulator.endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', join(world.stateDir, 'no-aws-config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(world.stateDir, 'no-aws-credentials'));
    vi.stubEnv('LOG_LEVEL', logLevel);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
}

/**
 * Runs `main(argv)` in-process, capturing what it writes to stdout and stderr. Preview polls do not wait: the emulator's
 * preview moves on by polls, not by time.
 */
export async function runCli(argv: string[], options: CliOptions = { registryOptions: { previewPollMs: 0 } }): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture(stdout) as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture(stderr) as typeof process.stderr.write);
  try {
    const code = await main(argv, options);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
