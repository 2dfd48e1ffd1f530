import type { HttpRequest } from '@azure/functions';
import { show } from '../../core/config/issues.js';
import { PIPELINE_NAME, PIPELINE_NAME_ALLOWED } from '../../core/config/parameters.js';
import { ParallelRunError } from '../../core/errors.js';

/** Run ids are made by the service (`mnist-tutorial-20240101-120000-a1b2c3`): this charset and no more. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

function param(request: HttpRequest, name: string, pattern: RegExp, what: string, allowed: string): string {
  const value = request.params[name] ?? '';
  if (pattern.test(value)) return value;
  throw new ParallelRunError('INVALID_REQUEST', `${what} ${show(value)} is not allowed: ${allowed}`, name);
}

/** `{id}` of /api/runs/{id}…: checked before it reaches the durable client or a blob name. */
export function runIdParam(request: HttpRequest): string {
  return param(
    request,
    'id',
    RUN_ID,
    'run id',
    'a run id is 1 to 100 letters, digits, "_" and "-", starting with a letter or digit, as POST /api/runs answered it, e.g. "run-20240101-120000-a1b2c3"',
  );
}

/** `{name}` of /api/pipelines/{name}…. */
export function pipelineNameParam(request: HttpRequest): string {
  return param(request, 'name', PIPELINE_NAME, 'pipeline name', PIPELINE_NAME_ALLOWED);
}

/** `code` (and the key's name, `clientId`) is the function key in Azure: it reaches every route. */
const KEY_PARAMETERS = ['code', 'clientid'];

/**
 * The request's query, refused when it names a parameter the route does not take: a misspelled one
 * (`versoin=7`, `hed=2`) would otherwise be ignored, and the request do what was not asked.
 */
export function knownQuery(request: HttpRequest, takes: readonly string[]): [string, string][] {
  const entries = [...request.query.entries()];
  for (const [name] of entries) {
    // The host takes the key's parameters in any case (`Code=`).
    if (takes.includes(name) || KEY_PARAMETERS.includes(name.toLowerCase())) continue;
    const allowed = takes.length === 0 ? 'it takes none' : `it takes ${takes.join(', ')}`;
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `query parameter ${show(name)} is not known here: ${allowed}`,
      name,
    );
  }
  return entries.filter(([name]) => takes.includes(name));
}
