/**
 * The entry-script contract (README, "The entry script"): what `init()` and `run()` receive. An entry script is an ES
 * module in the deployed package that exports `init(ctx)`, `run(miniBatch, ctx)` and optionally
 * `shutdown()`.
 */
import type { ScriptArguments } from '../config/arguments.js';

export type { ScriptArguments };

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
   * row object) as given in the mini-batch. It counts as a failure even if `run()` then returns normally.
   */
  fail(item: unknown, reason: string): void;
}

/**
 * Files: local paths, downloaded for the call and removed after. Tables: row objects keyed by column
 * name, in the file's order (numbers typed as numbers, empty CSV fields null).
 */
export type MiniBatch = string[] | TableRow[];

/** One row of a table: column name → value. */
export type TableRow = Record<string, unknown>;

/** One successful item: strings are written as they are, objects as JSON. */
export type Row = string | number | boolean | Record<string, unknown> | unknown[];

export interface EntryScript {
  init?(ctx: InitContext): Promise<void> | void;
  run(miniBatch: MiniBatch, ctx: RunContext): Promise<Row[]> | Row[];
  shutdown?(): Promise<void> | void;
}
