/**
 * Pipelines (README, "A run"): settings with named parameters, published once and run many times with
 * other values, as ParallelRunStep users do with PipelineParameter. A parameter is used in settings
 * as `"${{parameters.NAME}}"`, the Azure ML v2 syntax.
 */
import { SettingsError } from '../errors.js';
import { given, Issues, isObject, rejectNulls, rejectUnknownKeys, type JsonObject } from './issues.js';
import { readInbox, type InboxSettings } from './inbox.js';
import { parseRunSettings, type RunSettings } from './settings.js';
import { suggestName } from './suggest.js';

export interface ParameterDefinition {
  default?: unknown;
  description?: string;
}

export interface PipelineDefinition {
  name: string;
  settings: object;
  parameters: Record<string, ParameterDefinition>;
  /** Files dropped under `inbox/<name>/` start runs of it (core/inbox). Absent: no inbox. */
  inbox?: InboxSettings;
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const WHOLE_REFERENCE = new RegExp(`^\\$\\{\\{\\s*parameters\\.(${NAME})\\s*\\}\\}$`);
const REFERENCE = new RegExp(`\\$\\{\\{\\s*parameters\\.(${NAME})\\s*\\}\\}`, 'g');
const PARAMETER_NAME = new RegExp(`^${NAME}$`);
/** Pipeline names become blob names (`pipelines/<name>.json`, `inbox/<name>/`). */
export const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** What PIPELINE_NAME allows, as every refusal of a pipeline name says it. */
export const PIPELINE_NAME_ALLOWED =
  'use 1 to 63 letters, digits, "_" and "-", starting with a letter or digit, e.g. "mnist"';
/** `$schema` lets an editor check a pipeline file; it means nothing to the pipeline. */
const PIPELINE_KEYS = ['$schema', 'name', 'settings', 'parameters', 'inbox'];

export function isPipelineName(name: string): boolean {
  return PIPELINE_NAME.test(name);
}
const PARAMETER_KEYS = ['default', 'description'];

/** Calls `visit` with every string in `value` and its dotted field, e.g. `settings.input.path`. */
function forEachString(value: unknown, field: string, visit: (text: string, field: string) => void): void {
  if (typeof value === 'string') visit(value, field);
  else if (Array.isArray(value))
    value.forEach((item: unknown, i) => forEachString(item, `${field}[${i}]`, visit));
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) forEachString(v, `${field}.${k}`, visit);
}

/** Inside a longer string a value becomes text; objects as JSON rather than "[object Object]". */
function asText(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** One pass: a parameter's value that itself looks like a reference is left as it is. */
function substitute(value: unknown, lookup: (name: string) => unknown): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_REFERENCE.exec(value);
    if (whole) return lookup(whole[1] ?? '');
    return value.replace(REFERENCE, (_match, name: string) => asText(lookup(name)));
  }
  if (Array.isArray(value)) return value.map((item: unknown) => substitute(item, lookup));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, lookup)]));
  return value;
}

/**
 * Replaces `"${{parameters.NAME}}"`: a whole string by the parameter's value, keeping its type (a number
 * stays a number); inside a longer string by its text. A parameter used but not given is a SettingsError.
 */
export function resolveParameters(template: unknown, parameters: Record<string, unknown>): unknown {
  const missing = new Set<string>();
  const resolved = substitute(template, (name) => {
    if (Object.hasOwn(parameters, name)) return parameters[name];
    missing.add(name);
    return undefined;
  });
  if (missing.size > 0) {
    throw new SettingsError(
      [...missing].map((name) => ({ field: `parameters.${name}`, message: 'missing: give a value' })),
    );
  }
  return resolved;
}

/** Every parameter name the template uses, with the first field that uses it. */
export function usedParameters(template: unknown, field = 'settings'): Map<string, string> {
  const used = new Map<string, string>();
  forEachString(template, field, (text, at) => {
    for (const match of text.matchAll(REFERENCE)) {
      const name = match[1] ?? '';
      if (!used.has(name)) used.set(name, at);
    }
  });
  return used;
}

function readParameter(issues: Issues, name: string, value: unknown): ParameterDefinition | undefined {
  const field = `parameters.${name}`;
  if (!PARAMETER_NAME.test(name)) {
    issues.add(field, 'this name is not allowed: use letters, digits and "_", not starting with a digit');
    return undefined;
  }
  if (!isObject(value)) {
    issues.notAllowed(
      { field, value },
      'use an object such as {"default": 10, "description": "files per mini-batch"}',
    );
    return undefined;
  }
  rejectUnknownKeys(issues, value, PARAMETER_KEYS, `${field}.`);
  // A null default is a value like any other: it is what the settings get.
  rejectNulls(issues, value, `${field}.`, ['default']);
  const description = given(value, 'description', `${field}.`);
  if (description !== undefined && typeof description.value !== 'string')
    issues.notAllowed(description, 'use a string');
  return {
    ...(Object.hasOwn(value, 'default') ? { default: value.default } : {}),
    ...(typeof description?.value === 'string' ? { description: description.value } : {}),
  };
}

function readParameters(issues: Issues, body: JsonObject): Record<string, ParameterDefinition> {
  const at = given(body, 'parameters');
  if (at === undefined) return {};
  if (!isObject(at.value)) {
    issues.notAllowed(at, 'use an object of parameter names, e.g. {"batch_size": {"default": 10}}');
    return {};
  }
  const entries = Object.entries(at.value).flatMap(([name, value]) => {
    const parameter = readParameter(issues, name, value);
    return parameter === undefined ? [] : [[name, parameter] as const];
  });
  return Object.fromEntries(entries);
}

/** Used and declared parameters must match: an undeclared one cannot be given, an unused one would do nothing. */
function checkParameterUse(
  issues: Issues,
  settings: object,
  parameters: Record<string, ParameterDefinition>,
): void {
  const declared = Object.keys(parameters);
  const used = usedParameters(settings);
  for (const [name, field] of used) {
    if (declared.includes(name)) continue;
    const suggestion = suggestName(name, declared);
    const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
    issues.add(field, `uses parameter "${name}", which is not declared in "parameters"${hint}`);
  }
  for (const name of declared.filter((n) => !used.has(n))) {
    issues.add(
      `parameters.${name}`,
      `declared but not used in settings: use it as "\${{parameters.${name}}}" or remove it`,
    );
  }
}

/**
 * Every `${{` must open a whole reference: a nested one (`${{parameters.${{parameters.a}}}}`) or one
 * never closed would be left half resolved, as literal text in the run's settings.
 */
function checkReferenceSyntax(issues: Issues, settings: object): void {
  forEachString(settings, 'settings', (text, field) => {
    if (!text.replace(REFERENCE, '').includes('${{')) return;
    issues.add(
      field,
      `holds "\${{" that does not open a reference: write each one whole as "\${{parameters.NAME}}" (NAME of letters, digits and "_"), closed, and not inside another`,
    );
  });
}

/**
 * An inbox run reads the dropped files as a files input (core/inbox/run.ts replaces the pipeline's
 * input with them): a table pipeline's runs would get paths, not rows, and its table settings
 * (partition_keys, carry_columns, a byte mini_batch_size) would not apply. Refused, naming `inbox`.
 */
function checkInboxInput(issues: Issues, settings: RunSettings): void {
  if (settings.input.type !== 'table') return;
  issues.add(
    'inbox',
    'applies to pipelines whose input is files (input.type "files"): an inbox run hands its script the dropped files as paths, never a table\'s rows; leave "inbox" out of a table pipeline, or give it a files input',
  );
}

/**
 * With every parameter defaulted, the settings can be checked now rather than at the first run (an
 * inbox pipeline always can be: its runs use the defaults).
 */
function checkSettingsWithDefaults(issues: Issues, pipeline: PipelineDefinition): void {
  const values = Object.entries(pipeline.parameters);
  if (!values.every(([, p]) => Object.hasOwn(p, 'default'))) return;
  try {
    const settings = parseRunSettings(
      resolveParameters(pipeline.settings, Object.fromEntries(values.map(([n, p]) => [n, p.default]))),
    );
    if (pipeline.inbox) checkInboxInput(issues, settings);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    for (const issue of err.issues) issues.add(`settings.${issue.field}`, issue.message);
  }
}

/** A run started by a drop has nobody to give parameters: each needs a default. */
function checkInboxDefaults(issues: Issues, parameters: Record<string, ParameterDefinition>): void {
  for (const [name, parameter] of Object.entries(parameters)) {
    if (Object.hasOwn(parameter, 'default')) continue;
    issues.add(
      `parameters.${name}`,
      'has no default: runs started by the inbox use the defaults, so a pipeline with "inbox" gives every parameter one',
    );
  }
}

function readSettingsTemplate(issues: Issues, body: JsonObject): JsonObject | undefined {
  const at = given(body, 'settings');
  if (at !== undefined && isObject(at.value)) return at.value;
  if (at === undefined)
    issues.missing('settings', 'give the run settings as an object, e.g. {"entry_script": "score.js", ...}');
  else issues.notAllowed(at, 'give the run settings as an object, e.g. {"entry_script": "score.js", ...}');
  return undefined;
}

/** Validates a pipeline definition, e.g. the body of `PUT /api/pipelines/{name}`. */
export function parsePipeline(input: unknown, name: string): PipelineDefinition {
  const issues = new Issues();
  if (!PIPELINE_NAME.test(name)) {
    issues.notAllowed({ field: 'name', value: name }, PIPELINE_NAME_ALLOWED);
  }
  if (!isObject(input)) {
    issues.notAllowed(
      { field: '(body)', value: input },
      'send a JSON object such as {"settings": {...}, "parameters": {...}}',
    );
    throw new SettingsError(issues.list);
  }
  rejectUnknownKeys(issues, input, PIPELINE_KEYS);
  rejectNulls(issues, input);
  const givenName = given(input, 'name');
  if (givenName !== undefined && givenName.value !== name) {
    issues.notAllowed(
      givenName,
      `the pipeline is named "${name}" by its URL; leave "name" out or give the same`,
    );
  }
  const settings = readSettingsTemplate(issues, input);
  if (settings === undefined) throw new SettingsError(issues.list);
  const inbox = readInbox(issues, given(input, 'inbox'));
  const pipeline: PipelineDefinition = {
    name,
    settings,
    parameters: readParameters(issues, input),
    ...(inbox ? { inbox } : {}),
  };
  checkReferenceSyntax(issues, pipeline.settings);
  checkParameterUse(issues, pipeline.settings, pipeline.parameters);
  if (inbox) checkInboxDefaults(issues, pipeline.parameters);
  if (issues.list.length === 0) checkSettingsWithDefaults(issues, pipeline);
  issues.throwIfAny();
  return pipeline;
}

/** The settings of one run of `pipeline`: its defaults, overridden by `overrides`, substituted in. */
export function settingsForRun(pipeline: PipelineDefinition, overrides: Record<string, unknown>): unknown {
  const issues = new Issues();
  const declared = Object.keys(pipeline.parameters);
  for (const name of Object.keys(overrides).filter((n) => !declared.includes(n))) {
    const suggestion = suggestName(name, declared);
    const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
    issues.add(`parameters.${name}`, `not a parameter of pipeline "${pipeline.name}"${hint}`);
  }
  // A Map, then fromEntries: a parameter named `__proto__` stays an ordinary key.
  const values = new Map<string, unknown>();
  for (const [name, parameter] of Object.entries(pipeline.parameters)) {
    if (Object.hasOwn(overrides, name)) values.set(name, overrides[name]);
    else if (Object.hasOwn(parameter, 'default')) values.set(name, parameter.default);
    else
      issues.missing(
        `parameters.${name}`,
        `pipeline "${pipeline.name}" has no default for it; give it in "parameters"`,
      );
  }
  issues.throwIfAny();
  return resolveParameters(pipeline.settings, Object.fromEntries(values));
}
