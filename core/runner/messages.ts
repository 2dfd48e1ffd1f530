import type { ScriptArguments } from './contract.js';

/** What a pool's worker process is started with (its first message). */
export interface WorkerInit {
  scriptPath: string;
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
  | { type: 'failed'; id: number; error: ErrorInfo }
  | { type: 'log'; level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR'; text: string }
  | { type: 'closed' };
