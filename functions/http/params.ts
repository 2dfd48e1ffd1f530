import type { HttpRequest } from '@azure/functions';
import { show } from '../../core/config/issues.js';
import { ParallelRunError } from '../../core/errors.js';

/** Run ids are made by the service (`mnist-tutorial-20240101-120000-a1b2c3`): this charset and no more. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** As `parsePipeline` takes them: pipeline names become blob names. */
const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

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
  return param(
    request,
    'name',
    PIPELINE_NAME,
    'pipeline name',
    'use 1 to 63 letters, digits, "_" and "-", starting with a letter or digit, e.g. "mnist"',
  );
}
