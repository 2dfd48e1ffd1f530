import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { watchLines, type WatchedProcess } from '../devhost/lines.js';

/** The built worker: from dist (scripts, bench), or from the sources under vitest. */
const main = existsSync(path.join(import.meta.dirname, '..', 'worker', 'main.js'))
  ? path.join(import.meta.dirname, '..', 'worker', 'main.js')
  : path.join(import.meta.dirname, '..', 'dist', 'worker', 'main.js');

export interface LocalWorkerOptions {
  pool: string;
  /** The storage connection string the app uses. */
  storage: string;
  env?: Record<string, string>;
  echo?: (line: string) => void;
  /** Its command line arguments instead of `--pool <pool>` (to test bad ones). */
  args?: string[];
  /** Wait for the worker to say it takes tries (default) or not (for start-up failures). */
  waitForStart?: boolean;
}

/** A pool worker as a local process (`node dist/worker/main.js --pool <pool>`), its output kept line by line. */
export async function spawnWorker(options: LocalWorkerOptions): Promise<WatchedProcess> {
  const child = spawn(process.execPath, [main, ...(options.args ?? ['--pool', options.pool])], {
    env: {
      ...process.env,
      AzureWebJobsStorage: options.storage,
      PARALLEL_RUN_POOLS: options.pool,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker = watchLines(child, `worker of pool ${options.pool}`, options.echo);
  if (options.waitForStart !== false) {
    try {
      await worker.waitForLine(/taking tries/, { timeoutMs: 60_000 });
    } catch (err) {
      await worker.kill('SIGKILL');
      throw err;
    }
  }
  return worker;
}
