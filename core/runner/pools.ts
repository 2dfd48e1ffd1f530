import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isFolderMarker } from '../datasets/files.js';
import { errorMessage } from '../errors.js';
import { containers, runPaths } from '../storage/layout.js';
import { downloadModel, parseModelRef } from '../storage/models.js';
import { storage } from '../storage/storage.js';
import { localPathFor } from './inputs.js';
import { resolveEntryScript, scratchRoot } from './paths.js';
import { SHUT_DOWN, WorkerPool, type RunOutcome } from './pool.js';
import { removeScratch } from './scratch.js';
import type { RunRecord } from './runs.js';

/** Pools idle this long are shut down: in Azure, finalize may run on another instance than ours. */
const IDLE_MS = 120_000;

interface Entry {
  pool: Promise<WorkerPool>;
  lastUsed: number;
  /** Tries running on the pool or waiting for it: the idle sweep leaves the pool alone while any are. */
  active: number;
  log: string[];
  /** Whether `logs/user.log` exists yet: created once, then only appended to. */
  logCreated: boolean;
}

const pools = new Map<string, Entry>();
let sweeper: NodeJS.Timeout | undefined;

/**
 * Runs this instance knows have ended (finalized or canceled), newest last. Their tries still in
 * flight (downloading, or activities the host runs again after a restart) must not start a pool:
 * they would score a run nobody waits for, and hold the host's activity slots.
 */
const ended = new Set<string>();
const ENDED_REMEMBERED = 10_000;

function markEnded(runId: string): void {
  ended.add(runId);
  if (ended.size > ENDED_REMEMBERED) ended.delete(ended.values().next().value ?? runId);
}

/** Whether the run has ended, as far as this instance knows without asking storage. */
export function hasEnded(runId: string): boolean {
  return ended.has(runId);
}

/** The run ended: its pool here goes, and no try of it starts here again. */
export async function endRun(runId: string): Promise<void> {
  markEnded(runId);
  await shutdownPool(runId);
}

/** A run whose summary is written has ended, whichever instance ended it. */
async function endedElsewhere(runId: string): Promise<boolean> {
  const summary = storage().blobs.getContainerClient(containers.runs).getBlobClient(runPaths.summary(runId));
  if (!(await summary.exists())) return false;
  markEnded(runId);
  return true;
}

async function downloadSideInputs(run: RunRecord): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(run.settings.side_inputs)) {
    const container = storage().blobs.getContainerClient(ref.container);
    const target = path.join(scratchRoot(), run.runId, 'side', name);
    const prefix = ref.path.endsWith('/') || ref.path === '' ? ref.path : `${ref.path}/`;
    let files = 0;
    for await (const blob of container.listBlobsFlat({ prefix, includeMetadata: true })) {
      // An ADLS Gen2 folder marker is not a file (writing it would block the folder it names).
      if (isFolderMarker(blob.name, blob.metadata)) continue;
      const local = localPathFor(target, blob.name.slice(prefix.length));
      await mkdir(path.dirname(local), { recursive: true });
      await writeFile(local, await container.getBlobClient(blob.name).downloadToBuffer());
      files++;
    }
    if (files === 0) {
      // Not a folder: a single blob.
      await mkdir(target, { recursive: true });
      const local = path.join(target, path.basename(ref.path));
      await writeFile(local, await container.getBlobClient(ref.path).downloadToBuffer());
      out[name] = local;
    } else {
      out[name] = target;
    }
  }
  return out;
}

/**
 * The run's models, downloaded once for the pool's processes, each under the name the settings gave it,
 * its pinned `name:version` and its bare name: `getModel('mnist')` in a run declaring `mnist:1`
 * loads version 1, not whatever was registered since.
 */
async function pinnedModels(run: RunRecord, cache: string): Promise<Record<string, string>> {
  const pins = run.models ?? Object.fromEntries(run.settings.models.map((ref) => [ref, ref]));
  const folders: Record<string, string> = {};
  for (const [declared, pinned] of Object.entries(pins)) {
    const folder = await downloadModel(pinned, cache);
    folders[pinned] = folder;
    folders[declared] = folder;
    folders[parseModelRef(pinned).name] ??= folder;
  }
  return folders;
}

async function createPool(run: RunRecord, log: string[]): Promise<WorkerPool> {
  const s = run.settings;
  const scriptPath = resolveEntryScript(s.entry_script, s.source_directory);
  const outputDir = path.join(scratchRoot(), run.runId, 'script-output');
  await mkdir(outputDir, { recursive: true });
  const modelCache = path.join(scratchRoot(), 'models');
  return new WorkerPool({
    size: s.process_count_per_node,
    env: s.environment_variables,
    init: {
      scriptPath,
      runId: run.runId,
      arguments: s.arguments,
      sideInputs: await downloadSideInputs(run),
      outputDir,
      loggingLevel: s.logging_level,
      modelCache,
      models: await pinnedModels(run, modelCache),
    },
    onLog: (worker, level, text) => {
      const line = `${new Date().toISOString()} worker ${worker} ${level}: ${text}`;
      log.push(line);
      console.log(`[${run.runId}] ${line}`);
    },
  });
}

/**
 * Runs one try on the run's pool on this instance (created on its first mini-batch). The pool counts
 * as in use until the try ends, however long that is.
 */
export async function runOnPool(
  run: RunRecord,
  files: string[],
  miniBatchIndex: number,
): Promise<RunOutcome> {
  if (ended.has(run.runId)) return SHUT_DOWN;
  let entry = pools.get(run.runId);
  // Once per pool: a try the host runs again after a restart may belong to a run that has ended.
  if (!entry && (await endedElsewhere(run.runId))) return SHUT_DOWN;
  entry = pools.get(run.runId);
  if (!entry) {
    const log: string[] = [];
    const pool = createPool(run, log);
    // A pool that failed to start (e.g. a side input is missing) is tried afresh by the next mini-batch.
    pool.catch(() => pools.delete(run.runId));
    entry = { pool, log, lastUsed: Date.now(), active: 0, logCreated: false };
    pools.set(run.runId, entry);
    startSweeper();
  }
  entry.active++;
  try {
    const pool = await entry.pool;
    return await pool.run(files, miniBatchIndex, run.settings.run_invocation_timeout * 1000);
  } finally {
    entry.active--;
    entry.lastUsed = Date.now();
  }
}

/** Appends what the script logged since the last flush to `runs/<runId>/logs/user.log`. */
export async function flushScriptLog(runId: string): Promise<void> {
  const entry = pools.get(runId);
  if (entry) await flushLog(runId, entry);
}

async function flushLog(runId: string, entry: Entry): Promise<void> {
  if (entry.log.length === 0) return;
  const text = `${entry.log.splice(0).join('\n')}\n`;
  const blob = storage()
    .blobs.getContainerClient(containers.runs)
    .getAppendBlobClient(runPaths.scriptLog(runId));
  try {
    if (!entry.logCreated) {
      await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' } });
      entry.logCreated = true;
    }
    await blob.appendBlock(text, Buffer.byteLength(text));
  } catch (err) {
    console.error(`[${runId}] could not append to logs/user.log: ${errorMessage(err)}`);
  }
}

export async function shutdownPool(runId: string): Promise<void> {
  const entry = pools.get(runId);
  if (!entry) return;
  pools.delete(runId);
  const pool = await entry.pool.catch(() => undefined);
  await pool?.shutdown();
  // After the processes are gone: what shutdown() logged and the last lines printed are in too.
  await flushLog(runId, entry);
  // The run's side inputs and script scratch folder: nothing else reads them once its processes are
  // gone, unless a new pool for the run started meanwhile.
  if (!pools.has(runId)) await removeScratch(path.join(scratchRoot(), runId));
}

function startSweeper(): void {
  if (sweeper) return;
  sweeper = setInterval(() => {
    for (const [runId, entry] of pools) {
      if (entry.active === 0 && Date.now() - entry.lastUsed > IDLE_MS) void shutdownPool(runId);
    }
    if (pools.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }, 30_000);
  sweeper.unref();
}
