import type { InboxLook } from '../core/inbox/batches.js';

/**
 * Wake events a collector takes before it continues as new. Each event is a history row, and every
 * episode replays the whole history: a drop of 10,000 files is 10,000 events, so the history is cut
 * short every so often. The state that matters is in storage; the next generation starts by reading it.
 */
export const WAKES_PER_GENERATION = 50;

/** The collector's custom status, read by `GET /api/pipelines/{name}/inbox`. */
export interface CollectorStatus {
  /** `looking`: reading the inbox (cutting a batch when due); `waiting`: files wait for `nextRunAt`; `idle`: none wait. */
  phase: 'looking' | 'waiting' | 'idle';
  /** The number the next batch will have. */
  batch: number;
  waiting: number;
  nextRunAt?: string;
}

/** What the collector does after a look at its inbox. */
export type CollectorStep =
  | { kind: 'startBatch'; runId: string }
  /** Cut, but every file chosen had been taken already (duplicated events): no run, on to the next batch. */
  | { kind: 'nextBatch' }
  | { kind: 'waitUntil'; at: string; waiting: number; maxFiles: number }
  | { kind: 'idle' };

export function stepAfter(look: InboxLook): CollectorStep {
  if (look.cut)
    return look.cut.runId === undefined
      ? { kind: 'nextBatch' }
      : { kind: 'startBatch', runId: look.cut.runId };
  if (look.nextRunAt !== undefined)
    return {
      kind: 'waitUntil',
      at: look.nextRunAt,
      waiting: look.waiting,
      maxFiles: look.maxFiles ?? Number.POSITIVE_INFINITY,
    };
  return { kind: 'idle' };
}

/** True when the collector has taken enough wakes in this generation to continue as new. */
export function timeToRenew(wakes: number): boolean {
  return wakes >= WAKES_PER_GENERATION;
}

/**
 * While files wait for their time, each wake may be one more file: once they may reach `max_files`,
 * the collector looks again rather than wait for the timer (a duplicated event only costs a look).
 */
export function mayBeFull(
  step: Extract<CollectorStep, { kind: 'waitUntil' }>,
  wakesSinceLook: number,
): boolean {
  return step.waiting + wakesSinceLook >= step.maxFiles;
}
