// The package's entry (`import { EcrJanitor } from 'ecr-janitor'`): the construct, its stack, and the config they take.
export { EcrJanitor, type EcrJanitorProps, type JanitorConfigInput } from './ecr-janitor.js';
export { EcrJanitorStack, type EcrJanitorStackProps } from './ecr-janitor-stack.js';
export { ConfigError, type ConfigProblem, configJsonSchema, type JanitorConfigFile, parseConfig, parseConfigText } from '../lambda/domain/config.js';
export type { JanitorConfig } from '../lambda/domain/types.js';
export { METRIC_NAMESPACE } from '../lambda/app/metric-names.js';
