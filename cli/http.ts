import type { ApiProblem } from './wire.js';

/** Bad usage, an unreachable service or a refusal by the API: exit code 3, with this message. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** The API answered an error: its own code, message and fields, shown as it gave them. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: ApiProblem,
  ) {
    super(problem.message);
  }
}

export interface Endpoint {
  /** e.g. `http://localhost:7071`, without a trailing slash. */
  url: string;
  /** Sent as `x-functions-key`. */
  key?: string;
}

function problemOf(status: number, text: string): ApiProblem {
  try {
    const body = JSON.parse(text) as { error?: ApiProblem };
    if (body.error && typeof body.error.message === 'string') return body.error;
  } catch {
    // not JSON: the text itself is the message
  }
  return { code: `HTTP_${status}`, message: text.trim() || `the service answered ${status}` };
}

/** The service over HTTP: every non-2xx reply becomes an ApiError, a network failure a CliError. */
export class Api {
  constructor(readonly endpoint: Endpoint) {}

  async send(method: string, path: string, body?: string | Uint8Array, type?: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.endpoint.url}${path}`, {
        method,
        headers: {
          ...(this.endpoint.key ? { 'x-functions-key': this.endpoint.key } : {}),
          ...(type ? { 'content-type': type } : {}),
        },
        ...(body === undefined ? {} : { body }),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new CliError(
        `cannot reach ${this.endpoint.url}${cause}. Is the service running (npm start)? Set the address with --url or PARALLEL_RUN_URL.`,
      );
    }
    if (res.ok) return res;
    throw new ApiError(res.status, problemOf(res.status, await res.text()));
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? undefined : 'application/json',
    );
    return (await res.json()) as T;
  }

  async text(path: string): Promise<string> {
    return (await this.send('GET', path)).text();
  }
}

/**
 * A name as one segment of an API path. `encodeURIComponent` leaves "." and ".." as they are, and
 * the URL resolves them away (`status ..` would GET /api/, `pipelines run ..` would POST /api/runs):
 * they, and an empty name, are refused here, naming the argument.
 */
export function pathSegment(value: string, what: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new CliError(
      `<${what}> '${value}' is not allowed: give a name of letters, digits, "_" and "-", as the service lists it`,
    );
  }
  return encodeURIComponent(value);
}

export const runPath = (runId: string, tail = '') => `/api/runs/${pathSegment(runId, 'runId')}${tail}`;
