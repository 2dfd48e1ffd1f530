import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EntryScript, InitContext, MiniBatch, RunContext, ScriptLogger } from './contract.js';
import type { TableColumns } from '../datasets/table-columns.js';
import { cutLine } from './line-cut.js';
import type {
  ErrorInfo,
  FromWorker,
  MiniBatchCall,
  NamedFailure,
  StartStage,
  ToWorker,
  WorkerInit,
} from './messages.js';
import { describe } from './returned.js';
import { reader, scoreInWorker, type Called } from './worker-read.js';

/**
 * One pool process: loads the entry script, calls init() once, then run() per mini-batch. A process,
 * not a thread: ending a thread while a native addon (onnxruntime) works for it aborts the whole host,
 * while a process can always be killed, and its memory is its own.
 */
if (!process.send) throw new Error('the runner worker must run as a child process with an IPC channel');

function send(message: FromWorker): void {
  // The host is gone (the channel closed): nothing is listening any more.
  if (process.connected) process.send?.(message);
}

// The host went away (stopped, or killed with -9): its tries are nobody's now, and so are the
// processes the script started (this process leads their group: the pool starts it detached).
process.on('disconnect', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(0);
  }
});

/**
 * The 'disconnect' event needs this process's event loop, which a script spinning in run() or
 * init() never gives back. A thread of its own checks that the host is still its parent, and ends
 * the process when it is not (the host was killed: this one was handed to another parent), with the
 * processes the script started (its process group: the pool starts it as the group's leader).
 */
function endWithTheHost(): void {
  const watcher = new Worker(
    `const { workerData } = require('node:worker_threads');
     const end = () => { try { process.kill(-process.pid, 'SIGKILL'); } catch { process.kill(process.pid, 'SIGKILL'); } };
     setInterval(() => { if (process.ppid !== workerData) end(); }, 1000);`,
    { eval: true, workerData: process.ppid },
  );
  // It must not keep the process alive on its own.
  watcher.unref();
}

function preferredByTheOomKiller(): void {
  // If the machine runs out of memory, the kernel ends this process rather than the host.
  try {
    writeFileSync('/proc/self/oom_score_adj', '1000');
  } catch {
    // Not Linux, or not allowed: the pool's own memory limit still applies.
  }
}

function logger(level: WorkerInit['loggingLevel']): ScriptLogger {
  const order = { DEBUG: 0, INFO: 1, WARNING: 2 } as const;
  const at =
    (at: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR') =>
    (...args: unknown[]) => {
      if (at !== 'ERROR' && order[at] < order[level]) return;
      const text = args
        .map((a) =>
          typeof a === 'string' ? a : a instanceof Error ? (a.stack ?? a.message) : JSON.stringify(a),
        )
        .join(' ');
      // Cut here: the host holds what it is sent, and a line of hundreds of MB would grow it as much.
      send({ type: 'log', level: at, text: cutLine(text) });
    };
  return { debug: at('DEBUG'), info: at('INFO'), warn: at('WARNING'), error: at('ERROR') };
}

/** Set once the host says where the scripts live (`WorkerInit.scriptsRoot`). */
let deployedScripts: string | undefined;

/**
 * The scripts folder's place on this machine, as `<scripts>/`: errors reach the run's reason and
 * errors.jsonl, which the API serves, and a client learns nothing of the host's file system from them
 * ("Cannot find module '<scripts>/helpers.js' imported from <scripts>/score.js").
 */
function withoutHostPaths(text: string): string {
  // The service's own frames (an error its code threw beside the script's) name where it is
  // installed. The longer folder first: one may hold the other (scripts deployed inside the app).
  const folders: [string, string][] = [];
  if (deployedScripts) folders.push([deployedScripts, '<scripts>/']);
  if (path.parse(INSTALLED).root !== INSTALLED) folders.push([INSTALLED, '<parallel-run>/']);
  folders.sort(([a], [b]) => b.length - a.length);
  let out = text;
  for (const [folder, name] of folders)
    out = out.replaceAll(`${pathToFileURL(folder).href}/`, name).replaceAll(`${folder}${path.sep}`, name);
  return out;
}

/**
 * Where this service is installed: the folder its compiled code is in (`dist/`, this file being
 * `dist/core/runner/worker.js`), and its `node_modules` beside it.
 */
const INSTALLED = path.resolve(import.meta.dirname, '..', '..', '..');

/**
 * What the script threw, as the host reports it. Never throws itself: reading a thrown value runs
 * the script's code (a getter, a toString, a Proxy), and a throw here would end the process, the
 * try failing as a crash with no word of why.
 */
function errorInfo(err: unknown): ErrorInfo {
  try {
    if (err instanceof Error)
      return {
        message: withoutHostPaths(err.message),
        name: err.name,
        ...(err.stack ? { stack: withoutHostPaths(err.stack) } : {}),
      };
    return { message: withoutHostPaths(String(err)) };
  } catch (reading) {
    let kind = 'a value';
    try {
      kind = Object.prototype.toString.call(err);
    } catch {
      // A revoked Proxy: nothing about it can be read.
    }
    let why = '';
    try {
      why = reading instanceof Error ? `: ${reading.message}` : '';
    } catch {
      // As unreadable as what was thrown.
    }
    return {
      message: `the entry script threw ${kind}, which cannot be read as an error (reading it threw${why})`,
    };
  }
}

async function undeclaredModel(ref: string, modelCache: string): Promise<string> {
  const [{ downloadModel }, { storage }] = await Promise.all([
    import('../storage/models.js'),
    import('../storage/storage.js'),
  ]);
  return downloadModel(storage(), ref, modelCache);
}

function contextOf(init: WorkerInit): InitContext {
  return {
    runId: init.runId,
    arguments: init.arguments,
    sideInputs: init.sideInputs,
    // The run's declared models are pinned and already here; any other is resolved when asked for
    // (the storage client is loaded only then: most scripts never need it). A worker process is its
    // own boundary: it builds its storage clients from its environment, as the host does.
    getModel: async (ref: string) => init.models[ref] ?? (await undeclaredModel(ref, init.modelCache)),
    logger: logger(init.loggingLevel),
    outputDir: init.outputDir,
    workerIndex: init.workerIndex,
    executionProviders: init.executionProviders,
  };
}

async function load(scriptPath: string): Promise<EntryScript> {
  let mod: Partial<EntryScript>;
  try {
    mod = (await import(pathToFileURL(scriptPath).href)) as Partial<EntryScript>;
  } catch (err) {
    const error = new Error(
      `entry script ${path.basename(scriptPath)} cannot be loaded: ${errorInfo(err).message}`,
    );
    if (err instanceof Error && err.stack) error.stack = err.stack;
    throw error;
  }
  if (typeof mod.run !== 'function') {
    throw new Error(
      `entry script ${path.basename(scriptPath)} does not export a run(miniBatch, ctx) function`,
    );
  }
  const view: unknown = mod.tableView;
  if (view !== undefined && view !== 'rows' && view !== 'columns') {
    throw new Error(
      `entry script ${path.basename(scriptPath)} exports tableView = ${describe(view)}; it must be 'rows' (row objects, the default) or 'columns'`,
    );
  }
  return mod as EntryScript;
}

/**
 * ctx.fail's item as a position among `inputs`: the very value run() was given (a path, or a row
 * object), looked up in a map built on the first call, not by a scan per call (a table's mini-batch
 * holds tens of thousands of rows).
 */
function positionsIn(inputs: unknown[]): (item: unknown) => number | undefined {
  let positions: Map<unknown, number> | undefined;
  return (item) => {
    if (!positions) {
      positions = new Map();
      // The first position of each: as indexOf would find it.
      for (let i = inputs.length - 1; i >= 0; i--) positions.set(inputs[i], i);
    }
    return positions.get(item);
  };
}

/** An item ctx.fail was given, as text: its JSON, or what it is when it has none (a cycle, undefined). */
function textOf(item: unknown): string {
  if (typeof item !== 'object' || item === null) return String(item);
  // A caught error is the likeliest reason after text: its JSON is "{}".
  if (item instanceof Error) return withoutHostPaths(item.message);
  try {
    // A toJSON returning nothing gives no JSON: the object is then named by its kind.
    const json: unknown = JSON.stringify(item);
    return typeof json === 'string' ? json : Object.prototype.toString.call(item);
  } catch {
    return Object.prototype.toString.call(item);
  }
}

/** Calls run() on one mini-batch's inputs: paths, row objects, or a table's columns. */
async function callRun(
  script: EntryScript,
  context: InitContext,
  inputs: unknown[] | TableColumns,
  batch: Pick<MiniBatchCall, 'miniBatchIndex' | 'partitionKeyValues'>,
): Promise<Called> {
  const failures: NamedFailure[] = [];
  let unmatched = 0;
  const positionOf = Array.isArray(inputs) ? positionsIn(inputs) : (item: unknown) => inputs.positionOf(item);
  const ctx: RunContext = {
    ...context,
    miniBatchIndex: batch.miniBatchIndex,
    partitionKeyValues: batch.partitionKeyValues ?? {},
    fail: (item: unknown, given: unknown) => {
      const index = positionOf(item);
      const text = typeof item === 'string' ? item : textOf(item);
      // A script in plain JavaScript may pass any value as the reason: an error line holds text.
      const reason = typeof given === 'string' ? given : textOf(given);
      // Named no input: its reason would reach no error line, so the script's log says why (once
      // a try: a script failing every row so would send a line per row).
      if (index === undefined && ++unmatched === 1)
        context.logger.warn(
          `ctx.fail(${text.slice(0, 200)}${text.length > 200 ? '…' : ''}, …) in mini-batch ${batch.miniBatchIndex} names none of its inputs, so its reason (${reason.slice(0, 200)}) is on no error line: pass ${Array.isArray(inputs) ? 'the path or row object run() was given' : "the row's position (or an object row(i) gave)"}`,
        );
      failures.push({ item: text, ...(index === undefined ? {} : { index }), reason });
    },
  };
  try {
    return { rows: await script.run(inputs as MiniBatch, ctx), failures };
  } catch (err) {
    return { error: errorInfo(err) };
  } finally {
    if (unmatched > 1)
      context.logger.warn(
        `… and ${unmatched - 1} more ctx.fail calls in mini-batch ${batch.miniBatchIndex} named none of its inputs`,
      );
  }
}

async function runOne(
  script: EntryScript,
  context: InitContext,
  message: Extract<ToWorker, { type: 'run' }>,
): Promise<void> {
  const { batch, id } = message;
  if (batch.read) {
    // A table: this process reads the rows and writes the part itself.
    send(
      await scoreInWorker(id, batch.read, script.tableView ?? 'rows', (fetched) =>
        callRun(script, context, fetched.columns ?? fetched.inputs, {
          miniBatchIndex: batch.miniBatchIndex,
          ...(fetched.partitionKeyValues ? { partitionKeyValues: fetched.partitionKeyValues } : {}),
        }),
      ),
    );
    return;
  }
  const called = await callRun(script, context, batch.inputs, batch);
  if ('error' in called) {
    send({ type: 'failed', id, error: called.error });
    return;
  }
  try {
    send({ type: 'done', id, rows: called.rows, failures: called.failures });
  } catch (err) {
    send({
      type: 'failed',
      id,
      error: {
        message: `run() returned values that cannot be passed on (${errorInfo(err).message}): return strings, numbers or plain objects`,
      },
    });
  }
}

async function start(init: WorkerInit): Promise<void> {
  deployedScripts = init.scriptsRoot;
  const context = contextOf(init);
  let stage: StartStage = 'load';
  let script: EntryScript;
  try {
    script = await load(init.scriptPath);
    stage = 'init';
    await script.init?.(context);
  } catch (err) {
    send({ type: 'initFailed', stage, error: errorInfo(err) });
    return;
  }
  send({ type: 'ready' });
  // Loaded now, not in the first try: most of that try's time was loading them.
  if (init.readsRows) void reader().catch(() => undefined);
  // The pool may hand over the next try while one runs: they run one after another, in order.
  const queue: Extract<ToWorker, { type: 'run' }>[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    for (let next = queue.shift(); next; next = queue.shift()) {
      send({ type: 'started', id: next.id });
      await runOne(script, context, next);
    }
    running = false;
  };
  process.on('message', (message: ToWorker) => {
    if (message.type === 'run') {
      queue.push(message);
      if (!running) void drain();
    } else if (message.type === 'shutdown') {
      // Tries handed over but not started never start: the pool answers them.
      queue.length = 0;
      void Promise.resolve(script.shutdown?.())
        .catch((err: unknown) =>
          send({ type: 'log', level: 'ERROR', text: `shutdown() failed: ${errorInfo(err).message}` }),
        )
        .finally(() => send({ type: 'closed' }));
    }
  });
}

preferredByTheOomKiller();
endWithTheHost();
process.once('message', (message: ToWorker) => {
  if (message.type === 'init') void start(message.init);
});
