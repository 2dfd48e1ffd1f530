import { triesPerProcess, type ComputePlacement } from '../core/compute/placement.js';
import type { PoolTry } from '../core/compute/protocol.js';
import type { RunTotals } from '../core/outputs/records.js';
import type { CarriedShard } from '../core/outputs/carry.js';
import type { ReuseCheck } from '../core/runner/reuse-check.js';
import type { RunSummary } from '../core/outputs/summary.js';

/** The thresholds and parallelism the orchestrators enforce (from the run's settings). */
export interface RunLimits {
  run_max_try: number;
  node_count: number;
  process_count_per_node: number;
  error_threshold: number;
  mini_batch_error_threshold: number;
  allowed_failed_percent: number;
  /** Seconds without any mini-batch finishing before the run fails; null: not enforced. */
  progress_update_timeout: number | null;
  /** Where tries run (core/compute/placement.ts); absent in runs planned before it was recorded: `functions`. */
  compute?: ComputePlacement;
  /**
   * Consecutive mini-batches one activity tries (`activity` placement, small mini-batches: see
   * `triesPerActivity`); absent or 1: one activity per try.
   */
  triesPerActivity?: number;
}

export interface PlanOutput {
  items: number;
  miniBatches: number;
  /** A resume's shards say which of their mini-batches it keeps (a bitmap each): those are not scheduled. */
  shards: CarriedShard[];
  /** Tables: `items` counts ranges; their rows are counted as tries read them. */
  itemsCountedByTries?: true;
  limits: RunLimits;
  /** A resume: the mini-batches, and their items, kept from the run it resumes. */
  reused?: { miniBatches: number; items: number };
  /** The fingerprint, and whether the run is reused or (a resume) refused: then nothing was planned. */
  check: ReuseCheck;
}

/**
 * Mini-batches a run keeps in flight, over all its shards: `triesPerProcess` per process (two on
 * Functions; on a pool, the two its worker holds and two waiting on its queue). For a pool run these
 * are the messages on its queue, which is what scales its workers (KEDA, one replica per
 * `queueLengthPerReplica` = 4 × process_count_per_node messages), so node_count bounds the replicas it uses.
 */
export function miniBatchesInFlight(
  limits: Pick<RunLimits, 'node_count' | 'process_count_per_node'> & { compute?: ComputePlacement },
): number {
  return limits.node_count * limits.process_count_per_node * triesPerProcess(limits.compute);
}

/**
 * Items an activity should get through before it reports back. A mini-batch of a few files costs
 * far more in orchestration (an activity, its history events, a part blob) than in scoring: below
 * this many items, consecutive mini-batches share one activity, each still counted, retried and
 * thresholded on its own (docs/scale.md).
 */
export const ITEMS_PER_ACTIVITY = 100;
/** Bounds a group's share of a shard's history, and the work lost with a lost activity. */
export const MAX_TRIES_PER_ACTIVITY = 25;

/**
 * A group reports when its slowest try ends, so a hung try holds its neighbours' progress back for
 * up to run_invocation_timeout: groups only while that is at most a minute (the default 60 s).
 */
export const MAX_GROUP_HOLD_SECONDS = 60;

/** Groups per try in flight, at least: a run's last groups still keep every process busy. */
const GROUPS_PER_SLOT = 4;

/**
 * Items one pool message should carry. A message costs some ten storage requests whatever it holds
 * (put, receive and delete it and its result; the try's claim taken and finished; the result raised
 * on the shard): below this many items, consecutive mini-batches share one, each still counted,
 * retried and thresholded on its own. Measured on the tuned MNIST run (mini-batches of 100 images)
 * on two local workers: bench/pool.ts.
 */
export const ITEMS_PER_POOL_MESSAGE = 400;

/**
 * A pool's in-flight count already holds the messages waiting on its queue (QUEUED_PER_PROCESS), so
 * one group per message in flight still leaves every worker's next group waiting for it.
 */
const POOL_GROUPS_PER_SLOT = 1;

/**
 * Mini-batches one activity (or pool message) tries: only when mini_batch_size is a file count small
 * enough to gain from it, only when the run has mini-batches enough to keep every process busy in
 * groups (a few mini-batches gain nothing, and show their progress sooner one by one), and never
 * under a progress_update_timeout, whose timer must see each mini-batch the moment it finishes (a
 * group reports its tries together).
 */
export function triesPerActivity(run: {
  placement: ComputePlacement['placement'];
  miniBatchFiles: number | undefined;
  miniBatches: number;
  inFlight: number;
  progressUpdateTimeout: number | null;
  runInvocationTimeout: number;
}): number {
  const { miniBatchFiles: files } = run;
  if (run.progressUpdateTimeout !== null) return 1;
  if (run.runInvocationTimeout > MAX_GROUP_HOLD_SECONDS) return 1;
  if (files === undefined || files <= 0) return 1;
  const pool = run.placement === 'queue';
  const perSlot = pool ? POOL_GROUPS_PER_SLOT : GROUPS_PER_SLOT;
  const enough = Math.floor(run.miniBatches / (Math.max(1, run.inFlight) * perSlot));
  const items = pool ? ITEMS_PER_POOL_MESSAGE : ITEMS_PER_ACTIVITY;
  return Math.max(1, Math.min(MAX_TRIES_PER_ACTIVITY, Math.floor(items / files), enough));
}

/** One try of a pool run, as its orchestration, activities and queue message know it. */
export interface PoolTryInput extends PoolTry {
  pool: string;
  queue: string;
}

export interface ShardInput {
  runId: string;
  shard: CarriedShard;
  limits: RunLimits;
  /** Mini-batches this shard keeps in flight: its part of the run's `miniBatchesInFlight(limits)`. */
  maxInFlight: number;
  /** Failures already counted by finished shards: with this shard's own, a threshold can be known crossed early. */
  priorFailedItems: number;
  priorFailedMiniBatches: number;
  /** Siblings run beside this shard: report failures to the run as they happen (thresholds span shards). */
  reportFailures: boolean;
  startedAt: string;
}

/** A shard's failure counts so far (event `shardFailures`, shard → run). */
export interface ShardFailures {
  shard: number;
  itemsFailed: number;
  miniBatchesFailed: number;
}

/** Why a shard must stop scheduling (event `stop`, run → shard). */
export interface StopShard {
  reason: string;
  /**
   * The run was canceled: the shard ends at once, without waiting for the tries in flight (the run
   * shuts their processes down and counts only what was written).
   */
  cancel?: boolean;
}

/** Data of the `cancel` event (status API → run). */
export interface CancelRun {
  reason: string;
}

/** Input of the `signalInstances` activity: raise one event on each instance that is still running. */
export interface SignalInput {
  instanceIds: string[];
  event: string;
  data: ShardFailures | StopShard;
}

export interface ShardOutput {
  shard: number;
  totals: Omit<RunTotals, 'items' | 'miniBatches'>;
  /** Set when the shard stopped scheduling: a threshold crossed or no progress. */
  stopped?: string;
  /** Set when the shard ended on a cancel, leaving its tries in flight behind. */
  canceled?: boolean;
}

/** Custom status of a shard: live counts for the status API. */
export interface ShardProgress {
  shard: number;
  miniBatches: number;
  inFlight: number;
  totals: Omit<RunTotals, 'items' | 'miniBatches'>;
}

/** Custom status of a run: phase, totals of finished shards, and which shards to ask for live counts. */
export interface RunProgress {
  /** `canceling`: a cancel arrived; the shards are told to stop, then the summary is written. */
  phase: 'planning' | 'running' | 'canceling' | 'finalizing' | 'done';
  startedAt: string;
  items: number;
  /** Tables: rows are known only once read; progress is told by mini-batches. */
  itemsCountedByTries?: true;
  miniBatches: number;
  shards: number;
  shardsDone: number;
  done: Omit<RunTotals, 'items' | 'miniBatches'>;
  inFlightShards: number[];
  stopping?: string;
  /** The cancel's reason, once the run has taken it. */
  canceled?: string;
  /** allow_reuse found this earlier Completed run: nothing runs, its results are served. */
  reusedFrom?: string;
}

/** What the `parallelRun` orchestration returns: the verdict and totals of its summary. */
export interface RunOutput {
  status: RunSummary['status'];
  reason?: string;
  totals: RunSummary['totals'];
  output?: RunSummary['output'];
  reusedFrom?: string;
  resumedFrom?: string;
}
