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

/**
 * How long a "not ended" answer stands: however many tries of a run ask (a pool worker's
 * heartbeats, one per try every few seconds), its summary is read at most once per interval here.
 * Thousands of tries asking each on their own would pass the 500 reads a second one blob serves
 * (docs/scale.md, section 5).
 */
export const NOT_ENDED_FOR_MS = 2_000;
const asked = new Map<string, { at: number; ended: Promise<boolean> }>();

/**
 * Whether the run has ended, kept up to date in the background (its summary read every `everyMs`),
 * for work that asks in a tight loop and cannot wait on storage each time: a plan's thousands of
 * cut points. `stop` ends the watch.
 */
export function watchEnded(
  storage: Storage,
  runId: string,
  everyMs = NOT_ENDED_FOR_MS,
): { ended: () => boolean; stop: () => void } {
  let seen = false;
  const timer = setInterval(() => {
    endedElsewhere(storage, runId).then(
      (ended) => (seen ||= ended),
      // A failed read is no answer: the next tick asks again.
      () => undefined,
    );
  }, everyMs);
  timer.unref();
  return { ended: () => seen || hasEnded(runId), stop: () => clearInterval(timer) };
}

/**
 * A run whose summary is written has ended, whichever instance ended it. A "not ended" answer of
 * the last NOT_ENDED_FOR_MS stands; `fresh` reads the summary whatever was answered before (once
 * per event, not per heartbeat: a run's first try here, a new run coming to a pool worker).
 */
export function endedElsewhere(
  storage: Storage,
  runId: string,
  { now = Date.now(), fresh = false }: { now?: number; fresh?: boolean } = {},
): Promise<boolean> {
  if (ended.has(runId)) return Promise.resolve(true);
  const last = asked.get(runId);
  if (last && !fresh && now - last.at < NOT_ENDED_FOR_MS) return last.ended;
  const summary = storage.blobs.getContainerClient(containers.runs).getBlobClient(runPaths.summary(runId));
  const answer = summary.exists().then((exists) => {
    if (exists) markEnded(runId);
    return exists;
  });
  const entry = { at: now, ended: answer };
  // A failed read is not an answer: the next call asks again.
  answer.catch(() => asked.get(runId) === entry && asked.delete(runId));
  asked.delete(runId);
  asked.set(runId, entry);
  if (asked.size > ENDED_REMEMBERED) asked.delete(asked.keys().next().value ?? runId);
  return answer;
}
