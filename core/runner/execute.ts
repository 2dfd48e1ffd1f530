import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { containers, runPaths } from '../storage/layout.js';
import { writeJson, type Storage } from '../storage/storage.js';
import type { Materialized } from '../datasets/kind.js';
import { ParallelRunError } from '../errors.js';
import { encodeColumns, encodeTypes, MAX_COLUMNS_METADATA } from '../outputs/formats.js';
import type { FailureRecord, MiniBatchResult } from '../outputs/records.js';
import { scratchRoot } from './paths.js';
import { flushScriptLog, runHasEnded } from './pools.js';
import { loadRun, miniBatchItems } from '../runs/record.js';
import { inputsByName, scoredInHost, scoreOnPool } from './score.js';

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
  const started = performance.now();
  const ended = (inputs: number): MiniBatchResult => ({
    index: input.index,
    attempt: input.attempt,
    inputs,
    ok: false,
    final: true,
    ended: true,
    succeeded: 0,
    failedItems: 0,
    durationMs: Math.round(performance.now() - started),
  });
  // The run ended (canceled) before or under this try: nothing is read, written or counted.
  if (await runHasEnded(storage, input.runId)) return ended(0);
  const run = await loadRun(storage, input.runId);
  const maxTries = run.settings.run_max_try;
  const names = await miniBatchItems(storage, input.runId, input.shard, input.index);
  const dir = path.join(scratchRoot(), input.runId, `${input.index}-${input.attempt}-${randomUUID()}`);
  let tried: Awaited<ReturnType<typeof scoreOnPool>>;
  try {
    tried = await scoreOnPool(storage, run, input.index, names, dir);
  } finally {
    // Synchronously, as the files were written (see materialize).
    rmSync(dir, { recursive: true, force: true });
    await flushScriptLog(input.runId);
  }
  const { outcome, fetched } = tried;
  // A table's items are rows, known once read: its manifest names byte ranges or row groups.
  const inputs = outcome.ok && outcome.scored ? outcome.scored.inputs : count(fetched);
  const base = { index: input.index, attempt: input.attempt, inputs };
  if (outcome.ok || outcome.kind !== 'ended') {
    if (options.mayWrite && !(await options.mayWrite())) throw new TryFencedError(input);
  }
  const runs = storage.blobs.getContainerClient(containers.runs);
  const durationMs = () => Math.round(performance.now() - started);

  if (!outcome.ok && outcome.kind === 'ended') return ended(inputs);
  if (!outcome.ok) {
    // A script that cannot start gets no more tries: each would fail the same way.
    const final = outcome.fatal === true || input.attempt >= maxTries;
    const all = final ? await inputsByName(storage, run, names, dir, fetched) : undefined;
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
  const { part: body, failed: items } = scored;
  const columns = body.columns ? encodeColumns(body.columns) : undefined;
  const types = body.types ? encodeTypes(body.types) : undefined;
  if ((columns?.length ?? 0) + (types?.length ?? 0) > MAX_COLUMNS_METADATA) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `append_row_format "${run.settings.append_row_format}": the rows of mini-batch ${input.index} have too many columns to compose (${body.columns?.length}); use "jsonl"`,
      'append_row_format',
    );
  }
  await Promise.all([
    // The part says how many of its items failed: a failure record left by an earlier run of this
    // same try (at-least-once) is recognised as stale at finalize, at no extra request here.
    runs.getBlockBlobClient(runPaths.part(input.runId, input.index)).upload(body.bytes, body.bytes.length, {
      metadata: {
        failed: String(items.length),
        rows: String(scored.rows),
        ...(columns === undefined ? {} : { columns }),
        ...(types === undefined ? {} : { types }),
      },
      blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' },
    }),
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
    succeeded: scored.rows,
    failedItems: inputs - scored.rows,
    durationMs: durationMs(),
  };
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
  await runs.getBlockBlobClient(runPaths.part(runId, index)).deleteIfExists();
  await writeJson(runs, runPaths.failure(runId, index), record);
}

/** For a try the host lost (the activity itself threw): record its items as failed, so none goes missing. */
export async function recordLostMiniBatch(
  storage: Storage,
  input: MiniBatchInput & { error: string },
): Promise<void> {
  const names = await miniBatchItems(storage, input.runId, input.shard, input.index);
  await writeFailedTry(storage, input.runId, input.index, input.attempt, names, { message: input.error });
}
