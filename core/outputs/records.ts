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
  items: FailedItem[];
  /**
   * The error (and stack) most of the items failed with, held once: those items carry none of their
   * own. A failed table range has a million rows, and the message and stack on each made a record
   * past V8's largest string, so the try was counted as one lost item. errors.jsonl still gives each
   * line its error and stack.
   */
  sharedError?: { error: string; stack?: string };
}

/** One failed item; `error` left out where the record's `sharedError` is its error. */
export interface FailedItem {
  item: string;
  error?: string;
  kind: FailureKind;
  stack?: string;
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

/** The failure record of a mini-batch; `shared` when its items were already shared out (`shareErrors`). */
export function failureRecord(
  index: number,
  attempts: number,
  items: FailedItem[],
  shared?: FailureRecord['sharedError'],
): FailureRecord {
  const compact = shared ? { items, sharedError: shared } : shareErrors(items);
  return { index, attempts, ...compact };
}

/**
 * The error more than one item failed with (the most common, by error and stack together) held
 * once: those items then carry none of their own. Done where the items are made (a worker process)
 * so a million copies of one message never cross to the host.
 */
export function shareErrors(items: FailedItem[]): Pick<FailureRecord, 'items' | 'sharedError'> {
  const counts = new Map<string, Map<string | undefined, number>>();
  let top: FailedItem | undefined;
  let topCount = 1;
  for (const item of items) {
    if (item.error === undefined) continue;
    const byStack = counts.get(item.error) ?? new Map<string | undefined, number>();
    counts.set(item.error, byStack);
    const n = (byStack.get(item.stack) ?? 0) + 1;
    byStack.set(item.stack, n);
    if (n > topCount) [top, topCount] = [item, n];
  }
  if (!top?.error) return { items };
  const shared = { error: top.error, ...(top.stack ? { stack: top.stack } : {}) };
  return {
    sharedError: shared,
    items: items.map((item) =>
      item.error === shared.error && item.stack === shared.stack
        ? { item: item.item, kind: item.kind }
        : item,
    ),
  };
}

/** An item's error as errors.jsonl writes it: its own, or its record's shared one. */
export function errorOf(record: FailureRecord, item: FailedItem): { error: string; stack?: string } {
  if (item.error !== undefined) return { error: item.error, ...(item.stack ? { stack: item.stack } : {}) };
  return record.sharedError ?? { error: '' };
}
