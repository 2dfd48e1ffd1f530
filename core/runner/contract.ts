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
   * Marks one input item as failed with a reason, e.g. a corrupt file. `item` is the path (or the
   * row object) as given in the mini-batch. It counts as a failure even if `run()` then returns normally.
   */
  fail(item: unknown, reason: string): void;
}

/** Files: local paths, downloaded for the call and removed after. Tables (later): row objects. */
export type MiniBatch = string[];

/** One successful item: strings are written as they are, objects as JSON. */
export type Row = string | number | boolean | Record<string, unknown> | unknown[];

export interface EntryScript {
  init?(ctx: InitContext): Promise<void> | void;
  run(miniBatch: MiniBatch, ctx: RunContext): Promise<Row[]> | Row[];
  shutdown?(): Promise<void> | void;
}
