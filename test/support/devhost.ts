import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { freePort } from '../../devhost/azurite.js';

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

export interface DevHostProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly lines: string[];
  /** Resolves with the first line (past or future) matching `pattern`, counting from `from`. */
  waitForLine(pattern: RegExp, options?: { count?: number; timeoutMs?: number }): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
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

export async function spawnDevHost(options: SpawnOptions): Promise<DevHostProcess> {
  const port = options.port ?? (await freePort());
  const names = options.names ?? uniqueNames();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'dist/devhost/cli.js'),
      '--app',
      options.app ?? fixtureApp,
      '--port',
      String(port),
      '--storage',
      options.storage,
      ...(options.args ?? []),
    ],
    {
      env: {
        ...process.env,
        FIXTURE_HUB: names.hub,
        FIXTURE_QUEUE: names.queue,
        FIXTURE_INBOX: names.inbox,
        FIXTURE_RESULTS: names.results,
        AzureWebJobsStorage: options.storage,
        WEBSITE_HOSTNAME: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let partial = '';
  const onData = (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (partial) lines.push(partial);
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));

  const waitForLine: DevHostProcess['waitForLine'] = (pattern, { count = 1, timeoutMs = 30_000 } = {}) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hits = lines.filter((l) => pattern.test(l));
        if (hits.length >= count) {
          cleanup();
          resolve(hits[count - 1] ?? '');
        } else if (done) {
          cleanup();
          reject(new Error(`devhost exited before printing ${String(pattern)}:\n${lines.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `no line matching ${String(pattern)} (x${count}) within ${timeoutMs} ms:\n${lines.slice(-40).join('\n')}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const proc: DevHostProcess = {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    lines,
    waitForLine,
    exited,
    async kill(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
  if (options.waitForStart !== false) await waitForLine(/Host started/);
  return proc;
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
