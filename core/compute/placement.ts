import type { RunSettings } from '../config/settings.js';

/**
 * Where the tries of a run execute, as the shard orchestrator sees it: read from the run's limits
 * (orchestrations/contracts.ts `RunLimits.compute`, set by the plan activity), never with I/O.
 *
 * - `activity`: the shard calls the `runMiniBatch` activity; the try runs inside that activity, in
 *   this Functions instance (compute `functions`, core/compute/functions.ts).
 * - `queue` (next issue, not built): the shard enqueues `{runId, shard, index, attempt}` on the Storage
 *   queue `minibatches-<pool>`, and waits for the try's result event racing a timer; a GPU worker runs
 *   the same core code (`executeMiniBatch`) and reports the result. Settings accept it once
 *   core/config allows `compute: "<pool>"`; the shard's `callTry` (orchestrations/shard.ts) branches on it.
 */
export type ComputePlacement =
  { kind: 'functions'; placement: 'activity' } | { kind: string; placement: 'queue'; queue: string };

/** The placement of a run's `compute` setting (today only `functions`, core/config). */
export function placementOf(compute: RunSettings['compute']): ComputePlacement {
  return { kind: compute, placement: 'activity' };
}

/** A run planned before placements were recorded ran in the Functions pool. */
export const DEFAULT_PLACEMENT: ComputePlacement = { kind: 'functions', placement: 'activity' };
