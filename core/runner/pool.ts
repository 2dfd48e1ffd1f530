import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { distRoot } from './paths.js';
import type { ErrorInfo, FromWorker, ToWorker, WorkerInit } from './messages.js';

export type TryFailureKind = 'exception' | 'timeout' | 'crash' | 'init' | 'bad_return';

export type RunOutcome =
  | { ok: true; rows: unknown[]; failures: { item: string; reason: string }[] }
  | { ok: false; kind: TryFailureKind; error: ErrorInfo };

export interface PoolOptions {
  size: number;
  /** The run's environment_variables, on top of the process environment. */
  env?: Record<string, string>;
  init: Omit<WorkerInit, 'workerIndex'>;
  onLog?: (workerIndex: number, level: string, text: string) => void;
}

interface Pending {
  resolve: (outcome: RunOutcome) => void;
  timer: NodeJS.Timeout;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: Promise<ErrorInfo | undefined>;
  busy: boolean;
  pending: Map<number, Pending>;
  dead: boolean;
}

const workerFile = () => path.join(distRoot(), 'core', 'runner', 'worker.js');

/**
 * `process_count_per_node` worker threads running one entry script. Each thread calls `init()` once;
 * `run()` gets one mini-batch at a time. A try that passes `run_invocation_timeout` ends its thread,
 * and a fresh one (with a fresh `init()`) takes its place.
 */
export class WorkerPool {
  private readonly slots: (Slot | undefined)[];
  /** Tries waiting for a free thread; `undefined` tells them the pool was shut down (e.g. the run was canceled). */
  private readonly waiting: ((slot: Slot | undefined) => void)[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    this.slots = Array.from({ length: options.size }, () => undefined);
  }

  private spawn(index: number): Slot {
    const worker = new Worker(workerFile(), {
      workerData: { ...this.options.init, workerIndex: index } satisfies WorkerInit,
      env: { ...process.env, ...this.options.env },
    });
    const pending = new Map<number, Pending>();
    let markReady: (error: ErrorInfo | undefined) => void = () => undefined;
    const ready = new Promise<ErrorInfo | undefined>((resolve) => (markReady = resolve));
    const slot: Slot = { index, worker, ready, busy: false, pending, dead: false };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') markReady(undefined);
      else if (m.type === 'initFailed')
        markReady({ ...m.error, message: `init() failed: ${m.error.message}` });
      else if (m.type === 'log') this.options.onLog?.(index, m.level, m.text);
      else if (m.type === 'done')
        this.settle(slot, m.id, validate(m.rows, m.failures, this.inputsOf(slot, m.id)));
      else if (m.type === 'failed') this.settle(slot, m.id, { ok: false, kind: 'exception', error: m.error });
    });
    const die = (error: ErrorInfo) => {
      slot.dead = true;
      markReady(error);
      for (const id of [...pending.keys()]) this.settle(slot, id, { ok: false, kind: 'crash', error });
    };
    worker.on('error', (err: Error) =>
      die({
        message: `the worker thread crashed: ${err.message}`,
        ...(err.stack ? { stack: err.stack } : {}),
      }),
    );
    worker.on('exit', (code) => die({ message: `the worker thread exited (code ${code})` }));
    return slot;
  }

  private readonly inputs = new Map<number, number>();
  private inputsOf(_slot: Slot, id: number): number {
    return this.inputs.get(id) ?? 0;
  }

  private settle(slot: Slot, id: number, outcome: RunOutcome): void {
    const p = slot.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    slot.pending.delete(id);
    this.inputs.delete(id);
    p.resolve(outcome);
  }

  private async acquire(): Promise<Slot | undefined> {
    for (let i = 0; i < this.slots.length; i++) {
      let slot = this.slots[i];
      if (slot && !slot.dead && slot.busy) continue;
      if (!slot || slot.dead) {
        slot = this.spawn(i);
        this.slots[i] = slot;
      }
      slot.busy = true;
      return slot;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    if (this.closed) return;
    // A thread stopped for a timeout or crash is replaced at once, so its init() runs before the next try.
    const replacement = slot.dead ? this.spawnInto(slot.index) : slot;
    const next = this.waiting.shift();
    if (next) {
      replacement.busy = true;
      next(replacement);
    } else {
      replacement.busy = false;
    }
  }

  private spawnInto(index: number): Slot {
    const slot = this.spawn(index);
    this.slots[index] = slot;
    return slot;
  }

  /** Runs one mini-batch try. Never rejects: every way a try can fail comes back as an outcome. */
  async run(files: string[], miniBatchIndex: number, timeoutMs: number): Promise<RunOutcome> {
    const slot = this.closed ? undefined : await this.acquire();
    if (!slot)
      return {
        ok: false,
        kind: 'crash',
        error: { message: 'the worker pool was shut down (the run ended or was canceled)' },
      };
    try {
      const initError = await slot.ready;
      if (initError) {
        slot.dead = true;
        await slot.worker.terminate();
        return { ok: false, kind: 'init', error: initError };
      }
      const id = this.nextId++;
      this.inputs.set(id, files.length);
      return await new Promise<RunOutcome>((resolve) => {
        const timer = setTimeout(() => {
          slot.dead = true;
          void slot.worker.terminate();
          this.settle(slot, id, {
            ok: false,
            kind: 'timeout',
            error: {
              message: `run() did not return within ${timeoutMs / 1000} s (run_invocation_timeout); its worker thread was stopped`,
            },
          });
        }, timeoutMs);
        slot.pending.set(id, { resolve, timer });
        slot.worker.postMessage({ type: 'run', id, files, miniBatchIndex } satisfies ToWorker);
      });
    } finally {
      this.release(slot);
    }
  }

  /** Calls `shutdown()` in every live thread, then ends them. */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot || slot.dead) return;
        const initError = await slot.ready;
        // slot.dead can turn true while awaiting ready (the thread crashed during init).
        if (!initError && !(slot.dead as boolean)) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            slot.worker.on('message', (m: FromWorker) => {
              if (m.type === 'closed') {
                clearTimeout(timer);
                resolve();
              }
            });
            slot.worker.postMessage({ type: 'shutdown' } satisfies ToWorker);
          });
        }
        slot.dead = true;
        await slot.worker.terminate();
      }),
    );
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (undefined)';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `a string (${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? '…' : ''})`;
  if (typeof value !== 'object') return `a ${typeof value}`;
  return `an object with keys ${Object.keys(value).slice(0, 5).join(', ') || '(none)'}`;
}

/** run() must return a list with at most one row per input item (ParallelRunStep's unchecked rule, checked). */
function validate(rows: unknown, failures: { item: string; reason: string }[], inputs: number): RunOutcome {
  if (!Array.isArray(rows)) {
    return {
      ok: false,
      kind: 'bad_return',
      error: {
        message: `run() returned ${describe(rows)}; it must return a list with one row per successful item (at most ${inputs})`,
      },
    };
  }
  const named = new Set(failures.map((f) => f.item)).size;
  if (rows.length + named > inputs) {
    const detail = named ? ` and named ${named} failed item(s)` : '';
    return {
      ok: false,
      kind: 'bad_return',
      error: {
        message: `run() returned ${rows.length} rows${detail} for ${inputs} input items; at most one row per input item is allowed`,
      },
    };
  }
  return { ok: true, rows, failures };
}
