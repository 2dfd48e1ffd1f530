import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { datasetKindOf } from '../datasets/index.js';
import { containers, runPaths } from '../storage/layout.js';
import { writeJson, type Storage } from '../storage/storage.js';
import { rowsToText } from '../outputs/rows.js';
import type { FailureRecord, MiniBatchResult } from '../outputs/records.js';
import { scratchRoot } from './paths.js';
import { flushScriptLog, hasEnded, runHasEnded, runOnPool } from './pools.js';
import { loadRun, miniBatchItems } from '../runs/record.js';
import { SHUT_DOWN, type RunOutcome } from './pool.js';
import { ParallelRunError } from '../errors.js';

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
  let outcome: RunOutcome;
  let missing: { item: string; reason: string }[] = [];
  const localToName = new Map<string, string>();
  try {
    // A run canceled while this try downloads stops its downloads too.
    const fetched = await datasetKindOf(run.settings.input).materialize(
      storage,
      run.settings.input,
      names,
      dir,
      () => hasEnded(input.runId),
    );
    missing = fetched.missing;
    const present: string[] = [];
    fetched.paths.forEach((p, i) => {
      if (p === undefined) return;
      present.push(p);
      localToName.set(p, names[i] ?? p);
    });
    // Nothing left to score (every file vanished since planning): the script is not woken for it.
    if (hasEnded(input.runId)) outcome = SHUT_DOWN;
    else if (present.length > 0) outcome = await runOnPool(storage, run, present, input.index);
    else outcome = { ok: true, rows: [], failures: [] };
  } finally {
    // Synchronously, as the files were written (see materialize).
    rmSync(dir, { recursive: true, force: true });
    await flushScriptLog(input.runId);
  }
  const base = { index: input.index, attempt: input.attempt, inputs: names.length };
  if (outcome.ok || outcome.kind !== 'ended') {
    if (options.mayWrite && !(await options.mayWrite())) throw new TryFencedError(input);
  }
  const runs = storage.blobs.getContainerClient(containers.runs);
  const durationMs = () => Math.round(performance.now() - started);

  if (!outcome.ok && outcome.kind === 'ended') return ended(names.length);
  if (!outcome.ok) {
    // A script that cannot start gets no more tries: each would fail the same way.
    const final = outcome.fatal === true || input.attempt >= maxTries;
    if (final) await writeFailedTry(storage, input.runId, input.index, input.attempt, names, outcome.error);
    const error = outcome.error.message.split('\n')[0] ?? '';
    return {
      ...base,
      ok: false,
      final,
      succeeded: 0,
      failedItems: final ? names.length : 0,
      error,
      ...(outcome.fatal ? { fatal: `the entry script cannot run: ${error}` } : {}),
      durationMs: durationMs(),
    };
  }

  const items: FailureRecord['items'] = missing.map((m) => ({
    item: m.item,
    error: m.reason,
    kind: 'missing',
  }));
  const named = new Map<string, string>();
  for (const f of outcome.failures) {
    const name = localToName.get(f.item) ?? (names.includes(f.item) ? f.item : undefined);
    if (name !== undefined) named.set(name, f.reason);
  }
  for (const [item, reason] of named) items.push({ item, error: reason, kind: 'named' });
  const unknown = names.length - outcome.rows.length - items.length;
  if (unknown > 0)
    items.push(...unnamedFailures(names, outcome.rows, new Set(items.map((i) => i.item)), unknown));
  const failedItems = names.length - outcome.rows.length;
  const text = Buffer.from(rowsToText(outcome.rows), 'utf8');
  await Promise.all([
    // The part says how many of its items failed: a failure record left by an earlier run of this
    // same try (at-least-once) is recognised as stale at finalize, at no extra request here.
    runs.getBlockBlobClient(runPaths.part(input.runId, input.index)).upload(text, text.length, {
      metadata: { failed: String(items.length) },
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
    succeeded: outcome.rows.length,
    failedItems,
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
): Promise<void> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  const record: FailureRecord = {
    index,
    attempts,
    items: names.map((item) => ({
      item,
      error: error.message,
      kind: 'try',
      ...(error.stack ? { stack: error.stack } : {}),
    })),
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

/**
 * run() returned fewer rows than inputs without naming which failed. When the rows carry the file
 * names (as `<file>: <digit>` does), the items no row mentions are exactly the failed ones; otherwise
 * the count is known but not the items, and each line lists the candidates.
 */
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
    error: `${why}; ${unknown} of these failed without being named: ${candidates.join(', ')}`,
  }));
}
