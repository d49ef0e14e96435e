import { defineConfig } from 'vitest/config';

// Long runs (the simulation and its fault scenarios, the soak, the five-night demo, the CDK CLI and the packed package)
// are their own project: `npm test` runs every project, `npm run test:fast` the fast ones (fast, cdk), `npm run
// test:slow` the slow one; `.ci/run` runs `npm test` with coverage of lambda/.
// CDK assertion files (lib/): aws-cdk-lib and cdk-nag are the slow part of them, so they run unisolated.
const CDK = ['test/cdk/**/*.test.ts', 'test/events/event-rules.test.ts'];
const SLOW = ['test/simulation/**/*.test.ts', 'test/e2e/nightly-soak.test.ts', 'test/demo.test.ts', 'test/cdk/cdk-cli.test.ts', 'test/build/package.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default on 2 cores is 1 worker: files ran one at a time while most of them wait on sockets and children.
    // 3 workers keep both cores busy; the long files start first (vitest orders files by their last duration).
    maxWorkers: 3,
    // The SDK's notice about its future Node 22 floor would repeat once per test file.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      // Unisolated too: a file's modules (SDK, emulator, janitor) load once per worker, not once per file. Safe because no
      // fast test mocks modules or leaves globals changed (env stubs and spies are restored in the file that made them).
      { extends: true, test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: [...SLOW, ...CDK], isolate: false } },
      // CDK assertions run unisolated: aws-cdk-lib and cdk-nag load once per worker, not once per file. (No maxWorkers
      // of its own: vitest runs projects with different maxWorkers one after another, which would serialise them.)
      // CDK_VALIDATION=false skips aws-cdk-lib's built-in CloudFormation validation (a WebAssembly rules engine, most
      // of each synth's CPU): in an App without @aws-cdk/core:validateAgainstDefaultRules its findings are only
      // warnings no test reads. cdk-nag still runs; test/cdk/cdk-cli.test.ts synthesises with the validation on.
      {
        extends: true,
        test: {
          name: 'cdk',
          include: CDK,
          exclude: SLOW,
          isolate: false,
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', CDK_VALIDATION: 'false' },
        },
      },
      { extends: true, test: { name: 'slow', include: SLOW, hookTimeout: 300_000, testTimeout: 300_000 } },
    ],
    coverage: {
      provider: 'v8',
      // What is bundled into the function: the number .ci/run reports.
      include: ['lambda/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
