import { notAResultsQueue } from '../config/pools.js';
import { ParallelRunError } from '../errors.js';
import type { MiniBatchResult } from '../outputs/records.js';
import type { MiniBatchInput } from '../runner/execute.js';

/**
 * The pool protocol's messages (README, "GPU pools"). Both are small, whatever the mini-batch: the
 * items are read from the run's manifest, the rows written to its parts, and only ids and counts travel.
 *
 * - on `minibatches-<pool>`: a `PoolTry`, one try of one mini-batch;
 * - on `minibatch-results`: a `PoolResult`, what that try's `executeMiniBatch` returned.
 */
export interface PoolTry extends MiniBatchInput {
  /**
   * The shard gives the try up when no worker took it, or its worker sent no heartbeat, for this many
   * seconds (the app's pool start timeout): the worker's heartbeats come well within it.
   */
  deadlineSeconds: number;
  /** The queue the result goes to (the app's `PARALLEL_RUN_RESULTS_QUEUE`); absent: `minibatch-results`. */
  replyTo?: string;
}

export interface PoolResult extends PoolTry {
  result: MiniBatchResult;
}

/** Queue messages are base64 text, as the Functions host's queue trigger expects by default. */
export function encodeMessage(value: PoolTry | PoolResult): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

/** The fields a try and its result share, each checked: a message from a queue is input like any other. */
function readTryFields(value: unknown): PoolTry {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (
    typeof v.runId !== 'string' ||
    !RUN_ID.test(v.runId) ||
    !isCount(v.shard, 0) ||
    !isCount(v.index, 0) ||
    !isCount(v.attempt, 1) ||
    !isCount(v.deadlineSeconds, 1) ||
    (v.replyTo !== undefined && typeof v.replyTo !== 'string')
  ) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `not a pool try: expected {runId, shard, index, attempt, deadlineSeconds} with a run id and whole numbers, got ${JSON.stringify(value).slice(0, 200)}`,
    );
  }
  const replyTo = typeof v.replyTo === 'string' ? v.replyTo : undefined;
  // A worker sends the try's result there: a pool's queue would have it taken as a try and sent back, forever.
  const refused = replyTo === undefined ? undefined : notAResultsQueue(replyTo);
  if (refused) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `not a pool try: its replyTo ${JSON.stringify(replyTo)} ${refused}`,
    );
  }
  return {
    ...(replyTo === undefined ? {} : { replyTo }),
    runId: v.runId,
    shard: v.shard,
    index: v.index,
    attempt: v.attempt,
    deadlineSeconds: v.deadlineSeconds,
  };
}

/** Checks a try taken from a pool's queue: its fields, and that it is not a result (which carries one). */
export function readPoolTry(value: unknown): PoolTry {
  const t = readTryFields(value);
  if ((value as { result?: unknown }).result !== undefined) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `not a pool try: it carries a result (mini-batch ${t.index}, attempt ${t.attempt} of run ${t.runId}): results go to the app's results queue, not to a pool's`,
    );
  }
  return t;
}

const MAX_ERROR = 2_000;

/** A result small enough for a queue message (64 KB) whatever the script's error said. */
export function boundedResult(result: MiniBatchResult): MiniBatchResult {
  const cut = (text: string | undefined) =>
    text !== undefined && text.length > MAX_ERROR
      ? `${text.slice(0, MAX_ERROR)}… (cut; errors.jsonl has it whole)`
      : text;
  const error = cut(result.error);
  const fatal = cut(result.fatal);
  return { ...result, ...(error === undefined ? {} : { error }), ...(fatal === undefined ? {} : { fatal }) };
}

/** A result message's fields, each checked: what counts in the shard is rebuilt from them, nothing more. */
export function readPoolResult(value: unknown): PoolResult {
  const t = readTryFields(value);
  const result = (value as { result?: unknown }).result;
  const r = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
  const counts = [r.inputs, r.succeeded, r.failedItems, r.durationMs];
  const optionalText = (v: unknown) =>
    v === undefined || (typeof v === 'string' && v.length <= MAX_ERROR * 2);
  if (
    r.index !== t.index ||
    r.attempt !== t.attempt ||
    typeof r.ok !== 'boolean' ||
    typeof r.final !== 'boolean' ||
    !counts.every((c) => isCount(c, 0)) ||
    (r.succeeded as number) + (r.failedItems as number) > (r.inputs as number) ||
    !optionalText(r.error) ||
    !optionalText(r.fatal) ||
    (r.ended !== undefined && r.ended !== true)
  ) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `not a pool result: its result must be the try's (mini-batch ${t.index}, attempt ${t.attempt}) with ok, final and whole, non-negative counts`,
    );
  }
  const checked: MiniBatchResult = {
    index: t.index,
    attempt: t.attempt,
    ok: r.ok,
    final: r.final,
    inputs: r.inputs as number,
    succeeded: r.succeeded as number,
    failedItems: r.failedItems as number,
    durationMs: r.durationMs as number,
    ...(typeof r.error === 'string' ? { error: r.error } : {}),
    ...(typeof r.fatal === 'string' ? { fatal: r.fatal } : {}),
    ...(r.ended === true ? { ended: true as const } : {}),
  };
  return { ...t, result: checked };
}

/** Decodes a base64 (or plain) JSON message body. */
export function decodeMessage(text: string): unknown {
  const trimmed = text.trim();
  const json = trimmed.startsWith('{') ? trimmed : Buffer.from(trimmed, 'base64').toString('utf8');
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new ParallelRunError('INVALID_REQUEST', `not a JSON message: ${trimmed.slice(0, 100)}`);
  }
}
