import type { RunProgress, ShardProgress } from '../../orchestrations/contracts.js';

export interface ProgressView {
  items: { total: number; succeeded: number; failed: number; remaining: number };
  miniBatches: { total: number; succeeded: number; failed: number; inFlight: number };
  elapsedSeconds: number;
  itemsPerSecond: number;
  etaSeconds: number | null;
  percent: number;
}

/**
 * The moment a run's progress is told at: now while it runs; for a run that ended, when it ended (the
 * orchestration's last update), so its elapsed time and rate stay what they were instead of growing,
 * and its rate falling, with every later look.
 */
export function progressClock(ended: boolean, lastUpdatedTime: Date | string, now = new Date()): Date {
  return ended ? new Date(lastUpdatedTime) : now;
}

/** Live counts: finished shards (from the run's status) plus the shards in flight (≤ node_count reads). */
export function progressView(run: RunProgress, shards: ShardProgress[], now: Date): ProgressView {
  const t = { ...run.done };
  let inFlight = 0;
  for (const s of shards) {
    t.itemsSucceeded += s.totals.itemsSucceeded;
    t.itemsFailed += s.totals.itemsFailed;
    t.miniBatchesSucceeded += s.totals.miniBatchesSucceeded;
    t.miniBatchesFailed += s.totals.miniBatchesFailed;
    inFlight += s.inFlight;
  }
  const processed = t.itemsSucceeded + t.itemsFailed;
  const elapsedSeconds = Math.max((now.getTime() - new Date(run.startedAt).getTime()) / 1000, 0);
  const itemsPerSecond = elapsedSeconds > 0 ? processed / elapsedSeconds : 0;
  // A table's rows are known once read: its total so far is what was read, and the rest is told by mini-batches.
  const byMiniBatches = run.itemsCountedByTries === true;
  const total = byMiniBatches ? processed : run.items;
  const remaining = Math.max(total - processed, 0);
  const batchesDone = t.miniBatchesSucceeded + t.miniBatchesFailed;
  const batchesPerSecond = elapsedSeconds > 0 ? batchesDone / elapsedSeconds : 0;
  const eta = byMiniBatches
    ? batchesPerSecond > 0
      ? (run.miniBatches - batchesDone) / batchesPerSecond
      : null
    : itemsPerSecond > 0
      ? remaining / itemsPerSecond
      : null;
  const [done, of] = byMiniBatches ? [batchesDone, run.miniBatches] : [processed, run.items];
  return {
    items: { total, succeeded: t.itemsSucceeded, failed: t.itemsFailed, remaining },
    miniBatches: {
      total: run.miniBatches,
      succeeded: t.miniBatchesSucceeded,
      failed: t.miniBatchesFailed,
      inFlight,
    },
    elapsedSeconds: Math.round(elapsedSeconds * 10) / 10,
    itemsPerSecond: Math.round(itemsPerSecond * 10) / 10,
    etaSeconds: eta !== null && run.phase === 'running' ? Math.round(eta) : null,
    percent: of > 0 ? Math.round((1000 * done) / of) / 10 : 0,
  };
}
