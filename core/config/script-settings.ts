import { isObject, type Given, type Issues } from './issues.js';
import { ENTRY_SCRIPT_RULE, readPath, SOURCE_DIRECTORY_RULE } from './paths.js';

export function readEntryScript(issues: Issues, at: Given | undefined): string {
  if (at === undefined) {
    issues.missing('entry_script', `give ${ENTRY_SCRIPT_RULE.allowed}`);
    return '';
  }
  return readPath(issues, at, ENTRY_SCRIPT_RULE) ?? '';
}

export function readSourceDirectory(issues: Issues, at: Given | undefined): string | undefined {
  return at === undefined ? undefined : readPath(issues, at, SOURCE_DIRECTORY_RULE);
}

/** `name` (latest version) or `name:version`, as `ctx.getModel()` takes them. */
const MODEL_REF = /^[a-z0-9][a-z0-9_-]{0,62}(?::[1-9]\d*)?$/i;
const MODEL_ALLOWED =
  'use "name" or "name:version": a name of 1 to 63 letters, digits, "_" and "-" starting with a letter or digit, and a version that is a positive whole number, e.g. "mnist:1"';

/**
 * Models one run may name: each is resolved, pinned and hashed into the fingerprint before the run
 * starts, so a list of thousands held the submit, and then the plan, for minutes.
 */
export const MODELS_MAX = 64;

export function readModels(issues: Issues, at: Given | undefined): string[] {
  if (at === undefined) return [];
  if (!Array.isArray(at.value)) {
    issues.notAllowed(at, 'use a list of models, e.g. ["mnist:1"]');
    return [];
  }
  const given: unknown[] = at.value;
  if (given.length > MODELS_MAX) {
    issues.add(at.field, `${given.length} models are not allowed: name at most ${MODELS_MAX}, each once`);
    return [];
  }
  const models: string[] = [];
  given.forEach((value, index) => {
    const field = `${at.field}[${index}]`;
    if (typeof value !== 'string' || !MODEL_REF.test(value))
      issues.notAllowed({ field, value }, MODEL_ALLOWED);
    else if (models.includes(value))
      issues.notAllowed(
        { field, value },
        `it is named already, at ${at.field}[${given.indexOf(value)}]: name each model once`,
      );
    else models.push(value);
  });
  return models;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const VALUE_MAX = 32_767;
/**
 * All of a run's variables together (names and values): each script process starts with them on top
 * of the host's environment, and the system refuses a process whose environment is too big (E2BIG).
 */
const VARIABLES_TOTAL_MAX = 64 * 1024;
/**
 * Variables that would change how the host itself loads code or runs (NODE_OPTIONS can preload any
 * module): settings arrive over HTTP, and no code is accepted that way.
 */
const HOST_VARIABLE = /^(?:NODE_|LD_|DYLD_|FUNCTIONS_|AZUREWEBJOBS|WEBSITE_)|^PATH$/i;
/**
 * Variables the storage clients of a script process read: which identity they sign in as and where
 * they get its tokens (Azure Identity, managed identity), the proxy they send through, and the
 * service's own settings. A script process builds its own clients (an undeclared model, a table's
 * rows): a run's settings must not turn them to another identity or through another host.
 */
const CLIENT_VARIABLE =
  /^(?:AZURE_|IDENTITY_|MSI_|IMDS_|PARALLEL_RUN_|APPSETTING_)|^(?:HTTPS?|NO|ALL)_PROXY$/i;

function variableProblem(name: string, value: unknown): string | undefined {
  if (!VARIABLE_NAME.test(name))
    return 'the name is not allowed: use letters, digits and "_", not starting with a digit';
  if (HOST_VARIABLE.test(name)) {
    return 'the name is reserved for the host: NODE_*, LD_*, DYLD_*, FUNCTIONS_*, AzureWebJobs*, WEBSITE_* and PATH';
  }
  if (CLIENT_VARIABLE.test(name)) {
    return "the name is reserved for the service's storage clients: AZURE_*, IDENTITY_*, MSI_*, IMDS_*, PARALLEL_RUN_*, APPSETTING_* and HTTP_PROXY, HTTPS_PROXY, NO_PROXY, ALL_PROXY";
  }
  if (typeof value !== 'string' || value.length > VALUE_MAX || value.includes('\u0000')) {
    return `the value is not allowed: use a string of at most ${VALUE_MAX} characters without NUL characters, e.g. "4"`;
  }
  return undefined;
}

export function readEnvironmentVariables(issues: Issues, at: Given | undefined): Record<string, string> {
  if (at === undefined) return {};
  if (!isObject(at.value)) {
    issues.notAllowed(at, 'use an object of names to string values, e.g. {"OMP_NUM_THREADS": "1"}');
    return {};
  }
  const entries = Object.entries(at.value).flatMap(([name, value]) => {
    const problem = variableProblem(name, value);
    if (problem === undefined && typeof value === 'string') return [[name, value] as const];
    issues.notAllowed({ field: `${at.field}.${name}`, value }, problem ?? '');
    return [];
  });
  const total = entries.reduce((sum, [name, value]) => sum + name.length + value.length, 0);
  if (total > VARIABLES_TOTAL_MAX) {
    issues.add(
      at.field,
      `${entries.length} variables of ${total} characters in all are not allowed: at most ${VARIABLES_TOTAL_MAX} characters of names and values together (each script process starts with them)`,
    );
    return {};
  }
  return Object.fromEntries(entries);
}
