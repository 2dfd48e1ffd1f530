/**
 * The JSON Schema of settings files (`schemas/run-settings.schema.json`, `npm run schema`): run settings
 * and pipeline definitions, for editors to complete and check. It is built from the validator's own
 * names, bounds, choices and defaults, and `FIELDS` is typed by the validator's list of setting names, so
 * a setting added to `SETTING_NAMES` fails type-checking until it has an entry here; a test keeps the
 * committed file equal to what this builds. The schema checks shapes and bounds; the service still
 * checks what needs the world (the script exists, the container is not reserved) and cross-field rules.
 */
import { AFTER_RUN_CHOICES, INBOX_DEFAULTS, MAX_QUIET_SECONDS } from './inbox.js';
import { MAX_NAMES } from './locations.js';
import { MAX_POOL_NAME, POOL_NAME, POOL_NAME_RULE } from './pools.js';
import { MODELS_MAX } from './script-settings.js';
import { TABLE_FORMATS } from './table-input.js';
import {
  APPEND_ROW_FORMATS,
  CARRY_COLUMN,
  MAX_CARRY_COLUMNS,
  MAX_PARTITION_KEYS,
  PARTITION_KEY,
} from './table-settings.js';
import { MAX_BYTES_PER_MINI_BATCH, MAX_FILES_PER_MINI_BATCH } from './mini-batch-size.js';
import {
  BLOB_NAME_RULE,
  BLOB_PREFIX_RULE,
  ENTRY_SCRIPT_RULE,
  GLOB_RULE,
  LOCAL_PATH_RULE,
  SOURCE_DIRECTORY_RULE,
  type PathRule,
} from './paths.js';
import type { NumberRule } from './rules.js';
import {
  DEFAULTS,
  LOGGING_LEVELS,
  OUTPUT_ACTIONS,
  RULES,
  type SettingName,
  type V2_NAMES,
} from './settings.js';

type Fragment = Record<string, unknown>;

export const SCHEMA_ID =
  'https://github.com/parallel-run/parallel-run/blob/main/schemas/run-settings.schema.json';

function numberField(rule: NumberRule, fallback?: number): Fragment {
  return {
    type: rule.whole ? 'integer' : 'number',
    ...(rule.minExcluded ? { exclusiveMinimum: rule.min } : { minimum: rule.min }),
    ...(rule.max === undefined ? {} : { maximum: rule.max }),
    ...(fallback === undefined ? {} : { default: fallback }),
    description: `Use ${rule.allowed}.`,
  };
}

function pathField(rule: PathRule): Fragment {
  return {
    type: 'string',
    ...(rule.emptyOk ? {} : { minLength: 1 }),
    maxLength: rule.maxLength,
    description: `Use ${rule.allowed}.`,
  };
}

/** `^(INFO|…)$` matching any case: JSON Schema patterns have no flags. */
function anyCase(words: readonly string[]): string {
  const anyCaseWord = (word: string) =>
    word.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`);
  return `^(${words.map(anyCaseWord).join('|')})$`;
}

const CONTAINER: Fragment = {
  type: 'string',
  minLength: 3,
  maxLength: 63,
  pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
  description: 'A blob container: 3 to 63 lowercase letters, digits and single hyphens.',
};

function location(required: string[]): Fragment {
  return {
    type: 'object',
    additionalProperties: false,
    required,
    properties: { container: CONTAINER, path: pathField(BLOB_PREFIX_RULE) },
  };
}

const BLOB_INPUT: Fragment = {
  type: 'object',
  additionalProperties: false,
  required: ['container'],
  properties: {
    type: { enum: ['files', 'uri_folder'] },
    container: CONTAINER,
    path: pathField(BLOB_PREFIX_RULE),
    glob: pathField(GLOB_RULE),
    names: { type: 'array', minItems: 1, uniqueItems: true, items: pathField(BLOB_NAME_RULE) },
    names_from: {
      description: 'A blob listing the names, one JSON string per line.',
      type: 'object',
      additionalProperties: false,
      required: ['container', 'path'],
      properties: { container: CONTAINER, path: pathField(BLOB_NAME_RULE) },
    },
  },
  not: { properties: { glob: {}, names: {} }, required: ['glob', 'names'] },
};

const TABLE_INPUT: Fragment = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'container'],
  properties: {
    type: { const: 'table' },
    container: CONTAINER,
    path: pathField(BLOB_PREFIX_RULE),
    glob: pathField(GLOB_RULE),
    format: { enum: TABLE_FORMATS },
    header: { type: 'boolean' },
    delimiter: { type: 'string', minLength: 1, maxLength: 1 },
    newlines_in_quotes: { type: 'boolean' },
  },
};

const LOCAL_INPUT: Fragment = {
  type: 'object',
  additionalProperties: false,
  required: ['local_path'],
  properties: { type: { enum: ['files', 'uri_folder'] }, local_path: pathField(LOCAL_PATH_RULE) },
};

const SCRIPT_ARGUMENTS: Fragment = {
  description: 'Arguments for the entry script: a command line, or an object of names to values.',
  anyOf: [
    { type: 'array', items: { type: ['string', 'number', 'boolean'] } },
    {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' },
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
  ],
};

/** Every setting the validator takes, by the name users write; v2 names beside their v1 counterparts. */
const FIELDS: Record<SettingName | (typeof V2_NAMES)[number], Fragment> = {
  entry_script: pathField(ENTRY_SCRIPT_RULE),
  source_directory: pathField(SOURCE_DIRECTORY_RULE),
  mini_batch_size: {
    description: `Files per mini-batch, from 1 to ${MAX_FILES_PER_MINI_BATCH} (a number or its text); for tabular inputs bytes: a bare number from 1024, or with KB, MB or GB such as "1MB", up to "100GB".`,
    default: '10',
    anyOf: [
      // Up to the bytes limit: a table's bare number counts bytes (the service checks files' counts).
      { type: 'integer', minimum: 1, maximum: MAX_BYTES_PER_MINI_BATCH },
      { type: 'string', pattern: '^\\s*[0-9]+([kKmMgG][bB])?\\s*$' },
    ],
  },
  error_threshold: numberField(RULES.error_threshold, DEFAULTS.error_threshold),
  mini_batch_error_threshold: numberField(
    RULES.mini_batch_error_threshold,
    DEFAULTS.mini_batch_error_threshold,
  ),
  allowed_failed_count: numberField(RULES.mini_batch_error_threshold),
  allowed_failed_percent: numberField(RULES.allowed_failed_percent, DEFAULTS.allowed_failed_percent),
  output_action: { enum: OUTPUT_ACTIONS, default: DEFAULTS.output_action },
  append_row_file_name: {
    type: 'string',
    minLength: 1,
    pattern: '^[^/\\\\]+$',
    default: DEFAULTS.append_row_file_name,
    description: 'A plain file name for the output, e.g. "mnist_outputs.txt".',
  },
  run_invocation_timeout: numberField(RULES.seconds, DEFAULTS.run_invocation_timeout),
  run_max_try: numberField(RULES.run_max_try, DEFAULTS.run_max_try),
  retry_settings: {
    type: 'object',
    additionalProperties: false,
    properties: { max_retries: numberField(RULES.max_retries), timeout: numberField(RULES.seconds) },
  },
  node_count: numberField(RULES.node_count, DEFAULTS.node_count),
  instance_count: numberField(RULES.node_count),
  process_count_per_node: numberField(RULES.process_count_per_node),
  max_concurrency_per_instance: numberField(RULES.process_count_per_node),
  logging_level: {
    description: 'Any case is accepted.',
    default: DEFAULTS.logging_level,
    anyOf: [{ enum: LOGGING_LEVELS }, { type: 'string', pattern: anyCase(LOGGING_LEVELS) }],
  },
  progress_update_timeout: { anyOf: [numberField(RULES.seconds), { type: 'null' }] },
  arguments: SCRIPT_ARGUMENTS,
  program_arguments: { type: 'string', description: 'A command line as one string, e.g. "--k 1".' },
  side_inputs: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$' },
    additionalProperties: location(['container']),
  },
  environment_variables: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,255}$' },
    additionalProperties: { type: 'string', maxLength: 32_767 },
  },
  models: {
    type: 'array',
    maxItems: MODELS_MAX,
    uniqueItems: true,
    items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}(:[1-9][0-9]*)?$' },
  },
  input: { anyOf: [BLOB_INPUT, LOCAL_INPUT, TABLE_INPUT] },
  partition_keys: {
    description: 'Tables laid out as key=value/ folders: one mini-batch per key combination.',
    type: 'array',
    minItems: 1,
    maxItems: MAX_PARTITION_KEYS,
    uniqueItems: true,
    items: { type: 'string', pattern: PARTITION_KEY.source },
  },
  carry_columns: {
    description:
      'Tables: columns of each input row copied to its result row, first, so outputs join back to inputs, e.g. ["id"].',
    type: 'array',
    minItems: 1,
    maxItems: MAX_CARRY_COLUMNS,
    uniqueItems: true,
    items: { type: 'string', pattern: CARRY_COLUMN.source },
  },
  append_row_format: { enum: APPEND_ROW_FORMATS },
  output: location([]),
  compute: {
    default: 'functions',
    description: `"functions", or one of the app's pools (app setting PARALLEL_RUN_POOLS): ${POOL_NAME_RULE}`,
    anyOf: [
      { const: 'functions' },
      { type: 'string', pattern: POOL_NAME.source, maxLength: MAX_POOL_NAME, not: { const: 'functions' } },
    ],
  },
  allow_reuse: {
    type: 'boolean',
    default: DEFAULTS.allow_reuse,
    description: 'Reuse an earlier Completed run with the same fingerprint (README, "Reuse and resume").',
  },
  run_name: { type: 'string', minLength: 1, maxLength: 256 },
};

const REQUIRED: SettingName[] = ['entry_script', 'input'];

/** A parameter in a pipeline's settings: `"${{parameters.NAME}}"`, standing for a value of any type. */
const PARAMETER_REFERENCE: Fragment = {
  type: 'string',
  pattern: '^\\$\\{\\{\\s*parameters\\.[A-Za-z_][A-Za-z0-9_]*\\s*\\}\\}$',
};

const SCHEMA_KEY: Fragment = { type: 'string', description: 'The schema this file is checked against.' };

function runSettings(): Fragment {
  return {
    type: 'object',
    additionalProperties: false,
    required: REQUIRED,
    properties: { $schema: SCHEMA_KEY, ...FIELDS },
    // partition_keys name folders of a table's layout, carry_columns its columns: files have neither.
    dependentSchemas: {
      partition_keys: { properties: { input: TABLE_INPUT } },
      carry_columns: { properties: { input: TABLE_INPUT } },
    },
  };
}

/** The same settings, where any value may be a parameter reference (resolved when the pipeline runs). */
function settingsTemplate(): Fragment {
  const properties = Object.fromEntries(
    Object.entries(FIELDS).map(([name, field]) => [name, { anyOf: [field, PARAMETER_REFERENCE] }]),
  );
  return { type: 'object', additionalProperties: false, properties: { $schema: SCHEMA_KEY, ...properties } };
}

function pipelineDefinition(): Fragment {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['settings'],
    properties: {
      $schema: SCHEMA_KEY,
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' },
      settings: { $ref: '#/$defs/settingsTemplate' },
      inbox: {
        description: 'Runs of this pipeline from files dropped under inbox/<name>/ (README, the inbox).',
        type: 'object',
        additionalProperties: false,
        properties: {
          quiet_seconds: {
            type: 'number',
            exclusiveMinimum: 0,
            maximum: MAX_QUIET_SECONDS,
            default: INBOX_DEFAULTS.quiet_seconds,
          },
          max_files: { type: 'integer', minimum: 1, maximum: MAX_NAMES, default: INBOX_DEFAULTS.max_files },
          after_run: { enum: [...AFTER_RUN_CHOICES], default: INBOX_DEFAULTS.after_run },
        },
      },
      parameters: {
        type: 'object',
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: { default: {}, description: { type: 'string' } },
        },
      },
    },
  };
}

/** The whole schema: a pipeline definition when it has `settings`, run settings otherwise. */
export function settingsSchema(): Fragment {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'parallel-run settings',
    description:
      'Run settings (POST /api/runs, `parallel-run submit`) in ParallelRunStep names, or a pipeline definition (PUT /api/pipelines/{name}) with "${{parameters.x}}" references.',
    if: { type: 'object', properties: { settings: {} }, required: ['settings'] },
    then: { $ref: '#/$defs/pipeline' },
    else: { $ref: '#/$defs/runSettings' },
    $defs: {
      runSettings: runSettings(),
      settingsTemplate: settingsTemplate(),
      pipeline: pipelineDefinition(),
    },
  };
}
