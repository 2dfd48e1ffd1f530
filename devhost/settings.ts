import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DevHostError } from './errors.js';

/** What the devhost reads from host.json: the same knobs the real host honours, with its defaults. */
export interface HostSettings {
  routePrefix: string;
  queues: {
    maxDequeueCount: number;
    visibilityTimeoutMs: number;
    batchSize: number;
    maxPollingIntervalMs: number;
    messageEncoding: 'base64' | 'none';
  };
  durable: {
    hubName: string;
    maxConcurrentActivityFunctions: number;
    maxConcurrentOrchestratorFunctions: number;
  };
}

/** Keys for `authLevel: 'function' | 'admin'`; none configured means anonymous, as Core Tools does. */
export interface HostKeys {
  master?: string;
  /** Function keys: `default` works for every function, other entries for the named function only. */
  function: Record<string, string>;
}

export interface LocalSettings {
  values: Record<string, string>;
  port?: number;
  keys: HostKeys;
}

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Error('not a JSON object');
    return value as Json;
  } catch (err) {
    throw new DevHostError('BAD_REQUEST', `${file} is not valid: ${(err as Error).message}`);
  }
}

function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** "hh:mm:ss" or "d.hh:mm:ss" (a .NET TimeSpan, as host.json writes durations) to milliseconds. */
export function parseTimeSpan(value: unknown, fallbackMs: number): number {
  if (typeof value !== 'string') return fallbackMs;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return fallbackMs;
  const [, d = '0', h = '0', min = '0', s = '0', frac = '0'] = m;
  return (
    ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000 + Number(`0.${frac}`) * 1000
  );
}

export function loadHostSettings(appRoot: string, env: NodeJS.ProcessEnv = process.env): HostSettings {
  const file = path.join(appRoot, 'host.json');
  const host = existsSync(file) ? readJson(file) : {};
  const ext = obj(host.extensions);
  const http = obj(ext.http);
  const queues = obj(ext.queues);
  const durable = obj(ext.durableTask);
  const hubName = resolveAppSettings(
    typeof durable.hubName === 'string' ? durable.hubName : 'TestHubName',
    env,
    'host.json durableTask.hubName',
  );
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(hubName)) {
    throw new DevHostError(
      'BAD_REQUEST',
      `host.json extensions.durableTask.hubName '${hubName}' is not valid: use 3 to 45 letters and digits, starting with a letter.`,
    );
  }
  return {
    routePrefix: typeof http.routePrefix === 'string' ? http.routePrefix.replace(/^\/+|\/+$/g, '') : 'api',
    queues: {
      maxDequeueCount: num(queues.maxDequeueCount, 5),
      visibilityTimeoutMs: parseTimeSpan(queues.visibilityTimeout, 0),
      batchSize: Math.min(num(queues.batchSize, 16), 32),
      maxPollingIntervalMs: Math.min(parseTimeSpan(queues.maxPollingInterval, 2_000), 60_000),
      messageEncoding: queues.messageEncoding === 'none' ? 'none' : 'base64',
    },
    durable: {
      hubName,
      maxConcurrentActivityFunctions: num(durable.maxConcurrentActivityFunctions, 10),
      maxConcurrentOrchestratorFunctions: num(durable.maxConcurrentOrchestratorFunctions, 10),
    },
  };
}

export function loadLocalSettings(file: string): LocalSettings {
  if (!existsSync(file)) return { values: {}, keys: { function: {} } };
  const json = readJson(file);
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(json.Values))) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') values[k] = String(v);
  }
  const host = obj(json.Host);
  const keys = obj(obj(json.DevHost).keys);
  const fnKeys: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(keys.function))) if (typeof v === 'string') fnKeys[k] = v;
  const port = typeof host.LocalHttpPort === 'number' ? host.LocalHttpPort : undefined;
  return {
    values,
    ...(port === undefined ? {} : { port }),
    keys: { ...(typeof keys.master === 'string' ? { master: keys.master } : {}), function: fnKeys },
  };
}

/** Binding expressions such as `%QueueName%` resolve from app settings, as in Azure. */
export function resolveAppSettings(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) {
      throw new DevHostError('BAD_REQUEST', `${where} uses app setting '%${name}%', which is not set.`);
    }
    return v;
  });
}
