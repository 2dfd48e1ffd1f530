/** What a mini-batch try reports back to its shard orchestrator: counts only, never rows. */
export interface MiniBatchResult {
  index: number;
  attempt: number;
  /** The try ran run() to completion and its part is written. */
  ok: boolean;
  /** No further try will follow (success, or the last allowed try failed). */
  final: boolean;
  inputs: number;
  succeeded: number;
  failedItems: number;
  /** Why the try failed, one line (the full error and stack go to errors.jsonl). */
  error?: string;
  /** Set when no try of any mini-batch can succeed (the script does not load, or init() keeps failing): the run stops with this reason. */
  fatal?: string;
  /** The run ended (was canceled) before this try could run: it wrote nothing and counts for nothing. */
  ended?: true;
  durationMs: number;
}

/** `runs/<runId>/failures/<index>.json`: the failed items of one mini-batch, for errors.jsonl. */
export interface FailureRecord {
  index: number;
  attempts: number;
  items: { item: string; error: string; kind: FailureKind; stack?: string }[];
}

/**
 * named: the script called ctx.fail(item); unknown: run() returned fewer rows than inputs without
 * naming which failed; missing: the input could not be fetched; try: every try of the mini-batch failed.
 */
export type FailureKind = 'named' | 'unknown' | 'missing' | 'try';

export interface RunTotals {
  items: number;
  miniBatches: number;
  itemsSucceeded: number;
  itemsFailed: number;
  miniBatchesSucceeded: number;
  miniBatchesFailed: number;
  tries: number;
}
