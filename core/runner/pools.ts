import { executionProviders } from '../config/pools.js';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { datasetKindOf } from '../datasets/index.js';
import type { Storage } from '../storage/storage.js';
import { endedElsewhere, hasEnded, markEnded } from './ended-runs.js';
import { startIdleSweep } from './idle-sweep.js';
import { processRunScratch, resolveEntryScript, scratchRoot, scriptsRoot } from './paths.js';
import { downloadSideInputs, pinnedModels } from './pool-downloads.js';
import { initTimeoutMs, SHUT_DOWN, WorkerPool, type RunOutcome } from './pool.js';
import type { MiniBatchCall } from './messages.js';
import type { RunRecord } from '../runs/record.js';
import { removeRunScratch } from './scratch.js';
import { ScriptLog } from './script-log.js';

/**
 * The registry of this instance's worker-process pools, one per run: created while the run is planned
 * (warmPool) or by its first try, shut down when the run ends (endRun), when another run comes after
 * it ended elsewhere (retireEndedPools), or when it sits idle (idle-sweep.ts).
 */

export { hasEnded } from './ended-runs.js';

interface Entry {
  pool: Promise<WorkerPool>;
  lastUsed: number;
  /** Tries running on the pool or waiting for it: the idle sweep leaves the pool alone while any are. */
  active: number;
  log: ScriptLog;
}

const pools = new Map<string, Entry>();

/**
 * Whether the run has ended: known here, or told by its summary. A try of a run that ended (a try the
 * host runs again after a restart, a message left on a pool's queue, a forged one) must not download,
 * score or write anything: its parts are the output a reader may already be reading. With a pool here
 * the run was live lately, and an answer of the last few seconds stands (one summary read per run and
 * interval, however many tries ask); without one, the summary is read now. A run found ended has its
 * pool here shut down at once, not at the next heartbeat or idle sweep.
 */
export async function runHasEnded(storage: Storage, runId: string): Promise<boolean> {
  if (hasEnded(runId)) return true;
  if (!(await endedElsewhere(storage, runId, { fresh: !pools.has(runId) }))) return false;
  await endRun(runId);
  return true;
}

/** The run ended: its pool here goes, and no try of it starts here again. */
export async function endRun(runId: string): Promise<void> {
  markEnded(runId);
  // A pool that could not be created (a side input gone) left what it had downloaded, and no pool
  // to remove it with; a pool here removes its own as it shuts down.
  if (pools.has(runId)) await shutdownPool(runId);
  else await removeRunScratch(runId);
}

async function createPool(storage: Storage, run: RunRecord, log: ScriptLog): Promise<WorkerPool> {
  const s = run.settings;
  const scriptPath = resolveEntryScript(s.entry_script, s.source_directory);
  const outputDir = path.join(processRunScratch(run.runId), 'script-output');
  await mkdir(outputDir, { recursive: true });
  // Per storage account: `mnist:2` of another account (another app on this host, an earlier Azurite)
  // is another model, and must never be taken from the cache for this one.
  const account = createHash('sha256').update(storage.blobs.url).digest('hex').slice(0, 16);
  const modelCache = path.join(scratchRoot(), 'models', account);
  return new WorkerPool({
    size: s.process_count_per_node,
    env: s.environment_variables,
    init: {
      scriptPath,
      scriptsRoot: scriptsRoot(),
      runId: run.runId,
      arguments: s.arguments,
      sideInputs: await downloadSideInputs(storage, run),
      outputDir,
      loggingLevel: s.logging_level,
      modelCache,
      models: await pinnedModels(storage, run, modelCache),
      executionProviders: executionProviders(),
      readsRows: datasetKindOf(s.input).readsInWorker === true,
    },
    onLog: (worker, level, text) => log.add(worker, level, text),
    initTimeoutMs: initTimeoutMs(s.run_invocation_timeout),
  });
}

/**
 * The run's pool on this instance, created if it has none yet (by its first try, or by warmPool while
 * the run is planned), with the storage that caller brings.
 */
function entryFor(storage: Storage, run: RunRecord): Entry {
  const existing = pools.get(run.runId);
  if (existing) return existing;
  const log = new ScriptLog(storage, run.runId);
  const pool = createPool(storage, run, log);
  // A pool that failed to start (e.g. a side input is missing) is tried afresh by the next mini-batch.
  pool.catch(() => pools.delete(run.runId));
  const entry: Entry = { pool, log, lastUsed: Date.now(), active: 0 };
  pools.set(run.runId, entry);
  startIdleSweep(pools, shutdownPool);
  // Best effort: a pool left here goes with the idle sweep.
  void retireEndedPools(storage, run.runId).catch(() => undefined);
  return entry;
}

/** Counts the pool as in use (the idle sweep leaves it) until `use` settles. */
async function using<T>(entry: Entry, use: (pool: WorkerPool) => Promise<T>): Promise<T> {
  entry.active++;
  try {
    return await use(await entry.pool);
  } finally {
    entry.active--;
    entry.lastUsed = Date.now();
  }
}

/**
 * Runs one try on the run's pool on this instance. The pool counts as in use until the try ends,
 * however long that is.
 */
export async function runOnPool(storage: Storage, run: RunRecord, batch: MiniBatchCall): Promise<RunOutcome> {
  if (hasEnded(run.runId)) return SHUT_DOWN;
  return using(entryFor(storage, run), (pool) => pool.run(batch, run.settings.run_invocation_timeout * 1000));
}

/**
 * Starts the run's pool here before its first try: its side inputs and models download and its
 * processes run init() while the plan lists the dataset. On one instance (the devhost) that takes
 * the script's start off the clock of the run's first mini-batches. The pool counts as in use until
 * `planning` settles (a long listing does not lose it to the idle sweep), then as any idle pool: one
 * no try comes for (the run was reused, or its tries go to other instances; init() hung, even) goes
 * when the run ends here or with the idle sweep. Rejects if the pool cannot be created; its first try
 * then creates it afresh and reports why.
 */
export async function warmPool(storage: Storage, run: RunRecord, planning: Promise<unknown>): Promise<void> {
  if (hasEnded(run.runId)) return;
  await using(entryFor(storage, run), async (pool) => {
    void pool.start();
    await planning.catch(() => undefined);
  });
}

/**
 * A new run came to this instance: the idle pools of runs that ended elsewhere (finalized on another
 * instance, or a pool worker's earlier runs) go now, not after the idle sweep's two minutes, so their
 * processes stop holding memory and being watched. One summary read per idle pool.
 */
async function retireEndedPools(storage: Storage, newRunId: string): Promise<void> {
  for (const [runId, entry] of pools) {
    if (runId === newRunId || entry.active > 0) continue;
    const ended = await endedElsewhere(storage, runId, { fresh: true }).catch(() => false);
    // Still idle: a try of it may have come while its summary was read.
    if (ended && pools.get(runId)?.active === 0) await shutdownPool(runId);
  }
}

/** Appends what the script logged since the last flush to `runs/<runId>/logs/user.log`. */
export async function flushScriptLog(runId: string): Promise<void> {
  await pools.get(runId)?.log.flush();
}

export async function shutdownPool(runId: string): Promise<void> {
  const entry = pools.get(runId);
  if (!entry) return;
  pools.delete(runId);
  const pool = await entry.pool.catch(() => undefined);
  await pool?.shutdown();
  // After the processes are gone: what shutdown() logged and the last lines printed are in too.
  await entry.log.flush();
  // This process's side inputs and script scratch folder of the run: nothing else reads them once its
  // processes are gone, unless a new pool for the run started meanwhile. Another process's (a second
  // worker on this machine, the devhost) are not this one's to remove: its tries still read them.
  if (!pools.has(runId)) await removeRunScratch(runId);
}

/** Every pool on this instance, e.g. when a pool worker stops. */
export async function shutdownAllPools(): Promise<void> {
  await Promise.all([...pools.keys()].map((runId) => shutdownPool(runId)));
}
