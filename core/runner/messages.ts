import type { AppendRowFormat } from '../config/settings.js';
import type { DatasetInput, Materialized } from '../datasets/kind.js';
import type { PartBody } from '../outputs/formats.js';
import type { FailureRecord } from '../outputs/records.js';
import type { ScriptArguments } from './contract.js';

/** What a pool's worker process is started with (its first message). */
export interface WorkerInit {
  scriptPath: string;
  /** The deployed scripts folder: named `<scripts>` in the errors a script's load, init() or run() report. */
  scriptsRoot?: string;
  runId: string;
  arguments: ScriptArguments;
  sideInputs: Record<string, string>;
  outputDir: string;
  workerIndex: number;
  loggingLevel: 'DEBUG' | 'INFO' | 'WARNING';
  modelCache: string;
  /** Local folders of the run's pinned models, by every name a script may ask for them with. */
  models: Record<string, string>;
  /** onnxruntime execution providers for this process's scripts, in order (`ctx.executionProviders`). */
  executionProviders: string[];
  /**
   * The run's dataset is read in the worker (tables): the readers and storage clients are loaded as
   * the process starts, while the run is planned, not in its first try.
   */
  readsRows?: boolean;
}

export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'run'; id: number; batch: MiniBatchCall }
  | { type: 'shutdown' };

/** One mini-batch as run() gets it: local file paths or row objects, and a table's partition key values. */
export interface MiniBatchCall {
  inputs: unknown[];
  miniBatchIndex: number;
  partitionKeyValues?: Record<string, string>;
  /**
   * Set for kinds whose items the worker process reads itself (tables): `inputs` is then empty, and
   * the worker answers with the part it wrote (`scored`), not with rows.
   */
  read?: ReadInWorker;
}

/** Where a mini-batch's rows are and how its part is written: all a worker needs to do a table's try. */
export interface ReadInWorker {
  input: DatasetInput;
  items: string[];
  /** The run's append_row_format. */
  format?: AppendRowFormat;
}

/** What the row-naming process (row-names.ts) answers: each row's name and what could not be read, or why nothing could. */
export type NamedRows = (Pick<Materialized, 'missing'> & { names: string[] }) | { error: string };

/** A try the worker read, scored and wrote itself: the part as execute uploads it, and the counts. */
export interface Scored {
  part: PartBody;
  /** Result rows in the part. */
  rows: number;
  /** Rows read: those run() got and those that could not be read. */
  inputs: number;
  /** The error lines: rows that could not be read, those named with ctx.fail, those left without a result. */
  failed: FailureRecord['items'];
  /** The error of each of `failed` that has none of its own (`shareErrors`). */
  sharedError?: FailureRecord['sharedError'];
}

/** An input the script failed with ctx.fail: `index` is its position in the mini-batch, when found there. */
export interface NamedFailure {
  item: string;
  index?: number;
  reason: string;
}

export interface ErrorInfo {
  message: string;
  stack?: string;
  name?: string;
}

/**
 * Where a worker failed before its first try: `load`, importing the entry script (the same on every
 * try: the run cannot go on), or `init`, its init() threw.
 */
export type StartStage = 'load' | 'init';

export type FromWorker =
  | { type: 'ready' }
  | { type: 'initFailed'; stage: StartStage; error: ErrorInfo }
  /** The process begins a try it was handed (it may hold one more behind it). */
  | { type: 'started'; id: number }
  | { type: 'done'; id: number; rows: unknown; failures: NamedFailure[] }
  | { type: 'scored'; id: number; scored: Scored }
  /**
   * run() threw (`exception`), or returned what cannot be written (`bad_return`, checked in the
   * worker), or the rows it would get could not be read (`unreadable`).
   */
  | { type: 'failed'; id: number; error: ErrorInfo; kind?: 'bad_return' | 'unreadable' }
  | { type: 'log'; level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR'; text: string }
  | { type: 'closed' };

/** `ended`: the run ended (finalized or canceled) before the try could run: not a try at all. */
/** `unreadable`: the worker could not read the mini-batch's rows (a table's bytes), before run(). */
export type TryFailureKind =
  'exception' | 'timeout' | 'crash' | 'init' | 'bad_return' | 'ended' | 'unreadable';

export type RunOutcome =
  /** `scored`: the worker read the mini-batch and wrote its part itself (MiniBatchCall.read); `rows` is then empty. */
  | { ok: true; rows: unknown[]; failures: NamedFailure[]; scored?: Scored }
  /** `fatal`: the entry script cannot run at all here (it does not load, or init() keeps failing): no try can succeed. */
  | { ok: false; kind: TryFailureKind; error: ErrorInfo; fatal?: true };
