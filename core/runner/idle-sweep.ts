/** Pools idle this long are shut down: in Azure, finalize may run on another instance than ours. */
export const IDLE_MS = 120_000;
const SWEEP_EVERY_MS = 30_000;

/** What the sweep needs to know of a pool. */
export interface Idleness {
  /** Tries running on the pool or waiting for it: the sweep leaves the pool alone while any are. */
  active: number;
  lastUsed: number;
}

let sweeper: NodeJS.Timeout | undefined;

/**
 * Starts (once) a timer that calls `shutdown` for each pool idle longer than IDLE_MS, and stops
 * itself once no pool is left. It never keeps the process alive.
 */
export function startIdleSweep(
  pools: ReadonlyMap<string, Idleness>,
  shutdown: (runId: string) => Promise<void>,
): void {
  if (sweeper) return;
  sweeper = setInterval(() => {
    for (const [runId, entry] of pools) {
      if (entry.active === 0 && Date.now() - entry.lastUsed > IDLE_MS) void shutdown(runId);
    }
    if (pools.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }, SWEEP_EVERY_MS);
  sweeper.unref();
}
