import type { RunTotals } from '../core/outputs/records.js';
import type { ShardRef } from '../core/datasets/plan.js';

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
}

export interface PlanOutput {
  items: number;
  miniBatches: number;
  shards: ShardRef[];
  limits: RunLimits;
}

export interface ShardInput {
  runId: string;
  shard: ShardRef;
  limits: RunLimits;
  /** Mini-batches this shard keeps in flight: the run's node_count × process_count_per_node, shared by the shards running at once. */
  maxInFlight: number;
  /** Failures already counted by finished shards: with this shard's own, a threshold can be known crossed early. */
  priorFailedItems: number;
  priorFailedMiniBatches: number;
  startedAt: string;
}

export interface ShardOutput {
  shard: number;
  totals: Omit<RunTotals, 'items' | 'miniBatches'>;
  /** Set when the shard stopped scheduling: a threshold crossed or no progress. */
  stopped?: string;
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
  phase: 'planning' | 'running' | 'finalizing' | 'done';
  startedAt: string;
  items: number;
  miniBatches: number;
  shards: number;
  shardsDone: number;
  done: Omit<RunTotals, 'items' | 'miniBatches'>;
  inFlightShards: number[];
  stopping?: string;
}
