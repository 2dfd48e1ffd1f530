import type { CarriedShard } from '../core/outputs/carry.js';
import type { MiniBatchResult } from '../core/outputs/records.js';
import type { RunLimits, ShardInput, ShardOutput, StopShard } from './contracts.js';
import { crossedThreshold } from './thresholds.js';

/**
 * The shard orchestrator's decisions as pure code: what a try's end, a stop, or a quiet period means
 * for the shard's counts and for what it schedules next. The generator in shard.ts only yields.
 */

/** One try of one mini-batch. */
export interface Work {
  index: number;
  attempt: number;
}

export type ShardTotals = ShardOutput['totals'];

/** A shard's counts and its reason to stop, as its tries end. */
export interface ShardTally {
  totals: ShardTotals;
  /** Set once the shard stops scheduling: a threshold crossed, a fatal result, no progress, or the run's word. */
  stopped?: string;
  /** The run canceled: the shard ends at once. */
  canceled: boolean;
  /** The run told this shard to stop: its failures no longer need reporting. */
  told: boolean;
}

export function newShardTally(): ShardTally {
  return {
    totals: { itemsSucceeded: 0, itemsFailed: 0, miniBatchesSucceeded: 0, miniBatchesFailed: 0, tries: 0 },
    canceled: false,
    told: false,
  };
}

/** Whether the shard's `i`-th mini-batch is one a resume keeps (bit i of its bitmap). */
export function isReused(shard: CarriedShard, i: number): boolean {
  if (!shard.reused) return false;
  const byte = Buffer.from(shard.reused.bitmap, 'base64')[i >> 3] ?? 0;
  return (byte & (1 << (i & 7))) !== 0;
}

/** The first try of each of the shard's mini-batches, in order; a resume's kept ones are not tried. */
export function firstTries(shard: CarriedShard): Work[] {
  const work: Work[] = [];
  for (let i = 0; i < shard.count; i++)
    if (!isReused(shard, i)) work.push({ index: shard.first + i, attempt: 1 });
  return work;
}

/** A shard's starting counts: a resume's kept mini-batches count as succeeded, with no try of this run. */
export function startingTally(shard: CarriedShard): ShardTally {
  const tally = newShardTally();
  if (shard.reused) {
    tally.totals.miniBatchesSucceeded = shard.reused.miniBatches;
    tally.totals.itemsSucceeded = shard.reused.items;
  }
  return tally;
}

/**
 * The next tries to hand out together: the front of `pending`, as long as their mini-batches are
 * consecutive (a group's clean tries share one part), at most `perActivity`. Taken off `pending`.
 * `retriesAlone` (pools): a retry is handed out on its own, never in a group. A pool's group fails as
 * a whole when every worker that takes it dies under it (its message goes to the poison queue), and
 * its tries' retries, one by one, then tell which mini-batch kills workers and let the others pass.
 */
export function takeGroup(pending: Work[], perActivity: number, retriesAlone = false): Work[] {
  const fits = (work: Work) => !retriesAlone || work.attempt === 1;
  let n = 0;
  while (n < Math.min(perActivity, pending.length)) {
    const previous = pending[n - 1];
    const work = pending[n];
    if (!work || (previous && work.index !== previous.index + 1) || !fits(work)) break;
    n++;
  }
  return pending.splice(0, Math.max(n, Math.min(1, pending.length)));
}

/** How one try ended: its result, or a failure with why. */
export type TryEnd = (FailedTry & { error: string }) | { result: MiniBatchResult };

/**
 * The tries a result covers (a group's: a prefix of them, in order), and those it left untried. A
 * result that is another try's (a forged or mixed-up message: the index or attempt differs) never
 * counts for this one: the tries from there on are failed tries, retried under a new attempt.
 */
export function resultsOfTries(
  works: Work[],
  output: MiniBatchResult | MiniBatchResult[],
): { tries: { work: Work; end: TryEnd }[]; untried: Work[] } {
  const results = Array.isArray(output) ? output : [output];
  const tries: { work: Work; end: TryEnd }[] = [];
  for (const [i, result] of results.entries()) {
    const work = works[i];
    if (!work) break;
    if (result.index !== work.index || result.attempt !== work.attempt) {
      const error = `the result received for mini-batch ${work.index} (attempt ${work.attempt}) is another try's (mini-batch ${result.index}, attempt ${result.attempt})`;
      for (const w of works.slice(i)) tries.push({ work: w, end: { failed: true, error } });
      return { tries, untried: [] };
    }
    tries.push({ work, end: { result } });
  }
  return { tries, untried: works.slice(results.length) };
}

/** Whether another try may start now. */
export function maySchedule(tally: ShardTally, inFlight: number, maxInFlight: number): boolean {
  return !tally.stopped && inFlight < maxInFlight;
}

/** Whether the shard still has something to wait for or to schedule. */
export function hasWork(tally: ShardTally, inFlight: number, pending: number): boolean {
  return inFlight > 0 || (pending > 0 && !tally.stopped);
}

/** What follows the end of a try. */
export type TryDecision =
  /** Try the mini-batch again (first in line). */
  | { kind: 'retry'; work: Work }
  /**
   * Every allowed try's activity failed, or one that ends the run (`fatal`, its reason): record the
   * mini-batch lost, then `countResult(lostResult(…, fatal))`.
   */
  | { kind: 'lost'; fatal?: string }
  /** Counted; `report`: tell the run this shard's failures (a failed mini-batch, siblings running). */
  | { kind: 'counted'; report: boolean }
  /** The run was canceled under the try (its cancel ended the try before its event got here): end now. */
  | { kind: 'canceled' };

type CountInput = Pick<
  ShardInput,
  'limits' | 'priorFailedItems' | 'priorFailedMiniBatches' | 'reportFailures'
>;

/** A try that ended without a result; `fatal`: why no other try could do better (the run stops). */
export interface FailedTry {
  failed: true;
  fatal?: string;
}

/**
 * A try's activity ended, with a result or failed (the host, not the script: that is a failed try
 * too, retried up to `run_max_try`). A fatal failure (no worker of the run's pool is alive: every
 * other try would wait as long for nothing) is not retried: it ends the run as a fatal result does.
 */
export function tryEnded(
  tally: ShardTally,
  input: CountInput,
  work: Work,
  ended: FailedTry | { result: MiniBatchResult },
): TryDecision {
  tally.totals.tries++;
  if ('result' in ended) return countResult(tally, input, work, ended.result);
  if (ended.fatal !== undefined) return { kind: 'lost', fatal: ended.fatal };
  if (work.attempt < input.limits.run_max_try) {
    return { kind: 'retry', work: { index: work.index, attempt: work.attempt + 1 } };
  }
  return { kind: 'lost' };
}

/** What a lost mini-batch counts as: a final failed try with all its `inputs` failed (`fatal`: the run stops). */
export function lostResult(work: Work, inputs: number, fatal?: string): MiniBatchResult {
  return {
    ...(fatal === undefined ? {} : { fatal }),
    index: work.index,
    attempt: work.attempt,
    ok: false,
    final: true,
    inputs,
    succeeded: 0,
    failedItems: inputs,
    durationMs: 0,
  };
}

/**
 * Counts a try's result: a result that is not final means another try; a final one adds to the
 * totals, and may stop the shard (a fatal result, or a threshold crossed by the failures counted
 * so far over the run: those of finished shards, `prior…`, plus this shard's).
 */
export function countResult(
  tally: ShardTally,
  input: CountInput,
  work: Work,
  result: MiniBatchResult,
): TryDecision {
  // Nothing to count or retry, nothing more to schedule: the shard ends as canceled.
  if (result.ended) {
    tally.canceled = true;
    return { kind: 'canceled' };
  }
  if (!result.final) return { kind: 'retry', work: { index: work.index, attempt: work.attempt + 1 } };
  const totals = tally.totals;
  totals.itemsSucceeded += result.succeeded;
  totals.itemsFailed += result.failedItems;
  // ParallelRunStep: a mini-batch failed if it raised, or returned fewer rows than inputs, after all tries.
  const failed = !(result.ok && result.failedItems === 0);
  if (failed) totals.miniBatchesFailed++;
  else totals.miniBatchesSucceeded++;
  if (result.fatal) tally.stopped ??= result.fatal;
  tally.stopped ??= crossedThreshold(input.limits, {
    itemsFailed: input.priorFailedItems + totals.itemsFailed,
    miniBatchesFailed: input.priorFailedMiniBatches + totals.miniBatchesFailed,
  });
  return { kind: 'counted', report: failed && input.reportFailures && !tally.told };
}

/**
 * The run's `stop`: stop scheduling, with the first reason. A cancel ends the shard at once
 * (`'end'`); stopping for a threshold still waits for the tries in flight (`'drain'`), and for a
 * cancel that may yet come.
 */
export function stopTaken(tally: ShardTally, stop: StopShard): 'end' | 'drain' {
  tally.stopped ??= stop.reason;
  tally.told = true;
  if (stop.cancel) {
    tally.canceled = true;
    return 'end';
  }
  return 'drain';
}

/** When the quiet period that began at `lastProgress` ends (`progress_update_timeout`, in seconds). */
export function progressDeadline(lastProgress: Date, timeout: number): Date {
  return new Date(lastProgress.getTime() + timeout * 1000);
}

/**
 * The progress timer fired. No try ended since it was armed (`triesWhenArmed`): the shard stops
 * (`true`). Otherwise a new timer is armed from the last progress.
 */
export function deadlinePassed(
  tally: ShardTally,
  limits: Pick<RunLimits, 'progress_update_timeout'>,
  triesWhenArmed: number,
): boolean {
  if (tally.totals.tries !== triesWhenArmed) return false;
  tally.stopped = `progress_update_timeout crossed: no mini-batch finished for ${limits.progress_update_timeout ?? 0} s`;
  return true;
}

export function shardOutput(shard: number, tally: ShardTally): ShardOutput {
  return {
    shard,
    totals: tally.totals,
    ...(tally.stopped ? { stopped: tally.stopped } : {}),
    ...(tally.canceled ? { canceled: tally.canceled } : {}),
  };
}
