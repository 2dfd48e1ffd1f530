import path from 'node:path';
import { connectionStringFor } from './azurite.js';
import { DurableEngine } from './durable/engine.js';
import { durableApi, durableClientData, type ClientUrls } from './durable/api.js';
import { DurableStore } from './durable/store.js';
import { DevHostError, errorMessage } from './errors.js';
import { loadFunctionsLib } from './functionsLib.js';
import { isAuthorized } from './http/keys.js';
import { errorResponse, HttpHost, jsonResponse, type RawRequest, type RawResponse } from './http/server.js';
import { Invoker } from './invoker.js';
import { loadApp } from './loader.js';
import { createLogger, type Logger, type LogLevel } from './log.js';
import { Registry } from './registry.js';
import { loadHostSettings, loadLocalSettings, type HostKeys } from './settings.js';
import { BlobTriggers } from './triggers/blob.js';
import { QueueTriggers } from './triggers/queue.js';

export interface DevHostOptions {
  /** Folder with the app's package.json and host.json. */
  appRoot: string;
  /** HTTP port; 0 picks a free one. Default: local.settings.json Host.LocalHttpPort, else 7071. */
  port?: number;
  /** Address to bind; default 127.0.0.1. */
  bind?: string;
  /** Storage connection string; default: AzureWebJobsStorage. */
  storage?: string;
  logLevel?: LogLevel;
  logger?: Logger;
  keys?: HostKeys;
  /** Overrides host.json durableTask.hubName (several hosts on one storage account). */
  hubName?: string;
  /** Another local.settings.json than the one in appRoot. */
  localSettingsFile?: string;
}

export interface DevHost {
  readonly port: number;
  readonly baseUrl: string;
  readonly registry: Registry;
  stop(): Promise<void>;
}

function resolveStorage(value: string | undefined): string {
  if (!value) {
    throw new DevHostError(
      'BAD_REQUEST',
      'No storage: set AzureWebJobsStorage in local.settings.json Values, or pass --storage.',
    );
  }
  return value.trim().toLowerCase() === 'usedevelopmentstorage=true'
    ? connectionStringFor({ blob: 10000, queue: 10001, table: 10002 })
    : value;
}

/** Applies local.settings.json Values as environment variables (without overriding ones already set), as Core Tools does. */
function applyLocalValues(values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) if (process.env[k] === undefined) process.env[k] = v;
  process.env.FUNCTIONS_WORKER_RUNTIME ??= 'node';
  // durable-functions talks to the host over HTTP; never through a proxy.
  process.env.NO_PROXY = ['127.0.0.1', 'localhost', process.env.NO_PROXY].filter(Boolean).join(',');
}

export async function startDevHost(options: DevHostOptions): Promise<DevHost> {
  const appRoot = path.resolve(options.appRoot);
  const log = options.logger ?? createLogger(options.logLevel ?? 'info');
  const local = loadLocalSettings(options.localSettingsFile ?? path.join(appRoot, 'local.settings.json'));
  applyLocalValues(local.values);
  const storage = resolveStorage(options.storage ?? process.env.AzureWebJobsStorage);
  process.env.AzureWebJobsStorage = storage;
  const settings = loadHostSettings(appRoot);
  if (options.hubName) settings.durable.hubName = options.hubName;
  const keys = options.keys ?? local.keys;

  let registry = new Registry();
  try {
    registry = (await loadApp(appRoot, log)).registry;
  } catch (err) {
    log.error(errorMessage(err));
  }

  const lib = loadFunctionsLib(appRoot);
  const client: { urls?: ClientUrls } = {};
  const invoker = new Invoker(lib, log, () => {
    if (!client.urls) throw new Error('durable client used before the host listens');
    return durableClientData(client.urls);
  });
  const store = await DurableStore.open(storage, settings.durable.hubName);
  const engine = new DurableEngine(store, registry, invoker, log, settings.durable);
  const http = new HttpHost(registry, invoker, lib, settings.routePrefix, keys, log);
  http.addHandler(durableApi(engine, () => client.urls as ClientUrls, keys.master));
  http.addHandler((req) =>
    Promise.resolve(
      req.url.pathname === '/admin/host/status'
        ? jsonResponse(200, { state: 'Running', functions: registry.all().length })
        : undefined,
    ),
  );
  const blobs = new BlobTriggers(registry, invoker, storage, log);
  http.addHandler((req) => adminInvoke(req, keys, blobs));
  const bind = options.bind ?? '127.0.0.1';
  const port = await http.listen(options.port ?? local.port ?? 7071, bind);
  const publicHost = bind === '0.0.0.0' || bind === '127.0.0.1' ? 'localhost' : bind;
  const urls: ClientUrls = {
    publicOrigin: `http://${publicHost}:${port}`,
    rpcOrigin: `http://127.0.0.1:${port}`,
    taskHub: settings.durable.hubName,
    ...(keys.master ? { code: keys.master } : {}),
  };
  // As Core Tools does; it also keeps durable-functions from rewriting its URLs to :7071.
  client.urls = urls;
  process.env.WEBSITE_HOSTNAME = `localhost:${port}`;

  const queues = new QueueTriggers(registry, invoker, storage, settings.queues, log);
  const recovered = await engine.recover();
  queues.start();
  blobs.start();
  printBanner(log, http.describeRoutes(urls.publicOrigin), registry, recovered, settings.durable.hubName);
  await runHooks(registry, 'appStart', log);

  return {
    port,
    baseUrl: urls.publicOrigin,
    registry,
    async stop() {
      await http.close();
      await Promise.all([queues.stop(), blobs.stop()]);
      await engine.stop();
      await runHooks(registry, 'appTerminate', log);
    },
  };
}

const ADMIN_FUNCTION = /^\/admin\/functions\/([^/]+)$/;

/**
 * `POST /admin/functions/{name}` with `{"input": "<container>/<blob>"}` and the master key, the host
 * admin API Azure has for running a function that is not HTTP-triggered: here for blob triggers,
 * which get that blob now, as when an event is delivered again. 202 once the function ran.
 */
async function adminInvoke(
  req: RawRequest,
  keys: HostKeys,
  blobs: BlobTriggers,
): Promise<RawResponse | undefined> {
  const match = ADMIN_FUNCTION.exec(req.url.pathname);
  if (!match || req.method !== 'POST') return undefined;
  const name = decodeURIComponent(match[1] ?? '');
  const presented = req.url.searchParams.get('code') ?? [req.headers['x-functions-key']].flat()[0];
  if (!isAuthorized(keys, 'admin', name, presented))
    return errorResponse(
      401,
      'UNAUTHORIZED',
      'The admin API needs the master key: pass ?code= or x-functions-key.',
    );
  let input: unknown;
  try {
    input = (JSON.parse(req.body.toString('utf8') || '{}') as { input?: unknown }).input;
  } catch {
    input = undefined;
  }
  if (typeof input !== 'string')
    return errorResponse(400, 'BAD_REQUEST', 'Send {"input": "<container>/<blob name>"}.');
  const ran = await blobs.deliverAgain(name, input);
  if (ran === undefined)
    return errorResponse(
      404,
      'NOT_FOUND',
      `No blob-triggered function '${name}': only those run through this API here.`,
    );
  if (!ran)
    return errorResponse(
      400,
      'FUNCTION_FAILED',
      `Function '${name}' did not take ${input}; see the host log.`,
    );
  return { status: 202 };
}

function printBanner(
  log: Logger,
  routes: string[],
  registry: Registry,
  recovered: number,
  hub: string,
): void {
  const lines = ['', 'Functions:', ''];
  for (const r of routes) lines.push(`        ${r}`);
  for (const fn of registry.all().filter((f) => f.trigger.type !== 'httpTrigger')) {
    const where = [fn.trigger.queueName, fn.trigger.path].find((v): v is string => typeof v === 'string');
    lines.push(`        ${fn.name}: ${fn.trigger.type}${where ? ` (${where})` : ''}`);
  }
  lines.push('');
  for (const l of lines) log.notice(l);
  log.notice(
    `Host started: ${registry.all().length} functions, task hub ${hub}, ${recovered} unfinished instance(s) resumed.`,
  );
}

async function runHooks(registry: Registry, name: 'appStart' | 'appTerminate', log: Logger): Promise<void> {
  for (const hook of registry.hooks.get(name) ?? []) {
    try {
      await hook({ hookData: {}, appHookData: {} });
    } catch (err) {
      log.error(`${name} hook failed: ${errorMessage(err)}`);
    }
  }
}
