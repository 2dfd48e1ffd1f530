import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { datasetKindOf } from '../datasets/index.js';
import { containers, runPaths } from '../storage/layout.js';
import { writeJson, type Storage } from '../storage/storage.js';
import type { Materialized } from '../datasets/kind.js';
import { ParallelRunError } from '../errors.js';
import { encodeColumns, encodeTypes, MAX_COLUMNS_METADATA, partBody } from '../outputs/formats.js';
import type { NamedFailure } from './messages.js';
import type { FailureRecord, MiniBatchResult } from '../outputs/records.js';
import { scratchRoot } from './paths.js';
import { flushScriptLog, hasEnded, runHasEnded, runOnPool } from './pools.js';
import { loadRun, miniBatchItems, type RunRecord } from '../runs/record.js';
import { SHUT_DOWN, type RunOutcome } from './pool.js';

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
  fetched: Materialized;
  outcome: RunOutcome;
  started: number;
}

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
function endedResult(input: MiniBatchInput, inputs: number, started: number): MiniBatchResult {
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
  let outcome: RunOutcome;
  let fetched: Materialized = { inputs: [], names: [], missing: [] };
  try {
    // A run canceled while this try downloads stops its downloads too.
    fetched = await datasetKindOf(run.settings.input).materialize(
      storage,
      run.settings.input,
      names,
      dir,
      () => hasEnded(input.runId),
    );
    // Nothing left to score (every file vanished since planning): the script is not woken for it.
    if (hasEnded(input.runId)) outcome = SHUT_DOWN;
    else if (fetched.inputs.length > 0)
      outcome = await runOnPool(storage, run, {
        inputs: fetched.inputs,
        miniBatchIndex: input.index,
        ...(fetched.partitionKeyValues ? { partitionKeyValues: fetched.partitionKeyValues } : {}),
      });
    else outcome = { ok: true, rows: [], failures: [] };
  } finally {
    // Synchronously, as the files were written (see materialize).
    rmSync(dir, { recursive: true, force: true });
    await flushScriptLog(input.runId);
  }
  return { input, run, fetched, outcome, started };
}

/** A table's items are rows, known once read: its manifest names byte ranges or row groups. */
function inputsOf({ fetched }: TriedMiniBatch): number {
  return fetched.inputs.length + fetched.missing.length;
}

/**
 * A try whose every input became a row: its rows can share one part with its neighbours' (a group
 * of tries, execute-group.ts). Undefined for any other outcome, which is written on its own.
 */
export function cleanRows(tried: TriedMiniBatch): unknown[] | undefined {
  const { outcome, fetched } = tried;
  if (!outcome.ok || fetched.missing.length > 0) return undefined;
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
  const { missing } = fetched;
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
    else
      await writeFailedTry(
        storage,
        input.runId,
        input.index,
        input.attempt,
        fetched.names,
        outcome.error,
        missing,
      );
    const error = outcome.error.message.split('\n')[0] ?? '';
    return {
      ...base,
      ok: false,
      final,
      succeeded: 0,
      failedItems: final ? inputs : 0,
      error,
      ...(outcome.fatal ? { fatal: `the entry script cannot run: ${error}` } : {}),
      durationMs: durationMs(),
    };
  }

  const items = failedItemsOf(fetched, outcome.rows, outcome.failures);
  const runs = storage.blobs.getContainerClient(containers.runs);
  await Promise.all([
    // The part says how many of its items failed: a failure record left by an earlier run of this
    // same try (at-least-once) is recognised as stale at finalize, at no extra request here.
    writePart(storage, run, { first: input.index, last: input.index }, outcome.rows, items.length),
    items.length > 0
      ? writeJson(runs, runPaths.failure(input.runId, input.index), {
          index: input.index,
          attempts: input.attempt,
          items,
        } satisfies FailureRecord)
      : Promise.resolve(),
  ]);
  return {
    ...base,
    ok: true,
    final: true,
    succeeded: outcome.rows.length,
    failedItems: inputs - outcome.rows.length,
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
  rows: unknown[],
  failed: number,
): Promise<void> {
  const body = partBody(rows, run.settings.append_row_format);
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
      rows: String(rows.length),
      ...(span.last === span.first ? {} : { last: String(span.last) }),
      ...(columns === undefined ? {} : { columns }),
      ...(types === undefined ? {} : { types }),
    },
    blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' },
  });
}

/**
 * The error lines of a try that ran: inputs that could not be read, those the script named with
 * ctx.fail (by position, or by the path or row text it passed), then any it left without a row
 * and unnamed.
 */
function failedItemsOf(
  fetched: Materialized,
  rows: unknown[],
  failures: NamedFailure[],
): FailureRecord['items'] {
  const items: FailureRecord['items'] = fetched.missing.map((m) => ({
    item: m.item,
    error: m.reason,
    kind: 'missing',
  }));
  const named = new Map<string, string>();
  for (const f of failures) {
    const byText = fetched.inputs.indexOf(f.item);
    const at = f.index ?? (byText >= 0 ? byText : undefined);
    const name = at === undefined ? undefined : fetched.names[at];
    if (name !== undefined) named.set(name, f.reason);
  }
  for (const [item, reason] of named) items.push({ item, error: reason, kind: 'named' });
  const unknown = fetched.inputs.length - rows.length - named.size;
  if (unknown > 0) items.push(...unnamedFailures(fetched.names, rows, new Set(named.keys()), unknown));
  return items;
}

async function writeFailedTry(
  storage: Storage,
  runId: string,
  index: number,
  attempts: number,
  names: string[],
  error: { message: string; stack?: string },
  missing: Materialized['missing'] = [],
): Promise<void> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  const record: FailureRecord = {
    index,
    attempts,
    items: [
      ...missing.map((m) => ({ item: m.item, error: m.reason, kind: 'missing' as const })),
      ...names.map((item) => ({
        item,
        error: error.message,
        kind: 'try' as const,
        ...(error.stack ? { stack: error.stack } : {}),
      })),
    ],
  };
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
  const names = await miniBatchItems(storage, input.runId, input.shard, input.index);
  await writeFailedTry(storage, input.runId, input.index, input.attempt, names, { message: input.error });
}

/**
 * run() returned fewer rows than inputs without naming which failed. When the rows carry the file
 * names (as `<file>: <digit>` does), the items no row mentions are exactly the failed ones; otherwise
 * the count is known but not the items, and each line lists the candidates.
 */
/** A table's mini-batch holds thousands of rows: an error line names a few candidates, not all. */
const CANDIDATES_SHOWN = 20;

function unnamedFailures(
  names: string[],
  rows: unknown[],
  accounted: Set<string>,
  unknown: number,
): FailureRecord['items'] {
  const candidates = names.filter((n) => !accounted.has(n));
  const text = rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
  const unmentioned = candidates.filter((n) => !text.some((t) => t.includes(path.basename(n))));
  const why = `run() returned ${rows.length} rows for ${names.length} inputs`;
  const shown = candidates.slice(0, CANDIDATES_SHOWN).join(', ');
  const more =
    candidates.length > CANDIDATES_SHOWN ? ` and ${candidates.length - CANDIDATES_SHOWN} more` : '';
  if (unmentioned.length === unknown) {
    return unmentioned.map((item) => ({
      item,
      kind: 'unknown',
      error: `${why} and none for this item; name failures with ctx.fail(item, reason)`,
    }));
  }
  return Array.from({ length: unknown }, (_, k) => ({
    item: `(unidentified ${k + 1} of ${unknown})`,
    kind: 'unknown' as const,
    error: `${why}; ${unknown} of these failed without being named: ${shown}${more}`,
  }));
}
