import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { ParallelRunError, SettingsError, errorMessage, type ErrorCode } from '../../core/errors.js';

const statusFor: Record<ErrorCode, number> = {
  INVALID_SETTINGS: 400,
  INVALID_REQUEST: 400,
  EMPTY_DATASET: 400,
  SCRIPT_ERROR: 400,
  MODEL_NOT_FOUND: 400,
  NOT_SUPPORTED: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  CONFIGURATION: 503,
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers };
}

export function problem(status: number, code: string, message: string, field?: string): HttpResponseInit {
  return json(status, { error: { code, message, ...(field ? { field } : {}) } });
}

/**
 * The API boundary: known errors become `{error: {code, message, field?}}` with 400/404/409;
 * anything else is logged with its stack and answered 500 without it.
 */
export function errorToResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  if (err instanceof SettingsError) {
    return json(400, {
      error: { code: err.code, message: err.message, field: err.field, issues: err.issues },
    });
  }
  if (err instanceof ParallelRunError) {
    return problem(statusFor[err.code], err.code, err.message, err.field);
  }
  context.error(err instanceof Error ? (err.stack ?? err.message) : errorMessage(err));
  return problem(
    500,
    'INTERNAL',
    `the request failed inside the service; see the function log for invocation ${context.invocationId}`,
  );
}

/** Wraps a handler so no error escapes as a stack trace. */
export function guarded<A extends unknown[]>(
  handler: (...args: A) => Promise<HttpResponseInit>,
): (...args: A) => Promise<HttpResponseInit> {
  return async (...args: A) => {
    try {
      return await handler(...args);
    } catch (err) {
      const context = args.find(
        (a): a is InvocationContext => typeof a === 'object' && a !== null && 'invocationId' in a,
      );
      if (!context) throw err;
      return errorToResponse(err, context);
    }
  };
}

/** Deeper than any settings need; recursion over a deeper value could exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply the JSON text nests arrays and objects, counted outside strings, stopping once past `max`:
 * checked before JSON.parse, so a body 100,000 levels deep is refused before anything walks it.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Settings, pipelines and resume overrides are a few KB: a body over this is refused, unparsed. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

function tooLarge(bytes: number): ParallelRunError {
  return new ParallelRunError(
    'TOO_LARGE',
    `the request body is ${bytes} bytes: at most ${MAX_JSON_BODY_BYTES} (1 MB) of JSON settings are taken`,
    'body',
  );
}

/** Strict: bytes that are not UTF-8 are refused, never replaced (a byte-order mark is dropped, as before). */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A JSON request's body as text, refused by its declared length before it is read where it can be. */
export async function bodyText(request: HttpRequest): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > MAX_JSON_BODY_BYTES) throw tooLarge(declared);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_JSON_BODY_BYTES) throw tooLarge(bytes.byteLength);
  try {
    return utf8.decode(bytes);
  } catch {
    // Read with replacement characters, a Latin-1 "café" in a run name or path would be taken as another name.
    throw new ParallelRunError(
      'INVALID_REQUEST',
      'the request body is not valid UTF-8: send JSON text encoded in UTF-8',
      'body',
    );
  }
}

/** `expected`: what the route takes, as its empty-body refusal says, e.g. "the run settings". */
export function readJsonBody(text: string, expected = 'the run settings'): unknown {
  if (text.trim() === '')
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `the request body is empty: send ${expected} as a JSON object`,
    );
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH))
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `the request body nests objects and lists more than ${MAX_JSON_DEPTH} levels deep: settings need a few levels`,
      'body',
    );
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `the request body is not valid JSON (${errorMessage(err)})`,
    );
  }
}
