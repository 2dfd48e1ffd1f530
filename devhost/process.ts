import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './azurite.js';

/** A devhost running as a child process, with its output kept line by line (tests, benchmarks, demos). */
export interface DevHostProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly lines: string[];
  /** Resolves with the `count`-th line, past or future, that matches `pattern`. */
  waitForLine(pattern: RegExp, options?: { count?: number; timeoutMs?: number }): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface SpawnDevHostOptions {
  app: string;
  storage: string;
  port?: number;
  env?: Record<string, string>;
  args?: string[];
  /** Also copy each line to this writer (e.g. process.stdout). */
  echo?: (line: string) => void;
  /** Wait for "Host started" (default) before resolving. */
  waitForStart?: boolean;
}

/** The built CLI: beside this file once compiled; from the sources (under vitest), the build's copy. */
const cli = existsSync(path.join(import.meta.dirname, 'cli.js'))
  ? path.join(import.meta.dirname, 'cli.js')
  : path.join(import.meta.dirname, '..', 'dist', 'devhost', 'cli.js');

export async function spawnDevHostProcess(options: SpawnDevHostOptions): Promise<DevHostProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      cli,
      '--app',
      options.app,
      '--port',
      String(port),
      '--storage',
      options.storage,
      ...(options.args ?? []),
    ],
    {
      env: { ...process.env, AzureWebJobsStorage: options.storage, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const push = (line: string) => {
    lines.push(line);
    options.echo?.(line);
  };
  let partial = '';
  const onData = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    parts.forEach(push);
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      if (partial) push(partial);
      for (const l of listeners) l();
      resolve(code);
    }),
  );

  const waitForLine: DevHostProcess['waitForLine'] = (pattern, { count = 1, timeoutMs = 30_000 } = {}) =>
    new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      const check = () => {
        const hits = lines.filter((l) => pattern.test(l));
        if (hits.length >= count) {
          cleanup();
          resolve(hits[count - 1] ?? '');
        } else if (done) {
          cleanup();
          reject(
            new Error(`devhost exited before printing ${String(pattern)}:\n${lines.slice(-40).join('\n')}`),
          );
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
      listeners.add(check);
      check();
    });

  const proc: DevHostProcess = {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    lines,
    waitForLine,
    exited,
    async kill(signal = 'SIGTERM') {
      if (done) return exited;
      child.kill(signal);
      // A host that does not stop within 10 s of SIGTERM is ended.
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
  if (options.waitForStart !== false) {
    try {
      await waitForLine(/Host started/, { timeoutMs: 60_000 });
    } catch (err) {
      // A host that never started is not left running behind the caller.
      await proc.kill('SIGKILL');
      throw err;
    }
  }
  return proc;
}
