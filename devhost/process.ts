import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './azurite.js';
import { endsWithItsParent } from './ends-with-parent.js';
import { watchLines, type WatchedProcess } from './lines.js';

/** A devhost running as a child process, with its output kept line by line (tests, benchmarks, demos). */
export interface DevHostProcess extends WatchedProcess {
  readonly baseUrl: string;
  readonly port: number;
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
      ...endsWithItsParent(),
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
  const proc: DevHostProcess = {
    ...watchLines(child, 'devhost', options.echo),
    baseUrl: `http://127.0.0.1:${port}`,
    port,
  };
  if (options.waitForStart !== false) {
    try {
      await proc.waitForLine(/Host started/, { timeoutMs: 60_000 });
    } catch (err) {
      // A host that never started is not left running behind the caller.
      await proc.kill('SIGKILL');
      throw err;
    }
  }
  return proc;
}
