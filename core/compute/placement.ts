import { poolQueue } from '../config/pools.js';
import type { RunSettings } from '../config/settings.js';

/**
 * Where the tries of a run execute, as the shard orchestrator sees it: read from the run's limits
 * (orchestrations/contracts.ts `RunLimits.compute`, set by the plan activity), never with I/O.
 *
 * - `activity`: the shard calls the `runMiniBatch` activity; the try runs inside that activity, in
 *   this Functions instance (compute `functions`, core/compute/functions.ts).
 * - `queue`: a pool (core/compute/pool.ts). The shard drives each try (orchestrations/poolTry.ts): it
 *   enqueues `{runId, shard, index, attempt}` on `queue` and waits for the try's result event racing
 *   a timer of `startTimeoutSeconds`; a pool worker (worker/) runs the same core code (`executeMiniBatch`).
 */
export type ComputePlacement =
  | { kind: 'functions'; placement: 'activity' }
  | { kind: string; placement: 'queue'; queue: string; startTimeoutSeconds: number };

/** The placement of a run's `compute` setting; `startTimeoutSeconds` is the app's (core/config/pools.ts). */
export function placementOf(compute: RunSettings['compute'], startTimeoutSeconds: number): ComputePlacement {
  if (compute === 'functions') return { kind: 'functions', placement: 'activity' };
  return { kind: compute, placement: 'queue', queue: poolQueue(compute), startTimeoutSeconds };
}

/**
 * Tries handed out per script process: one running `run()` and one fetching its inputs behind it, so
 * a process never waits for a round trip between tries. The same for both placements: the Functions
 * path keeps that many activities per process, a pool worker takes that many messages per process
 * (it still scores only `process_count_per_node` at once: one per GPU).
 */
export const MINI_BATCHES_PER_PROCESS = 2;

/**
 * Tries per script process a pool run keeps waiting on its queue, beyond those its workers hold: a
 * worker that frees a slot finds its next try there at once, while the last result is still on its
 * way back to the shard (the results queue's poll, the event, the shard's episode, the enqueue) and
 * the next put. Without them the workers polled an empty queue for that round trip after every try:
 * measured on the tuned MNIST run with two local workers, 382–402 images/s, against 475–655 with them.
 */
export const QUEUED_PER_PROCESS = 2;

/** Tries a run keeps in flight per script process where its placement runs them. */
export function triesPerProcess(placement: ComputePlacement | undefined): number {
  return placement?.placement === 'queue'
    ? MINI_BATCHES_PER_PROCESS + QUEUED_PER_PROCESS
    : MINI_BATCHES_PER_PROCESS;
}

/** A run planned before placements were recorded ran in the Functions pool. */
export const DEFAULT_PLACEMENT: ComputePlacement = { kind: 'functions', placement: 'activity' };
