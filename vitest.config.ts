import { defineConfig } from 'vitest/config';

// Long runs (the simulation and its fault scenarios, the soak, the five-night demo, the CDK CLI and the packed package)
// are their own project: `npm test` runs every project, `npm run test:fast` the fast ones (fast, cdk), `npm run
// test:slow` the slow one; `.ci/run` runs `npm test` with coverage of lambda/.
// CDK assertion files (lib/): aws-cdk-lib and cdk-nag are the slow part of them, so they share one worker.
const CDK = ['test/cdk/**/*.test.ts', 'test/events/event-rules.test.ts'];
const SLOW = ['test/simulation/**/*.test.ts', 'test/e2e/nightly-soak.test.ts', 'test/demo.test.ts', 'test/cdk/cdk-cli.test.ts', 'test/build/package.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The SDK's notice about its future Node 22 floor would repeat once per test file.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: [...SLOW, ...CDK] } },
      // CDK assertions run unisolated in one worker: aws-cdk-lib and cdk-nag load once for every file, not per file.
      { extends: true, test: { name: 'cdk', include: CDK, exclude: SLOW, isolate: false, maxWorkers: 1 } },
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
