import { inputCount, type Materialized, type TableView } from '../datasets/kind.js';
import { partBody, type PartBody } from '../outputs/formats.js';
import { shareErrors } from '../outputs/records.js';
import { joinCarried, rowsCarried, type Carried } from './carry-columns.js';
import { failedItemsOf } from './failed-items.js';
import type { ErrorInfo, FromWorker, NamedFailure, ReadInWorker, Scored } from './messages.js';
import { checkReturned } from './returned.js';

/** What calling run() on some inputs gave: its rows and the inputs it named failed, or what it threw. */
export type Called = { rows: unknown; failures: NamedFailure[] } | { error: ErrorInfo };

/** A failed try as the worker reports it. */
type Failed = Extract<FromWorker, { type: 'failed' }>;

type Reader = { read: (call: ReadInWorker, view: TableView) => Promise<Materialized> };

let clients: Promise<Reader> | undefined;

/**
 * The dataset kinds and this process's storage clients, loaded on the first table try (most scripts
 * score files, and never need them), or as a table run's pool starts; the row-naming process reads
 * through it too. A worker process is its own boundary: it builds its clients
 * from its environment, as the host does (ARCHITECTURE.md).
 */
export function reader(): Promise<Reader> {
  clients ??= Promise.all([import('../datasets/index.js'), import('../storage/storage.js')]).then(
    ([{ datasetKindOf }, { storage }]) => ({
      // Kinds read here write no files: they get no scratch folder.
      read: (call, view) =>
        datasetKindOf(call.input).materialize(storage(), call.input, call.items, '', undefined, view),
    }),
  );
  return clients;
}

function carryColumnsOf(call: ReadInWorker): string[] | undefined {
  return call.input.type === 'table' ? call.input.carry_columns : undefined;
}

/** The carried columns of each input, from its row object or its table's columns (read afresh). */
function carriedOf(fetched: Materialized, carry: string[]): Carried {
  const { columns } = fetched;
  if (!columns) return rowsCarried(fetched.inputs, carry);
  const values = carry.map((c) => columns.valuesOf(c));
  return { count: columns.length, columns: carry, valueAt: (i, c) => values[c]?.[i] ?? null };
}

/**
 * A mini-batch whose rows this process reads itself (tables): only the item names crossed the IPC
 * channel, and only the written part goes back, never the rows. Reads them (by range, from blob
 * storage), calls run() through `call`, checks what it returned, joins carry_columns, lists the
 * error lines and writes the part in the run's format. Every failure is a failed try, as in the
 * host: a read that fails (storage unreachable) is retried as a try is.
 */
export async function scoreInWorker(
  id: number,
  read: ReadInWorker,
  view: TableView,
  call: (fetched: Materialized) => Promise<Called>,
): Promise<{ type: 'scored'; id: number; scored: Scored } | Failed> {
  let fetched: Materialized;
  try {
    fetched = await (await reader()).read(read, view);
  } catch (err) {
    return {
      type: 'failed',
      id,
      error: { message: `the mini-batch's rows could not be read: ${messageOf(err)}` },
      kind: 'unreadable',
    };
  }
  // Nothing left to score (every row malformed, or the file vanished): the script is not called.
  const count = inputCount(fetched);
  const called: Called = count > 0 ? await call(fetched) : { rows: [], failures: [] };
  if ('error' in called) return { type: 'failed', id, error: called.error };
  const checked = checkReturned(called.rows, called.failures, count);
  if (!checked.ok) return { type: 'failed', id, error: checked.error, kind: 'bad_return' };
  let rows = checked.rows;
  const carry = carryColumnsOf(read);
  if (carry) {
    // Names only for an error line: a table's are built when first read.
    const joined = joinCarried(carriedOf(fetched, carry), rows, called.failures, (i) => fetched.names[i]);
    if ('error' in joined)
      return { type: 'failed', id, error: { message: joined.error }, kind: 'bad_return' };
    rows = joined.rows;
  }
  let part: PartBody;
  try {
    part = partBody(rows, read.format);
  } catch (err) {
    const message = `run() returned values that cannot be written (${messageOf(err)}): return strings, numbers or plain objects`;
    return { type: 'failed', id, error: { message }, kind: 'bad_return' };
  }
  const inputs = count + fetched.missing.length;
  // Shared out here: a million rows failing alike cross to the host as one message, not a million.
  const { items: failed, sharedError } = shareErrors(failedItemsOf(fetched, rows, called.failures));
  return {
    type: 'scored',
    id,
    scored: { part, rows: rows.length, inputs, failed, ...(sharedError ? { sharedError } : {}) },
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
