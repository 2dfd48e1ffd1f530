import type { MiniBatchResult } from '../outputs/records.js';
import type { RunRecord } from '../runs/record.js';
import type { MiniBatchInput } from '../runner/execute.js';
import type { Storage } from '../storage/storage.js';
import type { ComputePlacement } from './placement.js';

export type { ComputePlacement } from './placement.js';

/**
 * How one try of one mini-batch is executed. Every kind writes the same things (the try's rows to
 * `parts/<index>`, its failed items to `failures/<index>.json`, by fixed names so a repeated try
 * overwrites itself) and reports the same MiniBatchResult: counts and the first failure, never rows.
 */
export interface ComputeKind {
  /** The `compute` setting's value (`functions`, or a GPU pool's name later). */
  readonly kind: string;
  /** How the shard orchestrator hands a try to this kind (see placement.ts). */
  readonly placement: ComputePlacement['placement'];
  /**
   * Runs one try where the caller is (`activity` placement: the `runMiniBatch` activity calls it; a
   * `queue` kind's worker calls the same on its side of the queue).
   */
  runTry(storage: Storage, input: MiniBatchInput): Promise<MiniBatchResult>;
  /** Records a try the host lost (the activity threw) as failed items; returns how many items it had. */
  recordLost(storage: Storage, input: MiniBatchInput & { error: string }): Promise<number>;
  /**
   * The run is being planned here (`planning` settles when the plan is made): start now what its
   * tries will need where this kind runs them (the Functions pool's processes and their init()).
   * Best effort: the plan never waits for it, and a failure is left for the first try to meet and report.
   */
  prepare(storage: Storage, run: RunRecord, planning: Promise<unknown>): Promise<void>;
  /** The run ended (finalized or canceled): its tries still running here end, and none starts again. */
  endRun(runId: string): Promise<void>;
}
