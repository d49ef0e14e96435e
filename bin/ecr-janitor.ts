// CDK app (cdk.json "app"): the janitor config from context `janitor` or `-c configFile=path.json`, validated by the
// Lambda's own parser, one stack per account/region, cdk-nag AwsSolutions checks on all of it.
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lambda/domain/config.js';
import { buildApp, formatConfigError } from '../lib/app.js';

const app = new App();
try {
  buildApp(app);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(formatConfigError(error));
  process.exit(2); // same code as the CLI's "bad config": nothing was synthesized
}
