import { notAResultsQueue } from '../config/pools.js';
import { ParallelRunError } from '../errors.js';
import type { MiniBatchResult } from '../outputs/records.js';
import type { MiniBatchInput } from '../runner/execute.js';
import type { GroupTry } from '../runner/execute-group.js';

/**
 * The pool protocol's messages (README, "GPU pools"). Both are small, whatever the mini-batch: the
 * items are read from the run's manifest, the rows written to its parts, and only ids and counts travel.
 *
 * - on `minibatches-<pool>`: a `PoolTry`, one try of one mini-batch, or of several consecutive small
 *   ones (`tries`: a group, as one Functions activity tries them, core/runner/execute-group.ts);
 * - on `minibatch-results`: a `PoolResult`, what that try's `executeMiniBatch` returned (a group: the
 *   results of its tries that ran, a prefix of them, as `executeMiniBatchGroup` returns them).
 */
export interface PoolTry extends MiniBatchInput {
  /**
   * The shard gives the try up when no worker took it, or its worker sent no heartbeat, for this many
   * seconds (the app's pool start timeout): the worker's heartbeats come well within it.
   */
  deadlineSeconds: number;
  /** The queue the result goes to (the app's `PARALLEL_RUN_RESULTS_QUEUE`); absent: `minibatch-results`. */
  replyTo?: string;
  /**
   * A group: its tries in order, the first being `index` and `attempt` (which name its claim and its
   * result event); absent for one try.
   */
  tries?: GroupTry[];
  /**
   * Deliveries of this try before this message: a message a worker found busy goes back to the queue
   * as a fresh one (its own delivery count starts again), carrying the deliveries that counted.
   */
  deliveries?: number;
}

/** What a pool try ended with: one try's result, or a group's (a prefix of its tries). */
export type PoolOutcome = MiniBatchResult | MiniBatchResult[];

export interface PoolResult extends PoolTry {
  result: PoolOutcome;
}

/** The most tries one message may carry (orchestrations/contracts.ts `MAX_TRIES_PER_ACTIVITY`). */
export const MAX_TRIES_PER_MESSAGE = 25;

/** The tries a message asks for: its group, or its one try. */
export function triesOf(t: PoolTry): GroupTry[] {
  return t.tries ?? [{ index: t.index, attempt: t.attempt }];
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
    (v.replyTo !== undefined && typeof v.replyTo !== 'string') ||
    (v.deliveries !== undefined && !isCount(v.deliveries, 0))
  ) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `not a pool try: expected {runId, shard, index, attempt, deadlineSeconds} with a run id and whole numbers, got ${JSON.stringify(value).slice(0, 200)}`,
    );
  }
  const tries = readGroup(v.tries, v.index, v.attempt);
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
    ...(tries === undefined ? {} : { tries }),
    ...(isCount(v.deliveries, 1) ? { deliveries: v.deliveries } : {}),
    runId: v.runId,
    shard: v.shard,
    index: v.index,
    attempt: v.attempt,
    deadlineSeconds: v.deadlineSeconds,
  };
}

/** A message's group, checked: 2 to 25 tries of consecutive mini-batches (as a shard groups them), the first being the message's own. */
function readGroup(value: unknown, index: number, attempt: number): GroupTry[] | undefined {
  if (value === undefined) return undefined;
  const tries = Array.isArray(value) ? (value as unknown[]) : [];
  const checked = tries.flatMap((t) => {
    const w = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    return isCount(w.index, 0) && isCount(w.attempt, 1) ? [{ index: w.index, attempt: w.attempt }] : [];
  });
  const [first] = checked;
  if (
    checked.length !== tries.length ||
    checked.length < 2 ||
    checked.length > MAX_TRIES_PER_MESSAGE ||
    first?.attempt !== attempt ||
    checked.some((t, i) => t.index !== index + i)
  ) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `not a pool try: its tries must be 2 to ${MAX_TRIES_PER_MESSAGE} {index, attempt} of consecutive mini-batches, the first being mini-batch ${index} attempt ${attempt}; got ${JSON.stringify(value).slice(0, 200)}`,
    );
  }
  return checked;
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

/**
 * The error text a result message carries in all: a queue message holds 64 KB, and its base64 body
 * takes a third more than the JSON. A group's 25 results share it (errors.jsonl has every error whole).
 */
const ERRORS_PER_MESSAGE = 24_000;

/** A result small enough for a queue message (64 KB) whatever the script's errors said. */
export function boundedResult(outcome: PoolOutcome): PoolOutcome {
  if (!Array.isArray(outcome)) return boundedOne(outcome, MAX_ERROR);
  const each = Math.min(MAX_ERROR, Math.floor(ERRORS_PER_MESSAGE / Math.max(1, outcome.length) / 2));
  return outcome.map((r) => boundedOne(r, each));
}

function boundedOne(result: MiniBatchResult, most: number): MiniBatchResult {
  const cut = (text: string | undefined) =>
    text !== undefined && text.length > most
      ? `${text.slice(0, most)}… (cut; errors.jsonl has it whole)`
      : text;
  const error = cut(result.error);
  const fatal = cut(result.fatal);
  return { ...result, ...(error === undefined ? {} : { error }), ...(fatal === undefined ? {} : { fatal }) };
}

/** A result message's fields, each checked: what counts in the shard is rebuilt from them, nothing more. */
export function readPoolResult(value: unknown): PoolResult {
  const t = readTryFields(value);
  const result = (value as { result?: unknown }).result;
  if (!t.tries) return { ...t, result: readResult(result, t) };
  const results = Array.isArray(result) ? (result as unknown[]) : [];
  if (results.length < 1 || results.length > t.tries.length) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `not a pool result: the result of a group of ${t.tries.length} tries (from mini-batch ${t.index}, attempt ${t.attempt}) is a list of 1 to ${t.tries.length} results, in order`,
    );
  }
  return { ...t, result: results.map((r, i) => readResult(r, t.tries?.[i] ?? t)) };
}

/** One try's result, checked against the try it must be of. */
function readResult(result: unknown, t: GroupTry): MiniBatchResult {
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
  return {
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
