/**
 * The entry-script contract (README, "The entry script"): what `init()` and `run()` receive. An entry script is an ES
 * module in the deployed package that exports `init(ctx)`, `run(miniBatch, ctx)` and optionally
 * `shutdown()`.
 */
import type { ScriptArguments } from '../config/arguments.js';
import type { TableView } from '../datasets/kind.js';

export type { ScriptArguments, TableView };

export interface ScriptLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface InitContext {
  runId: string;
  /** The run's `arguments`, parsed: `["--threshold", "0.5", "--verbose"]` → `{threshold: 0.5, verbose: true}`. */
  arguments: ScriptArguments;
  /** Side inputs by name: local paths, downloaded once per worker pool. */
  sideInputs: Record<string, string>;
  /**
   * A local, cached copy of a registered model version: `getModel('mnist')` or `getModel('mnist:1')`.
   * Resolves to the folder. A model in the run's `models` setting gives the version pinned at
   * submission, by its bare name too; any other name means the latest version now.
   */
  getModel(ref: string): Promise<string>;
  logger: ScriptLogger;
  /**
   * A local scratch folder of the run on this instance. It is not uploaded: `summary_only` scripts
   * store their own outputs (e.g. to blob storage), as with ParallelRunStep.
   */
  outputDir: string;
  /** 0-based index of this worker process in its pool. */
  workerIndex: number;
  /**
   * The onnxruntime execution providers to use here, in order of preference: `['cuda', 'cpu']` on a
   * GPU pool's worker, `['cpu']` in the Functions app (app setting PARALLEL_RUN_EXECUTION_PROVIDERS).
   * Pass them on: `InferenceSession.create(model, { executionProviders: ctx.executionProviders })`.
   */
  executionProviders: string[];
}

export interface RunContext extends InitContext {
  miniBatchIndex: number;
  /**
   * Tables with `partition_keys`: the key values every row of this mini-batch shares, e.g.
   * `{species: "setosa"}` for files under `species=setosa/`. Empty otherwise.
   */
  partitionKeyValues: Record<string, string>;
  /**
   * Marks one input item as failed with a reason, e.g. a corrupt file. `item` is the path (or the
   * row object) as given in the mini-batch; in the columns view, the row's position from 0 (or an
   * object `row(i)` gave). Anything else names no input: that failure is counted, but not named.
   * It counts as a failure even if `run()` then returns normally.
   */
  fail(item: unknown, reason: string): void;
}

/**
 * Files: local paths, downloaded for the call and removed after. Tables: row objects keyed by column
 * name, in the file's order (numbers typed as numbers, empty CSV fields null); or, for a script
 * that exports `tableView = 'columns'`, one `TableColumns` holding the same rows column by column.
 */
export type MiniBatch = string[] | TableRow[] | TableColumns;

/** One row of a table: column name → value. */
export type TableRow = Record<string, unknown>;

/**
 * A table's mini-batch column by column (the columns view): no object is built per row, and a
 * column is decoded only when asked for, so a script that scores a whole mini-batch as one tensor
 * reads just the columns it needs. Values are those the rows view holds. With this view, ctx.fail
 * names a row by its position, `ctx.fail(i, reason)`, or by an object `row(i)` gave. Files
 * datasets give paths whatever `tableView` says (a value that is no view still fails the start).
 */
export interface TableColumns {
  /** How many rows the mini-batch has. */
  readonly length: number;
  /** Its columns, in the file's order (JSON Lines: every key any row has, in order of appearance). */
  readonly columnNames: readonly string[];
  /**
   * A column's values in row order, typed as in the rows view; null where a row lacks the column (a
   * JSON line without the key). The same array on every call: do not change it. An unknown name throws.
   */
  column(name: string): readonly unknown[];
  /**
   * A column as numbers, ready for a tensor (`Float32Array.from(batch.numbers('x'))`): an empty
   * field (null) is NaN, a boolean 1 or 0, and text throws, naming the row. The same array on every call.
   */
  numbers(name: string): Float64Array;
  /** Row `i` (from 0) as the rows view would give it. */
  row(i: number): TableRow;
}

/** One successful item: strings are written as they are, objects as JSON. */
export type Row = string | number | boolean | Record<string, unknown> | unknown[];

export interface EntryScript {
  /** Tables: how run() takes a mini-batch's rows (see `TableView`); files ignore it. */
  tableView?: TableView;
  init?(ctx: InitContext): Promise<void> | void;
  run(miniBatch: MiniBatch, ctx: RunContext): Promise<Row[]> | Row[];
  shutdown?(): Promise<void> | void;
}
