// The house Lambda function: Node 22 on ARM64, bundled locally with esbuild (no Docker), source maps on, an explicit
// timeout, and a log group we own with a retention (not the implicit never-expiring /aws/lambda/<name> group).
import type { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

export const JANITOR_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * How the handler is bundled (esbuild, run locally by NodejsFunction). Exported so `npm run bench` measures the bundle
 * that is deployed, built with these same options.
 */
export const JANITOR_BUNDLING: Readonly<nodejs.BundlingOptions> = Object.freeze({
  forceDockerBundling: false,
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  // Bundle the SDK: the runtime's built-in copy may predate ListImageReferrers.
  externalModules: [],
  // Prefer the SDK's ES module builds: they tree-shake, the CommonJS ones do not.
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  // A separate index.mjs.map with the sourceMappingURL comment (what --enable-source-maps follows), no
  // sources inside: file and line are enough and the asset stays small.
  sourceMapMode: nodejs.SourceMapMode.DEFAULT,
  sourcesContent: false,
  // Bundled CommonJS dependencies (pino) call require() for Node built-ins; ESM output has none.
  banner: "import { createRequire as __janitorCreateRequire } from 'node:module'; const require = __janitorCreateRequire(import.meta.url);",
});

export interface JanitorFunctionProps {
  /** TypeScript entry file, bundled with esbuild. */
  readonly entry: string;
  /** package-lock.json of the project the entry belongs to (esbuild runs from its folder). */
  readonly depsLockFilePath: string;
  /** Exported handler name in `entry`. @default 'handler' */
  readonly handler?: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly environment?: Record<string, string>;
  readonly description?: string;
  /**
   * Pre-built code instead of bundling `entry` (tests that do not care about the bundle). `handler` is then
   * `file.export`, e.g. 'index.handler'.
   * @default - bundle `entry` with esbuild
   */
  readonly code?: lambda.Code;
}

export class JanitorFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: JanitorFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });

    // Our own role instead of AWSLambdaBasicExecutionRole: logs only to our log group, nothing else by default.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ecr-janitor Lambda: logs to its own log group; the janitor adds its ECR, pin-source and state grants',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const bundled = props.code === undefined;
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      runtime: JANITOR_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      role: this.role,
      logGroup: this.logGroup,
      description: props.description,
      environment: {
        ...props.environment,
        // Stack traces point at lambda/*.ts lines instead of the minified bundle.
        NODE_OPTIONS: '--enable-source-maps',
      },
      ...(bundled
        ? {
            entry: props.entry,
            handler: props.handler ?? 'handler',
            depsLockFilePath: props.depsLockFilePath,
            bundling: JANITOR_BUNDLING,
          }
        : { code: props.code, handler: props.handler ?? 'index.handler' }),
    });

    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'Pinned to nodejs22.x on purpose: the bundle targets node22 and the janitor is tested on it; move to the next LTS runtime deliberately, not implicitly.',
    );
  }
}
