import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { downloadModel } from '../storage/models.js';
import type { EntryScript, InitContext, RunContext, ScriptLogger } from './contract.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';

/** One pool thread: loads the entry script, calls init() once, then run() per mini-batch. */
const init = workerData as WorkerInit;
if (!parentPort) throw new Error('the runner worker must run in a worker thread');
const port = parentPort;

const send = (message: FromWorker) => port.postMessage(message);

function logger(): ScriptLogger {
  const order = { DEBUG: 0, INFO: 1, WARNING: 2 } as const;
  const at =
    (level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR') =>
    (...args: unknown[]) => {
      if (level !== 'ERROR' && order[level] < order[init.loggingLevel]) return;
      const text = args
        .map((a) =>
          typeof a === 'string' ? a : a instanceof Error ? (a.stack ?? a.message) : JSON.stringify(a),
        )
        .join(' ');
      send({ type: 'log', level, text });
    };
  return { debug: at('DEBUG'), info: at('INFO'), warn: at('WARNING'), error: at('ERROR') };
}

function errorInfo(err: unknown): { message: string; stack?: string; name?: string } {
  if (err instanceof Error)
    return { message: err.message, name: err.name, ...(err.stack ? { stack: err.stack } : {}) };
  return { message: String(err) };
}

const context: InitContext = {
  runId: init.runId,
  arguments: init.arguments,
  sideInputs: init.sideInputs,
  // The run's declared models are pinned and already here; any other is resolved when asked for.
  getModel: async (ref: string) => init.models[ref] ?? downloadModel(ref, init.modelCache),
  logger: logger(),
  outputDir: init.outputDir,
  workerIndex: init.workerIndex,
};

async function load(): Promise<EntryScript> {
  const mod = (await import(pathToFileURL(init.scriptPath).href)) as Partial<EntryScript>;
  if (typeof mod.run !== 'function') {
    throw new Error(
      `entry script ${path.basename(init.scriptPath)} does not export a run(miniBatch, ctx) function`,
    );
  }
  return mod as EntryScript;
}

async function runOne(script: EntryScript, message: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const failures: { item: string; reason: string }[] = [];
  const ctx: RunContext = {
    ...context,
    miniBatchIndex: message.miniBatchIndex,
    fail: (item: unknown, reason: string) =>
      failures.push({ item: typeof item === 'string' ? item : JSON.stringify(item), reason }),
  };
  let rows: unknown;
  try {
    rows = await script.run(message.files, ctx);
  } catch (err) {
    send({ type: 'failed', id: message.id, error: errorInfo(err) });
    return;
  }
  try {
    send({ type: 'done', id: message.id, rows, failures });
  } catch (err) {
    send({
      type: 'failed',
      id: message.id,
      error: {
        message: `run() returned values that cannot be passed on (${errorInfo(err).message}): return strings, numbers or plain objects`,
      },
    });
  }
}

async function main(): Promise<void> {
  let script: EntryScript;
  try {
    script = await load();
    await script.init?.(context);
  } catch (err) {
    send({ type: 'initFailed', error: errorInfo(err) });
    return;
  }
  send({ type: 'ready' });
  // The pool may hand over the next try while one runs: they run one after another, in order.
  const queue: Extract<ToWorker, { type: 'run' }>[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    for (let next = queue.shift(); next; next = queue.shift()) {
      send({ type: 'started', id: next.id });
      await runOne(script, next);
    }
    running = false;
  };
  port.on('message', (message: ToWorker) => {
    if (message.type === 'run') {
      queue.push(message);
      if (!running) void drain();
    } else {
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

void main();
