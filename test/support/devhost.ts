import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { spawnDevHostProcess, type DevHostProcess } from '../../devhost/process.js';

export type { DevHostProcess };

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const fixtureApp = path.join(repoRoot, 'test/fixtures/app');

export interface FixtureNames {
  hub: string;
  queue: string;
  inbox: string;
  results: string;
}

/** Names no other test file uses, so devhosts sharing one Azurite never see each other's work. */
export function uniqueNames(): FixtureNames {
  const tag = randomBytes(4).toString('hex');
  return { hub: `Hub${tag}`, queue: `q-${tag}`, inbox: `inbox-${tag}`, results: `results-${tag}` };
}

export interface SpawnOptions {
  app?: string;
  storage: string;
  names?: FixtureNames;
  port?: number;
  args?: string[];
  /** Wait for "Host started" (default) or not (for start-up failures). */
  waitForStart?: boolean;
}

/** The fixture app on a devhost process, with names of its own. */
export async function spawnDevHost(options: SpawnOptions): Promise<DevHostProcess> {
  const names = options.names ?? uniqueNames();
  return spawnDevHostProcess({
    app: options.app ?? fixtureApp,
    storage: options.storage,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.args ? { args: options.args } : {}),
    ...(options.waitForStart === undefined ? {} : { waitForStart: options.waitForStart }),
    env: {
      FIXTURE_HUB: names.hub,
      FIXTURE_QUEUE: names.queue,
      FIXTURE_INBOX: names.inbox,
      FIXTURE_RESULTS: names.results,
      WEBSITE_HOSTNAME: '',
    },
  });
}

export interface JsonReply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Sends `body` as JSON; a string body is sent as it is (to test malformed input). */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? (JSON.parse(text) as unknown) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export interface Status {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  historyEvents?: { EventType: string; EventId: number; FunctionName?: string }[];
}

/** Starts an orchestration through the app's own HTTP starter (durable client in the app). */
export async function startOrchestration(
  host: DevHostProcess,
  name: string,
  input?: unknown,
  instanceId?: string,
): Promise<string> {
  const reply = await call(
    host.baseUrl,
    'POST',
    `/api/start/${name}${instanceId ? `/${instanceId}` : ''}`,
    input === undefined ? undefined : JSON.stringify(input),
  );
  if (reply.status !== 202) throw new Error(`start ${name} answered ${reply.status}: ${reply.text}`);
  return (reply.body as { id: string }).id;
}

/** Long-polls the durable API until the instance finishes (no sleeps). */
export async function waitForInstance(host: DevHostProcess, id: string, history = false): Promise<Status> {
  const q = `waitForCompletionSeconds=50${history ? '&showHistory=true&showHistoryOutput=true' : ''}`;
  const reply = await call(
    host.baseUrl,
    'GET',
    `/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}?${q}`,
  );
  return reply.body as Status;
}
