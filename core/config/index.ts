/** Run and pipeline settings: schema, defaults, parameters and validation messages (DESIGN §1, §3). */
export {
  DEFAULTS,
  parseRunSettings,
  RESERVED_ARGUMENT_NAMES,
  SETTING_NAMES,
  type FileInput,
  type LocalInput,
  type LoggingLevel,
  type MiniBatchSize,
  type OutputAction,
  type RunDefaults,
  type RunSettings,
} from './settings.js';
export { parseMiniBatchSize } from './mini-batch-size.js';
export { parseArgumentValue } from './arguments.js';
export {
  parsePipeline,
  resolveParameters,
  settingsForRun,
  usedParameters,
  type ParameterDefinition,
  type PipelineDefinition,
} from './parameters.js';
export { suggestName } from './suggest.js';
