import { containers, runPaths } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';

/**
 * Runs this instance knows have ended (finalized or canceled), newest last. Their tries still in
 * flight (downloading, or activities the host runs again after a restart) must not start a pool:
 * they would score a run nobody waits for, and hold the host's activity slots.
 */
const ended = new Set<string>();
const ENDED_REMEMBERED = 10_000;

export function markEnded(runId: string): void {
  ended.add(runId);
  if (ended.size > ENDED_REMEMBERED) ended.delete(ended.values().next().value ?? runId);
}

/** Whether the run has ended, as far as this instance knows without asking storage. */
export function hasEnded(runId: string): boolean {
  return ended.has(runId);
}

/** A run whose summary is written has ended, whichever instance ended it. */
export async function endedElsewhere(storage: Storage, runId: string): Promise<boolean> {
  const summary = storage.blobs.getContainerClient(containers.runs).getBlobClient(runPaths.summary(runId));
  if (!(await summary.exists())) return false;
  markEnded(runId);
  return true;
}
