import type { RunSettings } from '../config/settings.js';
import { datasetKindOf } from '../datasets/index.js';
import type { Materialized } from '../datasets/kind.js';
import { partBody } from '../outputs/formats.js';
import type { RunRecord } from '../runs/record.js';
import type { Storage } from '../storage/storage.js';
import { failedItemsOf } from './failed-items.js';
import type { NamedFailure, RunOutcome, Scored, TryFailureKind } from './messages.js';
import { SHUT_DOWN } from './pool.js';
import { hasEnded, runOnPool } from './pools.js';
import { namedWhole, rowNamesApart } from './row-names.js';

/**
 * A try's inputs on the run's pool. Files are fetched here and their paths sent; a kind that
 * `readsInWorker` (tables) has the worker process read the rows and write the part itself, so
 * `fetched` is then undefined: the host never holds the rows.
 */
export async function scoreOnPool(
  storage: Storage,
  run: RunRecord,
  miniBatchIndex: number,
  items: string[],
  dir: string,
): Promise<{ outcome: RunOutcome; fetched?: Materialized }> {
  const input = run.settings.input;
  const kind = datasetKindOf(input);
  if (kind.readsInWorker) {
    if (hasEnded(run.runId)) return { outcome: SHUT_DOWN };
    const format = run.settings.append_row_format;
    const read = { input, items, ...(format === undefined ? {} : { format }) };
    return { outcome: await runOnPool(storage, run, { inputs: [], miniBatchIndex, read }) };
  }
  // A run canceled while this try downloads stops its downloads too.
  const fetched = await kind.materialize(storage, input, items, dir, () => hasEnded(run.runId));
  if (hasEnded(run.runId)) return { outcome: SHUT_DOWN, fetched };
  // Nothing left to score (every file vanished since planning): the script is not woken for it.
  if (fetched.inputs.length === 0) return { outcome: { ok: true, rows: [], failures: [] }, fetched };
  const outcome = await runOnPool(storage, run, {
    inputs: fetched.inputs,
    miniBatchIndex,
    ...(fetched.partitionKeyValues ? { partitionKeyValues: fetched.partitionKeyValues } : {}),
  });
  return { outcome, fetched };
}

/** Rows run() sent back, scored here as the worker scores a table's: the part, counts and error lines. */
export function scoredInHost(
  fetched: Materialized,
  rows: unknown[],
  failures: NamedFailure[],
  format: RunSettings['append_row_format'],
): Scored {
  return {
    part: partBody(rows, format),
    rows: rows.length,
    inputs: fetched.inputs.length + fetched.missing.length,
    failed: failedItemsOf(fetched, rows, failures),
  };
}

/**
 * Every input of a failed try by name, for its error lines: what was fetched, or, for rows the
 * worker read itself, read again (only on a final failure: the rows of a try that failed) in a
 * process apart, never here: the bytes that failed the try may crash whatever parses them.
 */
export async function inputsByName(
  storage: Storage,
  run: RunRecord,
  items: string[],
  dir: string,
  fetched: Materialized | undefined,
  failure: TryFailureKind,
): Promise<Materialized> {
  if (fetched) return fetched;
  const input = run.settings.input;
  const kind = datasetKindOf(input);
  if (!kind.readsInWorker) return kind.materialize(storage, input, items, dir);
  // Rows the worker could not read are not read again: their items are named whole.
  if (failure === 'unreadable') return namedWhole({ input, items });
  return rowNamesApart({ input, items }, run.settings.run_invocation_timeout * 1000);
}
