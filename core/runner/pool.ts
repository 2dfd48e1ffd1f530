import { fork, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { overLimitMessage, residentMb, semiSpaceMb, workerMemoryLimitMb } from './memory.js';
import { runnerEntry } from './paths.js';
import { cutAt, cutNote, cutReceived, MAX_LINE_CHARS } from './line-cut.js';
import { checkReturned } from './returned.js';
import type {
  ErrorInfo,
  FromWorker,
  MiniBatchCall,
  RunOutcome,
  StartStage,
  ToWorker,
  WorkerInit,
} from './messages.js';

export type { RunOutcome, TryFailureKind } from './messages.js';

export interface PoolOptions {
  size: number;
  /** The run's environment_variables, on top of the process environment. */
  env?: Record<string, string>;
  init: Omit<WorkerInit, 'workerIndex'>;
  /** A line the script logged (DEBUG … ERROR) or printed (STDOUT, STDERR). */
  onLog?: (workerIndex: number, level: string, text: string) => void;
  /** The most memory one worker process may hold, in MB (default: `workerMemoryLimitMb()`). */
  memoryLimitMb?: number;
  /** How long init() may take before its process is ended and its start counted as failed (default: 600 s). */
  initTimeoutMs?: number;
}

/**
 * init() gets ten minutes (a large model to load), or twice run_invocation_timeout where that is
 * more: one that never returns (a deadlock, a download that hangs) failed no try and ended no run,
 * which stayed Running for ever.
 */
export function initTimeoutMs(runInvocationTimeoutSeconds: number): number {
  return Math.max(600, 2 * runInvocationTimeoutSeconds) * 1000;
}

interface Pending {
  resolve: (outcome: RunOutcome | undefined) => void;
  inputs: number;
  timeoutMs: number;
  /** Set when the process starts the try: a try waiting behind another has no deadline yet. */
  timer?: NodeJS.Timeout;
}

interface StartFailure {
  stage: StartStage;
  error: ErrorInfo;
}

interface Slot {
  index: number;
  child: ChildProcess;
  /** Settles when init() has returned (undefined) or the process could not start. */
  ready: Promise<StartFailure | undefined>;
  started: boolean;
  /** Tries given to this process (running or waiting in its queue), keyed by id, in the order sent. */
  pending: Map<number, Pending>;
  /** Tries reserved for this process, including those still waiting for `ready`. */
  load: number;
  /** No new try may go to it: it ended, or is being stopped. */
  dead: boolean;
  /** It went over the memory limit (seen by the pool, or by V8 running out of heap). */
  overLimit: boolean;
  /** It was ended because init() did not return in time. */
  initTimedOut: boolean;
  /** Settles once the process has exited. */
  exited: Promise<void>;
  /** Settles once the process's stdout and stderr have been read to their end. */
  printed: Promise<void>;
}

/**
 * Tries a process holds at once: the one it runs and the next, already handed over, so it starts
 * the moment the first ends instead of waiting for a message from the host (a round trip per
 * mini-batch).
 */
const TRIES_PER_PROCESS = 2;

/**
 * init() failing in this many processes in a row (none starting in between) means it will not
 * start: the pool gives up, as ParallelRunStep gives up on a worker after repeated init failures.
 */
export const INIT_FAILURES_BEFORE_GIVING_UP = 3;

const MEMORY_CHECK_MS = 200;

export const SHUT_DOWN: RunOutcome = {
  ok: false,
  kind: 'ended',
  error: { message: 'the worker pool was shut down (the run ended or was canceled)' },
};

/** V8's last words when a process runs out of heap (`--max-old-space-size`). */
const HEAP_EXHAUSTED = /JavaScript heap out of memory|Reached heap limit/;

export { MAX_LINE_CHARS } from './line-cut.js';

/**
 * Splits what a process prints into lines as readline does (`\n`, `\r\n` or a lone `\r` end one),
 * keeping at most MAX_LINE_CHARS of each.
 */
class LineSplitter {
  private line = '';
  private dropped = 0;
  /** The last chunk ended with `\r`: a `\n` opening the next one belongs to that line break. */
  private afterCr = false;

  constructor(private readonly forward: (line: string) => void) {}

  push(chunk: string): void {
    let start = 0;
    if (this.afterCr && chunk.startsWith('\n')) start = 1;
    this.afterCr = false;
    const breaks = /\r\n|\r|\n/g;
    breaks.lastIndex = start;
    for (let m = breaks.exec(chunk); m; m = breaks.exec(chunk)) {
      this.add(chunk, start, m.index);
      this.emit();
      start = m.index + m[0].length;
      if (m[0] === '\r' && start === chunk.length) this.afterCr = true;
    }
    this.add(chunk, start, chunk.length);
  }

  /** The output ended: a last line without a break is forwarded too. */
  end(): void {
    if (this.line !== '' || this.dropped > 0) this.emit();
  }

  private add(chunk: string, from: number, to: number): void {
    const room = MAX_LINE_CHARS - this.line.length;
    const length = to - from;
    if (this.dropped === 0 && length <= room) this.line += chunk.slice(from, to);
    else {
      // Once cut, the rest of the line is only counted (a pair's half put back would open a gap).
      const end = this.dropped === 0 ? cutAt(chunk, from, room) : from;
      this.line += chunk.slice(from, end);
      this.dropped += to - end;
    }
  }

  private emit(): void {
    const line = this.dropped > 0 ? cutNote(this.line, this.dropped) : this.line;
    this.line = '';
    this.dropped = 0;
    this.forward(line);
  }
}

/**
 * Ends a worker process and every process it started (its process group, `detached` in spawn): a
 * child the script forked would otherwise be left running, re-parented to init, after its run ended.
 */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone already (ESRCH): at least the process itself.
    child.kill('SIGKILL');
  }
}

/** A bounded wait, for output still in a pipe after its process ended (a grandchild may hold it open). */
const atMost = (ms: number, promise: Promise<void>) =>
  Promise.race([promise, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);

/**
 * `process_count_per_node` worker processes running one entry script. Each calls `init()` once;
 * `run()` gets one mini-batch at a time. A try that passes `run_invocation_timeout`, or a process
 * that goes over its memory limit, ends that process, and a fresh one (with a fresh `init()`) takes
 * its place; a try that was waiting behind it runs there, as if it had not been handed over.
 *
 * Processes, not threads: a thread cannot be ended safely while a native addon works for it
 * (onnxruntime's callbacks then throw into a torn-down environment, and the C++ runtime aborts the
 * whole host); a process can always be killed, and whatever it allocates is its own.
 */
export class WorkerPool {
  private readonly slots: (Slot | undefined)[];
  /** Tries waiting for room on a process; `undefined` tells them the pool is shut down or gave up. */
  private readonly waiting: ((slot: Slot | undefined) => void)[] = [];
  private nextId = 0;
  private closed = false;
  private readonly memoryLimitMb: number;
  private readonly initTimeoutMs: number;
  private memoryWatch: NodeJS.Timeout | undefined;
  private initFailuresInARow = 0;
  private firstInitFailure: ErrorInfo | undefined;
  /** Why no try can succeed on this pool, once that is known. */
  private broken: ErrorInfo | undefined;

  constructor(private readonly options: PoolOptions) {
    this.slots = Array.from({ length: options.size }, () => undefined);
    this.memoryLimitMb = options.memoryLimitMb ?? workerMemoryLimitMb();
    this.initTimeoutMs = options.initTimeoutMs ?? initTimeoutMs(0);
  }

  private spawn(index: number): Slot {
    const child = fork(runnerEntry('worker'), [], {
      env: { ...process.env, ...this.options.env },
      // Not the host's own flags (an inspector port, say): only the heap's sizes.
      execArgv: [
        `--max-old-space-size=${this.memoryLimitMb}`,
        `--max-semi-space-size=${semiSpaceMb(this.memoryLimitMb)}`,
      ],
      serialization: 'advanced',
      // What the script prints belongs in the run's log, not only on the host's console.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // The leader of a process group of its own: what the script starts (a child process, a shell
      // command) is in that group, and ends with it (killGroup), never outliving the run.
      detached: true,
    });
    let settleReady: (failure: StartFailure | undefined) => void = () => undefined;
    const ready = new Promise<StartFailure | undefined>((resolve) => (settleReady = resolve));
    let readySettled = false;
    const markReady = (failure: StartFailure | undefined) => {
      readySettled = true;
      settleReady(failure);
    };
    let markExited: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const slot: Slot = {
      index,
      child,
      ready,
      started: false,
      pending: new Map(),
      load: 0,
      dead: false,
      overLimit: false,
      initTimedOut: false,
      exited,
      printed: Promise.resolve(),
    };
    slot.printed = Promise.all([
      this.forwardLines(slot, child.stdout, 'STDOUT'),
      this.forwardLines(slot, child.stderr, 'STDERR'),
    ]).then(() => undefined);
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        slot.started = true;
        this.initFailuresInARow = 0;
        this.firstInitFailure = undefined;
        markReady(undefined);
      } else if (m.type === 'initFailed') {
        markReady(this.startFailed(m.stage, m.error));
      } else if (m.type === 'log') this.options.onLog?.(index, m.level, cutReceived(m.text));
      else if (m.type === 'started') this.startDeadline(slot, m.id);
      else if (m.type === 'done')
        this.settle(slot, m.id, checkReturned(m.rows, m.failures, slot.pending.get(m.id)?.inputs ?? 0));
      else if (m.type === 'scored')
        this.settle(slot, m.id, { ok: true, rows: [], failures: [], scored: m.scored });
      else if (m.type === 'failed')
        this.settle(slot, m.id, { ok: false, kind: m.kind ?? 'exception', error: m.error });
    });
    const ended = (error: ErrorInfo) => {
      slot.dead = true;
      // Ended before init() returned (out of memory in init(), say): that counts as init() failing.
      // (A pool shutting down ends processes still in init(): that is not init() failing.)
      if (!readySettled) markReady(this.closed ? { stage: 'init', error } : this.startFailed('init', error));
      // The try it was running failed with it (or, ended by a pool shutting down, was never wanted);
      // those waiting behind it never started.
      const running: RunOutcome = this.closed ? SHUT_DOWN : { ok: false, kind: 'crash', error };
      for (const [id, p] of [...slot.pending]) this.settle(slot, id, p.timer ? running : undefined);
      markExited();
    };
    child.on('exit', (code, signal) => {
      slot.dead = true;
      // It ended on its own (a crash, process.exit): what it started goes with it.
      killGroup(child);
      // Its last words (V8 out of heap, say) decide how the end is reported.
      void atMost(1_000, slot.printed).then(() => ended(this.exitError(slot, code, signal)));
    });
    child.on('error', (err: Error) => {
      // Only a process that never started: otherwise 'exit' follows (or a send to an ended one failed).
      if (child.pid === undefined) ended({ message: `the worker process could not start: ${err.message}` });
    });
    child.send({
      type: 'init',
      init: { ...this.options.init, workerIndex: index },
    } satisfies ToWorker);
    const initDeadline = setTimeout(() => {
      if (readySettled || slot.dead) return;
      slot.initTimedOut = true;
      this.stop(slot);
    }, this.initTimeoutMs);
    initDeadline.unref();
    void ready.then(() => clearTimeout(initDeadline));
    this.watchMemory();
    return slot;
  }

  private exitError(slot: Slot, code: number | null, signal: NodeJS.Signals | null): ErrorInfo {
    if (slot.overLimit) return { message: overLimitMessage(this.memoryLimitMb) };
    if (slot.initTimedOut)
      return {
        message: `it did not return within ${Math.round(this.initTimeoutMs / 1000)} s (the most init() may take: 600 s, or twice run_invocation_timeout), and its process was ended`,
      };
    if (signal) return { message: `the worker process was killed (${signal})` };
    return { message: `the worker process exited (code ${code ?? '?'})` };
  }

  /** Counts a process that could not start; decides whether the pool gives up. */
  private startFailed(stage: StartStage, error: ErrorInfo): StartFailure {
    if (stage === 'load') {
      // Importing the script fails the same way every time.
      this.broken ??= error;
    } else {
      this.initFailuresInARow++;
      this.firstInitFailure ??= error;
      if (this.initFailuresInARow >= INIT_FAILURES_BEFORE_GIVING_UP) {
        const first = this.firstInitFailure;
        this.broken ??= {
          message: `init() failed in ${this.initFailuresInARow} worker processes in a row; the first failure: ${first.message}`,
          ...(first.stack ? { stack: first.stack } : {}),
        };
      }
    }
    if (this.broken) this.answerWaiting();
    return {
      stage,
      error: stage === 'init' ? { ...error, message: `init() failed: ${error.message}` } : error,
    };
  }

  private forwardLines(slot: Slot, stream: Readable | null, level: string): Promise<void> {
    if (!stream) return Promise.resolve();
    const forward = (line: string) => {
      if (level === 'STDERR' && HEAP_EXHAUSTED.test(line)) slot.overLimit = true;
      this.options.onLog?.(slot.index, level, line);
    };
    const lines = new LineSplitter(forward);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => lines.push(chunk));
    return new Promise((resolve) =>
      stream.once('close', () => {
        lines.end();
        resolve();
      }),
    );
  }

  /** The memory limit counts what a process holds, native memory and buffers too, not only its heap. */
  private watchMemory(): void {
    if (this.memoryWatch || process.platform !== 'linux') return;
    this.memoryWatch = setInterval(() => {
      for (const slot of this.slots) {
        const pid = slot?.child.pid;
        if (!slot || slot.dead || pid === undefined) continue;
        const mb = residentMb(pid);
        if (mb !== undefined && mb > this.memoryLimitMb) {
          slot.overLimit = true;
          this.stop(slot);
        }
      }
    }, MEMORY_CHECK_MS);
    this.memoryWatch.unref();
  }

  private stop(slot: Slot): void {
    slot.dead = true;
    // A process that has exited had its group killed then ('exit'): its pid, maybe reused since by
    // another run's process, is not signalled again.
    if (slot.child.exitCode === null && slot.child.signalCode === null) killGroup(slot.child);
  }

  private startDeadline(slot: Slot, id: number): void {
    const p = slot.pending.get(id);
    // A process being stopped (the try ahead of this one timed out) told us this one started just
    // before it was killed: it never ran to an end, and goes to the fresh process, not counted.
    if (!p || slot.dead) return;
    p.timer = setTimeout(() => {
      this.settle(slot, id, {
        ok: false,
        kind: 'timeout',
        error: {
          message: `run() did not return within ${p.timeoutMs / 1000} s (run_invocation_timeout); its worker process was stopped`,
        },
      });
      this.stop(slot);
    }, p.timeoutMs);
  }

  private settle(slot: Slot, id: number, outcome: RunOutcome | undefined): void {
    const p = slot.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    slot.pending.delete(id);
    p.resolve(outcome);
  }

  /** Room for one more try: an idle process, else a new one up to the pool's size, else the least busy. */
  private reserve(): Slot | undefined {
    let best: Slot | undefined;
    let empty = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot || slot.dead) {
        if (empty < 0) empty = i;
      } else if (slot.load < (best ? best.load : TRIES_PER_PROCESS)) {
        best = slot;
      }
    }
    if (empty >= 0 && (!best || best.load > 0)) best = this.spawnInto(empty);
    if (best) best.load++;
    return best;
  }

  private acquire(): Promise<Slot | undefined> {
    if (this.closed || this.broken) return Promise.resolve(undefined);
    const slot = this.reserve();
    return slot ? Promise.resolve(slot) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private answerWaiting(): void {
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
  }

  private release(slot: Slot): void {
    slot.load--;
    if (this.closed || this.broken) return;
    // A process stopped for a timeout or crash is replaced at once, so its init() runs before the next try.
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

  /**
   * Starts every process not started yet, instead of one per try as tries come: their init() (loading
   * a model, say) then runs while the run is still being planned, not on the clock of its first
   * mini-batches. Settles once each has returned from init() or failed to start; a failure counts as
   * it would for a process a try started.
   */
  async start(): Promise<void> {
    if (this.closed || this.broken) return;
    const starting: Promise<unknown>[] = [];
    for (let i = 0; i < this.slots.length; i++) if (!this.slots[i]) starting.push(this.spawnInto(i).ready);
    await Promise.all(starting);
  }

  /** Runs one mini-batch try. Never rejects: every way a try can fail comes back as an outcome. */
  async run(batch: MiniBatchCall, timeoutMs: number): Promise<RunOutcome> {
    for (;;) {
      const slot = await this.acquire();
      if (!slot) return this.broken ? this.fatal(this.broken) : SHUT_DOWN;
      const outcome = await this.tryOn(slot, batch, timeoutMs);
      // undefined: the process ended before this try started (the one ahead of it timed out or crashed).
      if (outcome) return outcome;
    }
  }

  private async tryOn(slot: Slot, batch: MiniBatchCall, timeoutMs: number): Promise<RunOutcome | undefined> {
    try {
      const failure = await slot.ready;
      if (this.closed) return SHUT_DOWN;
      if (failure) {
        this.stop(slot);
        return this.broken ? this.fatal(this.broken) : { ok: false, kind: 'init', error: failure.error };
      }
      if (slot.dead) return undefined;
      const id = this.nextId++;
      return await new Promise<RunOutcome | undefined>((resolve) => {
        slot.pending.set(id, { resolve, inputs: batch.inputs.length, timeoutMs });
        slot.child.send({ type: 'run', id, batch } satisfies ToWorker);
      });
    } finally {
      this.release(slot);
    }
  }

  private fatal(error: ErrorInfo): RunOutcome {
    return { ok: false, kind: 'init', error, fatal: true };
  }

  /**
   * Calls `shutdown()` in every process that is idle, then ends them all. A process still in init()
   * or in a try belongs to a run that ended or was canceled: it is ended at once.
   */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.closed = true;
    clearInterval(this.memoryWatch);
    this.answerWaiting();
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot) return;
        if (!slot.dead && slot.started && slot.pending.size === 0) await this.askToShutDown(slot, graceMs);
        this.stop(slot);
        await slot.exited;
        // Lines printed last (by shutdown(), say) reach onLog before the pool reports it is down.
        await atMost(1_000, slot.printed);
      }),
    );
  }

  private askToShutDown(slot: Slot, graceMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      const closed = (m: FromWorker) => {
        if (m.type !== 'closed') return;
        clearTimeout(timer);
        resolve();
      };
      slot.child.on('message', closed);
      void slot.exited.then(() => {
        clearTimeout(timer);
        resolve();
      });
      slot.child.send({ type: 'shutdown' } satisfies ToWorker);
    });
  }
}
