/**
 * Run settings (ARCHITECTURE.md, "A run, end to end"): what `POST /api/runs` takes, with
 * ParallelRunStep's names, defaults and meaning (the README's settings list). Keys stay snake_case in the resolved settings too: they
 * are stored as run.json and shown back to users in the names they wrote.
 */
import type { ScriptArguments } from './arguments.js';
import { readArguments, readProgramArguments, type ParsedArguments } from './arguments.js';
import {
  given,
  Issues,
  isObject,
  rejectNulls,
  rejectUnknownKeys,
  show,
  type Given,
  type JsonObject,
} from './issues.js';
import { readInput, readOutput, readSideInputs } from './locations.js';
import { readMiniBatchSize } from './mini-batch-size.js';
import { readFileName } from './paths.js';
import { readChoice, readLabel, readNumber, type NumberRule } from './rules.js';
import {
  readEntryScript,
  readEnvironmentVariables,
  readModels,
  readSourceDirectory,
} from './script-settings.js';
import { SettingsError } from '../errors.js';
import { isPoolName, POOL_NAME_RULE, POOLS_SETTING } from './pools.js';

export type { FileInput, LocalInput, MiniBatchSize, TableFormat, TableInput } from './resolved.js';
import type { FileInput, LocalInput, MiniBatchSize, TableInput } from './resolved.js';
import {
  readAppendRowFormat,
  readCarryColumns,
  readPartitionKeys,
  type AppendRowFormat,
} from './table-settings.js';

export type { AppendRowFormat } from './table-settings.js';
export type OutputAction = 'append_row' | 'summary_only';
export type LoggingLevel = 'WARNING' | 'INFO' | 'DEBUG';

export interface RunSettings {
  entry_script: string;
  source_directory?: string;
  mini_batch_size: MiniBatchSize;
  error_threshold: number;
  mini_batch_error_threshold: number;
  allowed_failed_percent: number;
  output_action: OutputAction;
  append_row_file_name: string;
  /** How append_row writes rows: `text` (one line each) by default for files, `csv` for tables. */
  append_row_format?: AppendRowFormat;
  /** Tables: Hive-style folder keys (`species=setosa/`); each mini-batch holds one key combination. */
  partition_keys?: string[];
  /** Tables: columns of each input row copied to its result row, first (README, "Tabular datasets"). */
  carry_columns?: string[];
  /** Seconds. */
  run_invocation_timeout: number;
  run_max_try: number;
  node_count: number;
  process_count_per_node: number;
  logging_level: LoggingLevel;
  /** Seconds; null = computed. */
  progress_update_timeout: number | null;
  arguments: ScriptArguments;
  arguments_list: string[];
  side_inputs: Record<string, { container: string; path: string }>;
  environment_variables: Record<string, string>;
  /** `name` or `name:version`. */
  models: string[];
  input: FileInput | LocalInput | TableInput;
  output: { container: string; path?: string };
  /** `functions`, or the name of a pool configured for the app (core/config/pools.ts). */
  compute: string;
  /** Reuse an earlier Completed run with the same fingerprint (README "Reuse and resume"); true by default, as in ParallelRunStep. */
  allow_reuse: boolean;
  run_name?: string;
}

export interface RunDefaults {
  /** Workers per node when the settings do not say; the app knows its cores. */
  processCountPerNode?: number;
  /** The pools this app has (`PARALLEL_RUN_POOLS`); absent: any pool name is taken, to be checked at submit. */
  pools?: readonly string[];
}

/** The settings users give, in ParallelRunStep (v1) names. */
export const SETTING_NAMES = [
  'entry_script',
  'source_directory',
  'mini_batch_size',
  'error_threshold',
  'mini_batch_error_threshold',
  'allowed_failed_percent',
  'output_action',
  'append_row_file_name',
  'append_row_format',
  'partition_keys',
  'carry_columns',
  'run_invocation_timeout',
  'run_max_try',
  'node_count',
  'process_count_per_node',
  'logging_level',
  'progress_update_timeout',
  'arguments',
  'side_inputs',
  'environment_variables',
  'models',
  'input',
  'output',
  'compute',
  'allow_reuse',
  'run_name',
] as const;

/** Azure ML v2 (parallel job) names, accepted for their v1 counterparts. */
export const V2_NAMES = [
  'instance_count',
  'max_concurrency_per_instance',
  'retry_settings',
  'allowed_failed_count',
  'program_arguments',
] as const;
const RETRY_SETTINGS_KEYS = ['max_retries', 'timeout'];

/** Known settings that are refused with a reason, never silently ignored. */
const REFUSED: Record<string, { supportedLater: boolean; instead: string }> = {
  environment: {
    supportedLater: true,
    instead: "entry scripts run with the app's dependencies; use environment_variables for variables",
  },
  arguments_list: { supportedLater: false, instead: 'it is derived from "arguments"; give "arguments" only' },
};

/**
 * Keys that annotate a settings file and mean nothing to a run: `$schema` lets an editor complete and
 * check it against schemas/run-settings.schema.json.
 */
export const ANNOTATION_NAMES = ['$schema'] as const;

const ACCEPTED_NAMES: readonly string[] = [...SETTING_NAMES, ...V2_NAMES, ...Object.keys(REFUSED)];

/** Argument names scripts may not use, as in ParallelRunStep: every setting name. */
export const RESERVED_ARGUMENT_NAMES: ReadonlySet<string> = new Set(ACCEPTED_NAMES);

export const DEFAULTS = {
  error_threshold: -1,
  mini_batch_error_threshold: -1,
  allowed_failed_percent: 100,
  output_action: 'append_row',
  append_row_file_name: 'parallel_run_step.txt',
  run_invocation_timeout: 60,
  run_max_try: 3,
  node_count: 1,
  process_count_per_node: 1,
  logging_level: 'INFO',
  allow_reuse: true,
} as const;

/**
 * Upper bounds: what the runtime can honour. Node fires a timer over 2,147,483,647 ms (24.8 days) at
 * once, so seconds stop at 7 days (also the longest a try or a silence is worth waiting for).
 */
export const LIMITS = {
  seconds: 604_800,
  tries: 100,
  failures: 1_000_000_000,
} as const;

export const RULES = {
  error_threshold: {
    whole: true,
    min: -1,
    max: LIMITS.failures,
    allowed: 'a whole number of failed items from 0 to 1000000000, or -1 to ignore failed items, e.g. 10',
  },
  mini_batch_error_threshold: {
    whole: true,
    min: -1,
    max: LIMITS.failures,
    allowed:
      'a whole number of failed mini-batches from 0 to 1000000000, or -1 to ignore failed mini-batches, e.g. 5',
  },
  allowed_failed_percent: { whole: false, min: 0, max: 100, allowed: 'a percentage from 0 to 100, e.g. 10' },
  seconds: {
    whole: false,
    min: 0,
    minExcluded: true,
    max: LIMITS.seconds,
    allowed: 'a number of seconds over 0 and at most 604800 (7 days), e.g. 60',
  },
  run_max_try: {
    whole: true,
    min: 1,
    max: LIMITS.tries,
    allowed: 'a whole number of tries from 1 to 100, e.g. 3',
  },
  max_retries: {
    whole: true,
    min: 0,
    max: LIMITS.tries - 1,
    allowed: 'a whole number of retries from 0 to 99, e.g. 2',
  },
  node_count: { whole: true, min: 1, max: 100, allowed: 'a whole number from 1 to 100, e.g. 2' },
  process_count_per_node: { whole: true, min: 1, max: 64, allowed: 'a whole number from 1 to 64, e.g. 4' },
} satisfies Record<string, NumberRule>;

/**
 * The one of a v1 setting and its v2 name that was given; both given is an error naming both, since
 * which should win is anyone's guess.
 */
function eitherName(issues: Issues, v1: Given | undefined, v2: Given | undefined): Given | undefined {
  if (v1 !== undefined && v2 !== undefined) {
    issues.add(
      v1.field,
      `cannot be given together with ${v2.field}, its Azure ML v2 name: give only one of them`,
    );
  }
  return v1 ?? v2;
}

function readRetrySettings(issues: Issues, body: JsonObject): JsonObject {
  const at = given(body, 'retry_settings');
  if (at === undefined) return {};
  if (!isObject(at.value)) {
    issues.notAllowed(at, 'use an object such as {"max_retries": 2, "timeout": 60}');
    return {};
  }
  rejectUnknownKeys(issues, at.value, RETRY_SETTINGS_KEYS, 'retry_settings.');
  rejectNulls(issues, at.value, 'retry_settings.');
  return at.value;
}

/** v1 counts tries; v2 counts retries after the first try. */
function readTries(issues: Issues, body: JsonObject, retry: JsonObject): number {
  const retries = given(retry, 'max_retries', 'retry_settings.');
  const at = eitherName(issues, given(body, 'run_max_try'), retries);
  if (at !== undefined && at === retries) {
    return readNumber(issues, at, RULES.max_retries, DEFAULTS.run_max_try - 1) + 1;
  }
  return readNumber(issues, at, RULES.run_max_try, DEFAULTS.run_max_try);
}

function readScriptArguments(issues: Issues, body: JsonObject): ParsedArguments {
  const at = eitherName(issues, given(body, 'arguments'), given(body, 'program_arguments'));
  if (at === undefined) return { arguments: {}, arguments_list: [] };
  return at.field === 'program_arguments'
    ? readProgramArguments(issues, at, RESERVED_ARGUMENT_NAMES)
    : readArguments(issues, at, RESERVED_ARGUMENT_NAMES);
}

function rejectRefused(issues: Issues, body: JsonObject): void {
  for (const [name, { supportedLater, instead }] of Object.entries(REFUSED)) {
    const at = given(body, name);
    if (at === undefined) continue;
    if (supportedLater) issues.notSupported(at, instead);
    else issues.notAllowed(at, instead);
  }
}

function readCompute(issues: Issues, at: Given | undefined, pools: readonly string[] | undefined): string {
  if (at === undefined || at.value === 'functions') return 'functions';
  const choices = ['"functions"', ...(pools ?? []).map((p) => JSON.stringify(p))].join(', ');
  if (typeof at.value !== 'string' || !isPoolName(at.value)) {
    issues.notAllowed(at, `use ${pools ? choices : `"functions" or a pool name (${POOL_NAME_RULE})`}`);
    return 'functions';
  }
  if (pools && !pools.includes(at.value)) {
    const where = `app setting ${POOLS_SETTING}`;
    issues.add(
      at.field,
      pools.length === 0
        ? `${show(at.value)} is not a pool of this app: it has none (${where} is empty), so use "functions"`
        : `${show(at.value)} is not a pool of this app: use ${choices} (${where})`,
    );
    return 'functions';
  }
  return at.value;
}

function readAllowReuse(issues: Issues, at: Given | undefined): boolean {
  if (at === undefined) return DEFAULTS.allow_reuse;
  if (typeof at.value === 'boolean') return at.value;
  issues.notAllowed(at, 'use true (reuse an earlier Completed run with the same fingerprint) or false');
  return DEFAULTS.allow_reuse;
}

export const OUTPUT_ACTIONS: readonly OutputAction[] = ['append_row', 'summary_only'];
export const LOGGING_LEVELS: readonly LoggingLevel[] = ['WARNING', 'INFO', 'DEBUG'];

const SETTINGS_EXAMPLE =
  '{"entry_script": "score.js", "input": {"container": "sampledata", "path": "mnist/"}}';

function notAnObject(body: unknown, example = SETTINGS_EXAMPLE): SettingsError {
  return new SettingsError([
    {
      field: '(body)',
      message: `${show(body)} is not allowed: send a JSON object of settings, e.g. ${example}`,
    },
  ]);
}

export type SettingName = (typeof SETTING_NAMES)[number];

/** The settings object as given, with what the readers of each group of settings share. */
interface Body {
  issues: Issues;
  body: JsonObject;
  retry: JsonObject;
  at: (name: SettingName) => Given | undefined;
}

function readScript(b: Body): Pick<RunSettings, 'entry_script' | 'source_directory'> {
  const entryScript = readEntryScript(b.issues, b.at('entry_script'));
  const sourceDirectory = readSourceDirectory(b.issues, b.at('source_directory'));
  return {
    entry_script: entryScript,
    ...(sourceDirectory === undefined ? {} : { source_directory: sourceDirectory }),
  };
}

function readFailureLimits({
  issues,
  body,
  at,
}: Body): Pick<RunSettings, 'error_threshold' | 'mini_batch_error_threshold' | 'allowed_failed_percent'> {
  const miniBatches = eitherName(
    issues,
    at('mini_batch_error_threshold'),
    given(body, 'allowed_failed_count'),
  );
  return {
    error_threshold: readNumber(
      issues,
      at('error_threshold'),
      RULES.error_threshold,
      DEFAULTS.error_threshold,
    ),
    mini_batch_error_threshold: readNumber(
      issues,
      miniBatches,
      RULES.mini_batch_error_threshold,
      DEFAULTS.mini_batch_error_threshold,
    ),
    allowed_failed_percent: readNumber(
      issues,
      at('allowed_failed_percent'),
      RULES.allowed_failed_percent,
      DEFAULTS.allowed_failed_percent,
    ),
  };
}

function readOutputAction({ issues, at }: Body): Pick<RunSettings, 'output_action' | 'append_row_file_name'> {
  return {
    output_action: readChoice(issues, at('output_action'), OUTPUT_ACTIONS, DEFAULTS.output_action),
    append_row_file_name: readFileName(issues, at('append_row_file_name'), DEFAULTS.append_row_file_name),
  };
}

function readTryLimits({
  issues,
  body,
  retry,
  at,
}: Body): Pick<RunSettings, 'run_invocation_timeout' | 'run_max_try'> {
  const timeout = eitherName(
    issues,
    at('run_invocation_timeout'),
    given(retry, 'timeout', 'retry_settings.'),
  );
  return {
    run_invocation_timeout: readNumber(issues, timeout, RULES.seconds, DEFAULTS.run_invocation_timeout),
    run_max_try: readTries(issues, body, retry),
  };
}

function readScale(
  { issues, body, at }: Body,
  defaults: RunDefaults,
): Pick<RunSettings, 'node_count' | 'process_count_per_node'> {
  const nodes = eitherName(issues, at('node_count'), given(body, 'instance_count'));
  const workers = eitherName(
    issues,
    at('process_count_per_node'),
    given(body, 'max_concurrency_per_instance'),
  );
  return {
    node_count: readNumber(issues, nodes, RULES.node_count, DEFAULTS.node_count),
    process_count_per_node: readNumber(
      issues,
      workers,
      RULES.process_count_per_node,
      defaults.processCountPerNode ?? DEFAULTS.process_count_per_node,
    ),
  };
}

function readLogging({ issues, at }: Body): Pick<RunSettings, 'logging_level' | 'progress_update_timeout'> {
  const progressTimeout = at('progress_update_timeout');
  return {
    logging_level: readChoice(issues, at('logging_level'), LOGGING_LEVELS, DEFAULTS.logging_level, (level) =>
      level.toUpperCase(),
    ),
    progress_update_timeout:
      progressTimeout === undefined ? null : readNumber(issues, progressTimeout, RULES.seconds, 0),
  };
}

function readRunName({ issues, at }: Body): Pick<RunSettings, 'run_name'> {
  const runName = readLabel(issues, at('run_name'), 256);
  return runName === undefined ? {} : { run_name: runName };
}

/**
 * Validates and completes the settings of a run. Every problem is collected: one SettingsError lists
 * them all, each naming its field, the value given and what is allowed.
 */
export function parseRunSettings(input: unknown, defaults: RunDefaults = {}): RunSettings {
  if (!isObject(input)) throw notAnObject(input);
  const issues = new Issues();
  rejectUnknownKeys(issues, input, [...ACCEPTED_NAMES, ...ANNOTATION_NAMES]);
  // progress_update_timeout: null is "not enforced", as run.json stores it when not given.
  rejectNulls(issues, input, '', ['progress_update_timeout']);
  rejectRefused(issues, input);
  const b: Body = {
    issues,
    body: input,
    retry: readRetrySettings(issues, input),
    at: (name) => given(input, name),
  };
  const script = readScript(b);
  const { input: read, tabular } = readInput(issues, b.at('input'));
  const partitionKeys = readPartitionKeys(issues, b.at('partition_keys'), tabular);
  const appendRowFormat = readAppendRowFormat(issues, b.at('append_row_format'), tabular);
  const carryColumns = readCarryColumns(issues, b.at('carry_columns'), tabular);
  const output = readOutputAction(b);
  if (carryColumns && output.output_action === 'summary_only') {
    issues.add(
      'carry_columns',
      'copies columns to the output rows, and output_action "summary_only" writes none',
    );
  }
  const dataset =
    read.type === 'table'
      ? {
          ...read,
          ...(partitionKeys === undefined ? {} : { partition_keys: partitionKeys }),
          ...(carryColumns === undefined ? {} : { carry_columns: carryColumns }),
        }
      : read;
  const settings: RunSettings = {
    ...script,
    mini_batch_size: readMiniBatchSize(issues, b.at('mini_batch_size'), tabular),
    ...readFailureLimits(b),
    ...output,
    ...(appendRowFormat === undefined ? {} : { append_row_format: appendRowFormat }),
    ...(partitionKeys === undefined ? {} : { partition_keys: partitionKeys }),
    ...(carryColumns === undefined ? {} : { carry_columns: carryColumns }),
    ...readTryLimits(b),
    ...readScale(b, defaults),
    ...readLogging(b),
    ...readScriptArguments(issues, input),
    side_inputs: readSideInputs(issues, b.at('side_inputs')),
    environment_variables: readEnvironmentVariables(issues, b.at('environment_variables')),
    models: readModels(issues, b.at('models')),
    input: dataset,
    output: readOutput(issues, b.at('output')),
    compute: readCompute(issues, b.at('compute'), defaults.pools),
    allow_reuse: readAllowReuse(issues, b.at('allow_reuse')),
    ...readRunName(b),
  };
  issues.throwIfAny();
  return settings;
}

/** What a resume may change: the thresholds, the tries and the timeouts (README, "Reuse and resume"). */
export type ResumeOverrides = Partial<
  Pick<
    RunSettings,
    | 'error_threshold'
    | 'mini_batch_error_threshold'
    | 'allowed_failed_percent'
    | 'run_max_try'
    | 'run_invocation_timeout'
    | 'progress_update_timeout'
  >
>;

/** The body's names a resume takes (v1 and v2 names), each with the setting it sets. */
const RESUME_NAMES: Record<string, keyof ResumeOverrides> = {
  error_threshold: 'error_threshold',
  mini_batch_error_threshold: 'mini_batch_error_threshold',
  allowed_failed_count: 'mini_batch_error_threshold',
  allowed_failed_percent: 'allowed_failed_percent',
  run_max_try: 'run_max_try',
  run_invocation_timeout: 'run_invocation_timeout',
  progress_update_timeout: 'progress_update_timeout',
};

/**
 * A resume's body: optional new thresholds, tries and timeouts, read and checked exactly as at submit.
 * Any other setting is refused naming it: a resume keeps the run's settings, so that what it reuses
 * and what it runs again add up to one run's result.
 */
export function parseResumeOverrides(input: unknown): ResumeOverrides {
  if (input === undefined) return {};
  const allowed = [...Object.keys(RESUME_NAMES), 'retry_settings'];
  if (!isObject(input))
    throw notAnObject(
      input,
      `{} (the run's own settings) or {"error_threshold": -1}; a resume may change ${allowed.join(', ')}`,
    );
  const issues = new Issues();
  for (const key of Object.keys(input)) {
    if (allowed.includes(key)) continue;
    if (ACCEPTED_NAMES.includes(key)) {
      issues.add(
        key,
        `cannot be changed on resume: a resume keeps the run's settings; give only ${allowed.join(', ')}`,
      );
    } else {
      rejectUnknownKeys(issues, { [key]: true }, allowed);
    }
  }
  rejectNulls(issues, input, '', ['progress_update_timeout']);
  const b: Body = {
    issues,
    body: input,
    retry: readRetrySettings(issues, input),
    at: (name) => given(input, name),
  };
  const read: Required<ResumeOverrides> = { ...readFailureLimits(b), ...readTryLimits(b), ...readLogging(b) };
  issues.throwIfAny();
  const givenSettings = new Set<keyof ResumeOverrides>();
  for (const [name, setting] of Object.entries(RESUME_NAMES))
    if (Object.hasOwn(input, name)) givenSettings.add(setting);
  if (given(b.retry, 'max_retries')) givenSettings.add('run_max_try');
  if (given(b.retry, 'timeout')) givenSettings.add('run_invocation_timeout');
  const overrides: ResumeOverrides = {};
  for (const setting of givenSettings) Object.assign(overrides, { [setting]: read[setting] });
  return overrides;
}
