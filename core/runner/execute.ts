import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { containers, runPaths } from '../storage/layout.js';
import { writeJson, type Storage } from '../storage/storage.js';
import type { Materialized } from '../datasets/kind.js';
import { ParallelRunError } from '../errors.js';
import { encodeColumns, encodeTypes, MAX_COLUMNS_METADATA, type PartBody } from '../outputs/formats.js';
import { failureRecord, type MiniBatchResult } from '../outputs/records.js';
import { scratchRoot } from './paths.js';
import { flushScriptLog, runHasEnded } from './pools.js';
import { removeTryFolder } from './scratch.js';
import { loadRun, miniBatchItems, type RunRecord } from '../runs/record.js';
import type { RunOutcome } from './messages.js';
import { inputsByName, scoredInHost, scoreOnPool } from './score.js';
import { itemNames } from '../datasets/index.js';

export interface MiniBatchInput {
  runId: string;
  shard: number;
  index: number;
  attempt: number;
}

export interface ExecuteOptions {
  /**
   * Asked just before the try writes anything: false means the try is no longer this caller's (a pool
   * worker whose claim was given up), and it ends with `TryFencedError`, writing nothing.
   */
  mayWrite?: () => Promise<boolean>;
}

/** The try was given up while it ran (ExecuteOptions.mayWrite): nothing was written or counted. */
export class TryFencedError extends ParallelRunError {
  constructor(input: MiniBatchInput) {
    super(
      'CONFLICT',
      `mini-batch ${input.index} (attempt ${input.attempt}) of run '${input.runId}' was given up while it ran: its result is dropped`,
    );
    this.name = 'TryFencedError';
  }
}

/** A try whose script ran (or could not): what it read, and what run() did with it. */
export interface TriedMiniBatch {
  input: MiniBatchInput;
  run: RunRecord;
  /** The mini-batch's items as the manifest names them. */
  names: string[];
  /** Where its files were fetched (gone once it ran). */
  dir: string;
  /** What the host fetched; undefined when the worker process read the rows itself (tables). */
  fetched?: Materialized;
  outcome: RunOutcome;
  started: number;
}

const EMPTY: Materialized = { inputs: [], names: [], missing: [] };

/** Inputs of a mini-batch: those run() got and those that could not be read. */
const count = (m: Materialized | undefined) => (m ? m.inputs.length + m.missing.length : 0);

/**
 * One try of one mini-batch: fetch its files, run the entry script on the pool, write its rows to
 * `parts/<index>` and its failed items to `failures/<index>.json`. Both names are fixed, so a try
 * that runs twice (at-least-once) overwrites itself. Script failures come back as a result, not an
 * exception: the shard orchestrator decides whether another try follows.
 */
export async function executeMiniBatch(
  storage: Storage,
  input: MiniBatchInput,
  options: ExecuteOptions = {},
): Promise<MiniBatchResult> {
  const tried = await tryMiniBatch(storage, input);
  if ('index' in tried) return tried;
  const { outcome } = tried;
  if (outcome.ok || outcome.kind !== 'ended') {
    if (options.mayWrite && !(await options.mayWrite())) throw new TryFencedError(input);
  }
  return settleTry(storage, tried);
}

/** A try that wrote and counted nothing: its run ended (canceled) before or under it. */
export function endedResult(input: MiniBatchInput, inputs: number, started: number): MiniBatchResult {
  return {
    index: input.index,
    attempt: input.attempt,
    inputs,
    ok: false,
    final: true,
    ended: true,
    succeeded: 0,
    failedItems: 0,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Reads the mini-batch and runs the script on it; writes nothing. An ended run gives its result at once. */
export async function tryMiniBatch(
  storage: Storage,
  input: MiniBatchInput,
): Promise<TriedMiniBatch | MiniBatchResult> {
  const started = performance.now();
  // The run ended (canceled) before or under this try: nothing is read, written or counted.
  if (await runHasEnded(storage, input.runId)) return endedResult(input, 0, started);
  const run = await loadRun(storage, input.runId);
  const names = await miniBatchItems(storage, input.runId, input.shard, input.index);
  const dir = path.join(scratchRoot(), input.runId, `${input.index}-${input.attempt}-${randomUUID()}`);
  let tried: Awaited<ReturnType<typeof scoreOnPool>> | undefined;
  try {
    tried = await scoreOnPool(storage, run, input.index, names, dir);
  } finally {
    removeTryFolder(dir, tried?.fetched?.inputs);
    await flushScriptLog(input.runId);
  }
  return { input, run, names, dir, ...tried, started };
}

/** A table's items are rows, known once read: its manifest names byte ranges or row groups. */
function inputsOf({ fetched, outcome }: TriedMiniBatch): number {
  return outcome.ok && outcome.scored ? outcome.scored.inputs : count(fetched);
}

/**
 * A try whose every input became a row: its rows can share one part with its neighbours' (a group
 * of tries, execute-group.ts). Undefined for any other outcome, which is written on its own.
 */
export function cleanRows(tried: TriedMiniBatch): unknown[] | undefined {
  const { outcome, fetched } = tried;
  // A part the worker wrote itself (tables) is written as it is.
  if (!outcome.ok || outcome.scored || !fetched || fetched.missing.length > 0) return undefined;
  if (outcome.failures.length > 0 || outcome.rows.length !== fetched.inputs.length) return undefined;
  return outcome.rows;
}

/** The result of a clean try (see cleanRows) whose rows are written. */
export function succeededResult(tried: TriedMiniBatch): MiniBatchResult {
  const inputs = inputsOf(tried);
  return {
    index: tried.input.index,
    attempt: tried.input.attempt,
    inputs,
    ok: true,
    final: true,
    succeeded: inputs,
    failedItems: 0,
    durationMs: Math.round(performance.now() - tried.started),
  };
}

/** Writes what a try leaves (its part and failure record, or its failed items) and reports its counts. */
export async function settleTry(storage: Storage, tried: TriedMiniBatch): Promise<MiniBatchResult> {
  const { input, run, fetched, outcome, started } = tried;
  const maxTries = run.settings.run_max_try;
  const inputs = inputsOf(tried);
  const base = { index: input.index, attempt: input.attempt, inputs };
  const durationMs = () => Math.round(performance.now() - started);

  if (!outcome.ok && outcome.kind === 'ended') return endedResult(input, inputs, started);
  if (!outcome.ok) {
    // A script that cannot start gets no more tries: each would fail the same way.
    const final = outcome.fatal === true || input.attempt >= maxTries;
    // Another try follows: a part an earlier run of this try left (a group's, covering its
    // neighbours too, execute-group.ts) goes, so only what the next try writes stands.
    if (!final) await deletePart(storage, input.runId, input.index);
    const all = final
      ? await inputsByName(storage, run, tried.names, tried.dir, fetched, outcome.kind)
      : undefined;
    if (all)
      await writeFailedTry(
        storage,
        input.runId,
        input.index,
        input.attempt,
        all.names,
        outcome.error,
        all.missing,
      );
    const error = outcome.error.message.split('\n')[0] ?? '';
    return {
      ...base,
      inputs: all ? count(all) : inputs,
      ok: false,
      final,
      succeeded: 0,
      failedItems: all ? count(all) : 0,
      error,
      ...(outcome.fatal ? { fatal: `the entry script cannot run: ${error}` } : {}),
      durationMs: durationMs(),
    };
  }

  const scored =
    outcome.scored ??
    scoredInHost(fetched ?? EMPTY, outcome.rows, outcome.failures, run.settings.append_row_format);
  const items = scored.failed;
  const runs = storage.blobs.getContainerClient(containers.runs);
  await Promise.all([
    // The part says how many of its items failed: a failure record left by an earlier run of this
    // same try (at-least-once) is recognised as stale at finalize, at no extra request here.
    writePart(
      storage,
      run,
      { first: input.index, last: input.index },
      scored.part,
      scored.rows,
      items.length,
    ),
    items.length > 0
      ? writeJson(
          runs,
          runPaths.failure(input.runId, input.index),
          failureRecord(input.index, input.attempt, items, scored.sharedError),
        )
      : Promise.resolve(),
  ]);
  return {
    ...base,
    ok: true,
    final: true,
    succeeded: scored.rows,
    failedItems: inputs - scored.rows,
    durationMs: durationMs(),
  };
}

/**
 * `parts/<first>`: the rows of mini-batches `first`…`last` (one, or a group's consecutive clean
 * tries), with what finalize needs in its metadata: failed items, rows, the last mini-batch it
 * covers, and for CSV and Parquet its columns and their types.
 */
export async function writePart(
  storage: Storage,
  run: RunRecord,
  span: { first: number; last: number },
  body: PartBody,
  rows: number,
  failed: number,
): Promise<void> {
  const columns = body.columns ? encodeColumns(body.columns) : undefined;
  const types = body.types ? encodeTypes(body.types) : undefined;
  if ((columns?.length ?? 0) + (types?.length ?? 0) > MAX_COLUMNS_METADATA) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `append_row_format "${run.settings.append_row_format}": the rows of mini-batch ${span.first} have too many columns to compose (${body.columns?.length}); use "jsonl"`,
      'append_row_format',
    );
  }
  const runs = storage.blobs.getContainerClient(containers.runs);
  await runs.getBlockBlobClient(runPaths.part(run.runId, span.first)).upload(body.bytes, body.bytes.length, {
    metadata: {
      failed: String(failed),
      rows: String(rows),
      ...(span.last === span.first ? {} : { last: String(span.last) }),
      ...(columns === undefined ? {} : { columns }),
      ...(types === undefined ? {} : { types }),
    },
    blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' },
  });
}

async function writeFailedTry(
  storage: Storage,
  runId: string,
  index: number,
  attempts: number,
  names: readonly string[],
  error: { message: string; stack?: string },
  missing: Materialized['missing'] = [],
): Promise<void> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  const record = failureRecord(index, attempts, [
    ...missing.map((m) => ({ item: m.item, error: m.reason, kind: 'missing' as const })),
    ...names.map((item) => ({
      item,
      error: error.message,
      kind: 'try' as const,
      ...(error.stack ? { stack: error.stack } : {}),
    })),
  ]);
  // A part left by an earlier try (one the host lost after it wrote its rows) must not reach the
  // output: these items end as error lines, so they must not also end as rows. Deleted first, so a
  // crash in between leaves neither, and the lost-try path records the failure again.
  await deletePart(storage, runId, index);
  await writeJson(runs, runPaths.failure(runId, index), record);
}

async function deletePart(storage: Storage, runId: string, index: number): Promise<void> {
  await storage.blobs
    .getContainerClient(containers.runs)
    .getBlockBlobClient(runPaths.part(runId, index))
    .deleteIfExists();
}

/** For a try the host lost (the activity itself threw): record its items as failed, so none goes missing. */
export async function recordLostMiniBatch(
  storage: Storage,
  input: MiniBatchInput & { error: string },
): Promise<void> {
  const [names, run] = await Promise.all([
    miniBatchItems(storage, input.runId, input.shard, input.index),
    loadRun(storage, input.runId),
  ]);
  const named = itemNames(run.settings.input, names);
  await writeFailedTry(storage, input.runId, input.index, input.attempt, named, {
    message: input.error,
  });
}
