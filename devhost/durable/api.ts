import { DevHostError, errorMessage } from '../errors.js';
import { errorResponse, jsonResponse, type RawRequest, type RawResponse } from '../http/server.js';
import type { DurableEngine } from './engine.js';
import type { InstanceFilter, RuntimeStatus } from './store.js';

/** Where the durable client API is served: the public webhook path, and the loopback-only RPC path. */
export const WEBHOOK_PATH = '/runtime/webhooks/durabletask/';
export const RPC_PATH = '/durabletask/';

const statuses: RuntimeStatus[] = [
  'Pending',
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Terminated',
];

export interface ClientUrls {
  /** Origin the app's callers reach, e.g. http://localhost:7071 */
  publicOrigin: string;
  /** Origin for the library's own calls, e.g. http://127.0.0.1:7071 */
  rpcOrigin: string;
  taskHub: string;
  /** Put into management URLs when keys are enforced, as the real host puts its system key. */
  code?: string;
}

/** The durableClient input binding value (EXT OrchestrationClientInputData). */
export function durableClientData(urls: ClientUrls): Record<string, unknown> {
  const base = `${urls.publicOrigin}${WEBHOOK_PATH}`;
  const qs = `taskHub=${encodeURIComponent(urls.taskHub)}&connection=Storage${urls.code ? `&code=${encodeURIComponent(urls.code)}` : ''}`;
  const instance = `${base}instances/INSTANCEID`;
  return {
    taskHubName: urls.taskHub,
    creationUrls: {
      createNewInstancePostUri: `${base}orchestrators/{functionName}[/{instanceId}]?${qs}`,
      createAndWaitOnNewInstancePostUri: `${base}orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${qs}`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${instance}?${qs}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${qs}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${qs}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${qs}`,
      purgeHistoryDeleteUri: `${instance}?${qs}`,
      restartPostUri: `${instance}/restart?${qs}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${qs}`,
      resumePostUri: `${instance}/resume?reason={text}&${qs}`,
    },
    baseUrl: base.slice(0, -1),
    requiredQueryStringParameters: qs,
    rpcBaseUrl: `${urls.rpcOrigin}${RPC_PATH}`,
    httpBaseUrl: base.slice(0, -1),
  };
}

function checkStatusPayload(urls: ClientUrls, id: string): Record<string, string> {
  const data = durableClientData(urls).managementUrls as Record<string, string>;
  const out: Record<string, string> = { id };
  for (const [k, v] of Object.entries(data))
    if (k !== 'id') out[k] = v.replace('INSTANCEID', encodeURIComponent(id));
  return out;
}

function parseBody(req: RawRequest): unknown {
  if (req.body.length === 0) return undefined;
  const text = req.body.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (err) {
    throw new DevHostError(
      'BAD_REQUEST',
      `The request body is not valid JSON (${errorMessage(err)}); send JSON, or no body.`,
    );
  }
  try {
    // Parsing is not recursive, but storing the body in history is: refuse what cannot be stored.
    JSON.stringify(body);
  } catch {
    throw new DevHostError(
      'BAD_REQUEST',
      'The request body nests too deeply to be stored; send flatter JSON.',
    );
  }
  return body;
}

function parseFilter(q: URLSearchParams): InstanceFilter {
  const filter: InstanceFilter = {};
  const runtime = q.get('runtimeStatus');
  if (runtime) {
    const wanted = runtime.split(',').map((s) => s.trim());
    const bad = wanted.filter((s) => !statuses.includes(s as RuntimeStatus));
    if (bad.length)
      throw new DevHostError(
        'BAD_REQUEST',
        `runtimeStatus '${bad.join(',')}' is not one of ${statuses.join(', ')}.`,
      );
    filter.runtimeStatus = wanted as RuntimeStatus[];
  }
  for (const [key, field] of [
    ['createdTimeFrom', 'createdFrom'],
    ['createdTimeTo', 'createdTo'],
  ] as const) {
    const v = q.get(key);
    if (!v) continue;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new DevHostError('BAD_REQUEST', `${key} '${v}' is not a date.`);
    filter[field] = d;
  }
  return filter;
}

const statusCodes: Partial<Record<DevHostError['code'], number>> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  GONE: 410,
  UNSUPPORTED: 501,
};

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** Serves the durable client HTTP API (the shapes durable-functions' DurableClient calls). */
export function durableApi(engine: DurableEngine, urls: () => ClientUrls, masterKey: string | undefined) {
  return async (req: RawRequest): Promise<RawResponse | undefined> => {
    const path = req.url.pathname;
    let rest: string;
    if (path.startsWith(WEBHOOK_PATH)) {
      rest = path.slice(WEBHOOK_PATH.length);
      const code = req.url.searchParams.get('code') ?? req.headers['x-functions-key'];
      if (masterKey !== undefined && code !== masterKey) {
        return errorResponse(401, 'UNAUTHORIZED', 'The durable task API needs the master key: pass ?code=.');
      }
    } else if (path.startsWith(RPC_PATH)) {
      if (!isLoopback(req.remoteAddress))
        return errorResponse(403, 'FORBIDDEN', 'The durable RPC endpoint answers only on loopback.');
      rest = path.slice(RPC_PATH.length);
    } else {
      return undefined;
    }
    try {
      return await route(
        engine,
        urls(),
        req,
        rest
          .split('/')
          .filter((s) => s !== '')
          .map(decodeURIComponent),
      );
    } catch (err) {
      if (err instanceof DevHostError)
        return errorResponse(statusCodes[err.code] ?? 400, err.code, err.message);
      throw err;
    }
  };
}

async function route(
  engine: DurableEngine,
  urls: ClientUrls,
  req: RawRequest,
  parts: string[],
): Promise<RawResponse> {
  const q = req.url.searchParams;
  const [head, id, verb, name] = parts;
  const m = req.method;
  if (head === 'orchestrators' && id && m === 'POST' && parts.length <= 3) {
    const input = parseBody(req);
    const instanceId = await engine.startNew(id, verb, input);
    const payload = checkStatusPayload(urls, instanceId);
    return jsonResponse(202, payload, { location: payload.statusQueryGetUri ?? '', 'retry-after': '10' });
  }
  if (head !== 'instances') throw new DevHostError('NOT_FOUND', `No durable API at ${req.url.pathname}.`);
  if (!id) {
    const filter = parseFilter(q);
    if (m === 'GET') return jsonResponse(200, await engine.listStatus(filter));
    if (m === 'DELETE') {
      const n = await engine.purgeBy(filter);
      return n > 0
        ? jsonResponse(200, { instancesDeleted: n })
        : errorResponse(404, 'NOT_FOUND', 'No instance matches the filter.');
    }
  } else if (!verb) {
    if (m === 'GET') {
      const wait = Number(q.get('waitForCompletionSeconds') ?? '0');
      if (wait > 0) await engine.waitForCompletion(id, Math.min(wait, 600) * 1000);
      const status = await engine.getStatus(id, {
        showHistory: q.get('showHistory') === 'true',
        showHistoryOutput: q.get('showHistoryOutput') === 'true',
        showInput: q.get('showInput') !== 'false',
      });
      if (!status) return errorResponse(404, 'NOT_FOUND', `No instance with ID '${id}' was found.`);
      const running = ['Pending', 'Running', 'ContinuedAsNew'].includes(status.runtimeStatus);
      return jsonResponse(running ? 202 : 200, status, running ? { 'retry-after': '5' } : {});
    }
    if (m === 'DELETE') {
      const n = await engine.purge(id);
      return n > 0
        ? jsonResponse(200, { instancesDeleted: n })
        : errorResponse(404, 'NOT_FOUND', `No instance with ID '${id}' was found.`);
    }
  } else if (m === 'POST' && verb === 'raiseEvent' && name) {
    await engine.raiseEvent(id, name, parseBody(req));
    return { status: 202 };
  } else if (m === 'POST' && verb === 'terminate') {
    await engine.terminate(id, q.get('reason') ?? '');
    return { status: 202 };
  } else if (m === 'POST' && ['suspend', 'resume', 'rewind', 'restart'].includes(verb)) {
    throw new DevHostError('UNSUPPORTED', `'${verb}' is not supported by the devhost.`);
  }
  throw new DevHostError('NOT_FOUND', `No durable API for ${m} ${req.url.pathname}.`);
}
