import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
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
  /** A line the script logged (DEBUG … ERROR) or printed (STDOUT, STDERR). */
  onLog?: (workerIndex: number, level: string, text: string) => void;
}

interface Pending {
  resolve: (outcome: RunOutcome | undefined) => void;
  inputs: number;
  timeoutMs: number;
  /** Set when the thread starts the try: a try waiting behind another has no deadline yet. */
  timer?: NodeJS.Timeout;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: Promise<ErrorInfo | undefined>;
  /** Tries given to this thread (running or waiting in its queue), keyed by id, in the order sent. */
  pending: Map<number, Pending>;
  /** Tries reserved for this thread, including those still waiting for `ready`. */
  load: number;
  dead: boolean;
  /** Settles once the thread's stdout and stderr have been read to their end. */
  printed: Promise<void>;
}

const workerFile = () => path.join(distRoot(), 'core', 'runner', 'worker.js');

/**
 * Tries a thread holds at once: the one it runs and the next, already handed over, so it starts
 * the moment the first ends instead of waiting for a message from this thread (a round trip of
 * 0.1–0.3 ms between threads here, per mini-batch).
 */
const TRIES_PER_THREAD = 2;

/**
 * `process_count_per_node` worker threads running one entry script. Each thread calls `init()` once;
 * `run()` gets one mini-batch at a time. A try that passes `run_invocation_timeout` ends its thread,
 * and a fresh one (with a fresh `init()`) takes its place; a try that was waiting behind it runs
 * there, as if it had not been handed over.
 */
export class WorkerPool {
  private readonly slots: (Slot | undefined)[];
  /** Tries waiting for room on a thread; `undefined` tells them the pool was shut down (e.g. the run was canceled). */
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
      // What the script prints belongs in the run's log, not only on the host's console.
      stdout: true,
      stderr: true,
    });
    const pending = new Map<number, Pending>();
    let markReady: (error: ErrorInfo | undefined) => void = () => undefined;
    const ready = new Promise<ErrorInfo | undefined>((resolve) => (markReady = resolve));
    const printed = Promise.all([
      this.forwardLines(index, worker.stdout, 'STDOUT'),
      this.forwardLines(index, worker.stderr, 'STDERR'),
    ]).then(() => undefined);
    const slot: Slot = { index, worker, ready, pending, load: 0, dead: false, printed };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') markReady(undefined);
      else if (m.type === 'initFailed')
        markReady({ ...m.error, message: `init() failed: ${m.error.message}` });
      else if (m.type === 'log') this.options.onLog?.(index, m.level, m.text);
      else if (m.type === 'started') this.startDeadline(slot, m.id);
      else if (m.type === 'done')
        this.settle(slot, m.id, validate(m.rows, m.failures, pending.get(m.id)?.inputs ?? 0));
      else if (m.type === 'failed') this.settle(slot, m.id, { ok: false, kind: 'exception', error: m.error });
    });
    const die = (error: ErrorInfo) => {
      slot.dead = true;
      markReady(error);
      // The try it was running failed with it; those waiting behind it never started.
      for (const [id, p] of [...pending])
        this.settle(slot, id, p.timer ? { ok: false, kind: 'crash', error } : undefined);
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

  private forwardLines(index: number, stream: Readable, level: string): Promise<void> {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => this.options.onLog?.(index, level, line));
    return new Promise((resolve) => lines.once('close', resolve));
  }

  private startDeadline(slot: Slot, id: number): void {
    const p = slot.pending.get(id);
    if (!p) return;
    p.timer = setTimeout(() => {
      slot.dead = true;
      this.settle(slot, id, {
        ok: false,
        kind: 'timeout',
        error: {
          message: `run() did not return within ${p.timeoutMs / 1000} s (run_invocation_timeout); its worker thread was stopped`,
        },
      });
      void slot.worker.terminate();
    }, p.timeoutMs);
  }

  private settle(slot: Slot, id: number, outcome: RunOutcome | undefined): void {
    const p = slot.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    slot.pending.delete(id);
    p.resolve(outcome);
  }

  /** Room for one more try: an idle thread, else a new one up to the pool's size, else the least busy. */
  private reserve(): Slot | undefined {
    let best: Slot | undefined;
    let empty = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot || slot.dead) {
        if (empty < 0) empty = i;
      } else if (slot.load < (best ? best.load : TRIES_PER_THREAD)) {
        best = slot;
      }
    }
    if (empty >= 0 && (!best || best.load > 0)) best = this.spawnInto(empty);
    if (best) best.load++;
    return best;
  }

  private acquire(): Promise<Slot | undefined> {
    const slot = this.reserve();
    return slot ? Promise.resolve(slot) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    slot.load--;
    if (this.closed) return;
    // A thread stopped for a timeout or crash is replaced at once, so its init() runs before the next try.
    if (slot.dead && this.slots[slot.index] === slot) this.spawnInto(slot.index);
    while (this.waiting.length > 0) {
      const next = this.reserve();
      if (!next) break;
      this.waiting.shift()?.(next);
    }
  }

  private spawnInto(index: number): Slot {
    const slot = this.spawn(index);
    this.slots[index] = slot;
    return slot;
  }

  /** Runs one mini-batch try. Never rejects: every way a try can fail comes back as an outcome. */
  async run(files: string[], miniBatchIndex: number, timeoutMs: number): Promise<RunOutcome> {
    for (;;) {
      const slot = this.closed ? undefined : await this.acquire();
      if (!slot)
        return {
          ok: false,
          kind: 'crash',
          error: { message: 'the worker pool was shut down (the run ended or was canceled)' },
        };
      const outcome = await this.tryOn(slot, files, miniBatchIndex, timeoutMs);
      // undefined: the thread ended before this try started (the one ahead of it timed out or crashed).
      if (outcome) return outcome;
    }
  }

  private async tryOn(
    slot: Slot,
    files: string[],
    miniBatchIndex: number,
    timeoutMs: number,
  ): Promise<RunOutcome | undefined> {
    try {
      const initError = await slot.ready;
      if (initError) {
        slot.dead = true;
        await slot.worker.terminate();
        return { ok: false, kind: 'init', error: initError };
      }
      if (slot.dead) return undefined;
      const id = this.nextId++;
      return await new Promise<RunOutcome | undefined>((resolve) => {
        slot.pending.set(id, { resolve, inputs: files.length, timeoutMs });
        slot.worker.postMessage({ type: 'run', id, files, miniBatchIndex } satisfies ToWorker);
      });
    } finally {
      this.release(slot);
    }
  }

  /** Calls `shutdown()` in every live thread that is not in a try, then ends them all. */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot || slot.dead) return;
        const initError = await slot.ready;
        // A thread still in a try belongs to a run that stopped early: its result is no longer
        // wanted, and a run() that never yields would hold the grace period to its end.
        const busy = slot.pending.size > 0;
        // slot.dead can turn true while awaiting ready (the thread crashed during init).
        if (!initError && !busy && !(slot.dead as boolean)) {
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
        // Lines printed last (by shutdown(), say) reach onLog before the pool reports it is down.
        await slot.printed;
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
