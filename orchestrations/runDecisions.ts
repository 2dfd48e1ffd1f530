import type { RunStatus } from '../core/outputs/summary.js';
import {
  miniBatchesInFlight,
  type CancelRun,
  type RunLimits,
  type RunProgress,
  type ShardFailures,
  type ShardOutput,
  type StopShard,
} from './contracts.js';
import { crossedPercent, crossedThreshold, stopsEarlyOnFailures } from './thresholds.js';

/**
 * The run orchestrator's decisions as pure code: how shards are laid out, what a shard's report or
 * end means for the run's counts and verdict, and when shards must be told to stop. The generator
 * in parallelRun.ts only yields.
 */

export type Totals = RunProgress['done'];
type Failed = Pick<Totals, 'itemsFailed' | 'miniBatchesFailed'>;

export function noTotals(): Totals {
  return { itemsSucceeded: 0, itemsFailed: 0, miniBatchesSucceeded: 0, miniBatchesFailed: 0, tries: 0 };
}

export function addTotals(a: Totals, b: Totals): Totals {
  return {
    itemsSucceeded: a.itemsSucceeded + b.itemsSucceeded,
    itemsFailed: a.itemsFailed + b.itemsFailed,
    miniBatchesSucceeded: a.miniBatchesSucceeded + b.miniBatchesSucceeded,
    miniBatchesFailed: a.miniBatchesFailed + b.miniBatchesFailed,
    tries: a.tries + b.tries,
  };
}

export interface ShardLayout {
  /** Shards run side by side (at most `node_count`). */
  concurrentShards: number;
  /** Mini-batches each shard keeps in flight: the same number for the run, one shard or many. */
  maxInFlight: number;
  /** Shards side by side each see only their own failures: they report them, and the run adds them up. */
  reportFailures: boolean;
}

export function shardLayout(limits: RunLimits, shards: number): ShardLayout {
  const concurrentShards = Math.min(limits.node_count, shards);
  return {
    concurrentShards,
    maxInFlight: Math.ceil(miniBatchesInFlight(limits) / concurrentShards),
    reportFailures: concurrentShards > 1 && stopsEarlyOnFailures(limits),
  };
}

/** The reason a cancel event gives the run. */
export function cancelReason(data: CancelRun | undefined): string {
  return data?.reason ?? 'canceled by request';
}

/** Failures of finished shards plus the latest each running shard reported. */
export function failedSoFar(done: Failed, live: ReadonlyMap<number, ShardFailures>): Failed {
  let itemsFailed = done.itemsFailed;
  let miniBatchesFailed = done.miniBatchesFailed;
  for (const report of live.values()) {
    itemsFailed += report.itemsFailed;
    miniBatchesFailed += report.miniBatchesFailed;
  }
  return { itemsFailed, miniBatchesFailed };
}

/**
 * A running shard reported its failures so far: keep the latest report of each shard still in
 * flight (a late one from a shard that ended is already in `done`), and say whether the run's
 * failures now cross a threshold.
 */
export function failuresReported(
  limits: RunLimits,
  done: Failed,
  live: Map<number, ShardFailures>,
  inFlightShards: readonly number[],
  report: ShardFailures,
): string | undefined {
  if (inFlightShards.includes(report.shard)) live.set(report.shard, report);
  return crossedThreshold(limits, failedSoFar(done, live));
}

/** A shard ended: its totals join `done` (its live report goes), and why the run must stop, if it must. */
export function shardEnded(
  limits: RunLimits,
  done: Totals,
  live: Map<number, ShardFailures>,
  shard: number,
  ended: { failed: string } | { output: ShardOutput },
): { done: Totals; finished: boolean; canceled: boolean; stop?: string } {
  live.delete(shard);
  if ('failed' in ended) {
    return { done, finished: false, canceled: false, stop: `shard ${shard} failed: ${ended.failed}` };
  }
  const total = addTotals(done, ended.output.totals);
  const stop = ended.output.stopped ?? crossedThreshold(limits, failedSoFar(total, live));
  return { done: total, finished: true, canceled: ended.output.canceled === true, ...(stop ? { stop } : {}) };
}

/** Which shards have been told to stop, and whether they were told of the cancel. */
export interface Told {
  shards: boolean;
  cancel: boolean;
}

/**
 * The `stop` to send to the shards in flight now, if any: once when the run starts stopping, and
 * once more if a cancel comes after (a cancel ends each shard at once, wherever it is).
 */
export function stopToSend(
  told: Told,
  inFlight: number,
  stopping: string | undefined,
  canceled: string | undefined,
): StopShard | undefined {
  if (!stopping || inFlight === 0) return undefined;
  if (told.shards && (!canceled || told.cancel)) return undefined;
  told.shards = true;
  told.cancel = canceled !== undefined;
  return canceled ? { reason: canceled, cancel: true } : { reason: stopping };
}

/**
 * Why the run failed, once every shard has ended, or undefined: the first reason to stop, else a
 * threshold crossed by the exact totals (shards side by side each saw only part of them), else
 * `allowed_failed_percent`, judged once every mini-batch has run.
 */
export function verdict(
  limits: RunLimits,
  done: Totals,
  miniBatches: number,
  stopping: string | undefined,
): string | undefined {
  return (
    stopping ?? crossedThreshold(limits, done) ?? crossedPercent(limits, done.miniBatchesFailed, miniBatches)
  );
}

export function runStatus(canceled: string | undefined, stopping: string | undefined): RunStatus {
  return canceled ? 'Canceled' : stopping ? 'Failed' : 'Completed';
}
