import http from 'node:http';
import type { HttpRequest as AfHttpRequest } from '@azure/functions';
import { DevHostError, errorMessage } from '../errors.js';
import type { FunctionsLib } from '../functionsLib.js';
import type { Invoker } from '../invoker.js';
import type { Logger } from '../log.js';
import type { RegisteredFunction, Registry } from '../registry.js';
import type { HostKeys } from '../settings.js';
import { isAuthorized, parseAuthLevel, type AuthLevel } from './keys.js';
import { compileRoute, type CompiledRoute } from './routes.js';

export interface RawResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface RawRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  remoteAddress: string | undefined;
}

/** Serves a path family other than the app's routes (the durable client API, host status). */
export type ExtraHandler = (req: RawRequest) => Promise<RawResponse | undefined>;

interface HttpRoute {
  fn: RegisteredFunction;
  route: CompiledRoute;
  methods: string[];
  authLevel: AuthLevel;
}

export function jsonResponse(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): RawResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(value),
  };
}

export function errorResponse(status: number, code: string, message: string): RawResponse {
  return jsonResponse(status, { error: { code, message } });
}

export class HttpHost {
  private readonly routes: HttpRoute[] = [];
  private server: http.Server | undefined;
  private readonly extras: ExtraHandler[] = [];

  constructor(
    registry: Registry,
    private readonly invoker: Invoker,
    private readonly lib: FunctionsLib,
    private readonly routePrefix: string,
    private readonly keys: HostKeys,
    private readonly log: Logger,
  ) {
    for (const fn of registry.byTrigger('httpTrigger')) {
      try {
        const template = [routePrefix, typeof fn.trigger.route === 'string' ? fn.trigger.route : fn.name]
          .filter((s) => s !== '')
          .join('/');
        const methods = Array.isArray(fn.trigger.methods)
          ? (fn.trigger.methods as string[]).map((m) => m.toUpperCase())
          : ['GET', 'POST'];
        this.routes.push({
          fn,
          route: compileRoute(template),
          methods,
          authLevel: parseAuthLevel(fn.trigger.authLevel),
        });
      } catch (err) {
        log.error(`Function '${fn.name}' is not served: ${errorMessage(err)}`);
      }
    }
  }

  addHandler(handler: ExtraHandler): void {
    this.extras.push(handler);
  }

  describeRoutes(baseUrl: string): string[] {
    return this.routes.map((r) => `${r.fn.name}: [${r.methods.join(',')}] ${baseUrl}/${r.route.template}`);
  }

  async listen(port: number, host: string): Promise<number> {
    const server = http.createServer((req, res) => void this.serve(req, res));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new DevHostError(
                'PORT_IN_USE',
                `port ${port} on ${host} is already in use: stop the other host or pass --port <n>.`,
              )
            : err,
        );
      });
      server.listen(port, host, resolve);
    });
    this.server = server;
    const address = server.address();
    return address && typeof address === 'object' ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let response: RawResponse;
    try {
      const body = await readBody(req);
      if (body === TOO_LARGE) {
        // Said before the rest arrives; the connection closes, so the client stops sending.
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify(tooLargeResponse));
        return;
      }
      const raw: RawRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        url: new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`),
        headers: req.headers,
        body,
        remoteAddress: req.socket.remoteAddress,
      };
      response = await this.dispatch(raw);
    } catch (err) {
      this.log.error(`HTTP ${req.method ?? ''} ${req.url ?? ''} failed in the host: ${errorMessage(err)}`);
      response = errorResponse(
        500,
        'HOST_ERROR',
        'The host failed to process the request; see the devhost log.',
      );
    }
    res.writeHead(response.status, response.headers ?? {});
    res.end(response.body);
  }

  private async dispatch(req: RawRequest): Promise<RawResponse> {
    const badEscape = malformedEscape(req.url.pathname);
    if (badEscape !== undefined) {
      // As the real host: a path that does not decode is a bad request, not a route to guess at.
      return errorResponse(
        400,
        'BAD_REQUEST',
        `The path segment '${badEscape.slice(0, 80)}' has a malformed %-escape: write "%" as "%25".`,
      );
    }
    for (const extra of this.extras) {
      const handled = await extra(req);
      if (handled) return handled;
    }
    const path = req.url.pathname;
    const matches = this.routes
      .map((r) => ({ r, params: r.route.match(path) }))
      .filter((m): m is { r: HttpRoute; params: Record<string, string> } => m.params !== undefined);
    if (matches.length === 0) {
      return errorResponse(404, 'NOT_FOUND', `No function is listening at ${req.method} ${path}.`);
    }
    const hit = matches.find((m) => m.r.methods.includes(req.method));
    if (!hit) {
      const allowed = [...new Set(matches.flatMap((m) => m.r.methods))];
      return {
        ...errorResponse(
          405,
          'METHOD_NOT_ALLOWED',
          `${path} accepts ${allowed.join(', ')}, not ${req.method}.`,
        ),
        headers: { 'content-type': 'application/json; charset=utf-8', allow: allowed.join(', ') },
      };
    }
    const presented = req.url.searchParams.get('code') ?? headerValue(req.headers['x-functions-key']);
    if (!isAuthorized(this.keys, hit.r.authLevel, hit.r.fn.name, presented)) {
      return errorResponse(
        401,
        'UNAUTHORIZED',
        `Function '${hit.r.fn.name}' needs a ${hit.r.authLevel} key: pass ?code= or x-functions-key.`,
      );
    }
    return this.invoke(hit.r.fn, req, hit.params);
  }

  private async invoke(
    fn: RegisteredFunction,
    req: RawRequest,
    params: Record<string, string>,
  ): Promise<RawResponse> {
    const request = toFunctionsRequest(this.lib, req, params);
    const outcome = await this.invoker.invoke(fn, request, { triggerMetadata: { ...params } });
    if (!outcome.ok) {
      return errorResponse(
        500,
        'FUNCTION_FAILED',
        `Function '${fn.name}' failed; see the host log for invocation ${outcome.context.invocationId}.`,
      );
    }
    const value = outcome.value;
    if (value === undefined || value === null) return { status: 204 };
    if (typeof value !== 'object') {
      this.log.error(
        `Function '${fn.name}' returned a ${typeof value}: an HTTP function must return an HttpResponse or an object with body, status, headers.`,
      );
      return errorResponse(
        500,
        'BAD_RESPONSE',
        `Function '${fn.name}' returned an invalid HTTP response; see the host log.`,
      );
    }
    const response = value instanceof this.lib.HttpResponse ? value : new this.lib.HttpResponse(value);
    const headers: Record<string, string> = {};
    response.headers.forEach((v, k) => (headers[k] = v));
    const body = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, headers, body };
  }
}

/** The first path segment that does not percent-decode, if any. */
function malformedEscape(pathname: string): string | undefined {
  return pathname.split('/').find((segment) => {
    try {
      decodeURIComponent(segment);
      return false;
    } catch {
      return true;
    }
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function toFunctionsRequest(
  lib: FunctionsLib,
  req: RawRequest,
  params: Record<string, string>,
): AfHttpRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  const query: Record<string, string> = {};
  req.url.searchParams.forEach((v, k) => {
    query[k] = k in query ? `${query[k] ?? ''},${v}` : v;
  });
  return new lib.HttpRequest({
    method: req.method,
    url: req.url.href,
    headers,
    query,
    params,
    ...(req.body.length > 0 ? { body: { bytes: req.body } } : {}),
  });
}

/** The Functions host's default limit on a request body (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT): 100 MB. */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;
const TOO_LARGE = Symbol('too large');
const tooLargeResponse = {
  error: {
    code: 'TOO_LARGE',
    message: `the request body is over ${MAX_BODY_BYTES} bytes, the Functions host's limit`,
  },
};

/** The body, or TOO_LARGE as soon as it is known to pass the limit (declared, or read so far). */
async function readBody(req: http.IncomingMessage): Promise<Buffer | typeof TOO_LARGE> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return TOO_LARGE;
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_BODY_BYTES) return TOO_LARGE;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
