import { containers, runPaths } from '../storage/layout.js';
import { isNotFound, readJson, writeJson, type Storage } from '../storage/storage.js';
import type { RunSummary } from './summary.js';

/** `runs/_reuse/<fingerprint>.json`: the Completed run whose results that fingerprint reuses. */
interface ReuseEntry {
  runId: string;
  completedAt: string;
}

function runsOf(storage: Storage) {
  return storage.blobs.getContainerClient(containers.runs);
}

/**
 * Records `summary`'s run as the one its fingerprint reuses. Called only once the summary is written
 * and says Completed, so a run that fails, or is still running, is never reused; of two identical runs
 * that both complete, the later one is kept (either serves the same result). A resume that kept
 * mini-batches is not recorded: their rows were made by the resumed run, with the script, models and
 * side inputs of then, which its own fingerprint (those of now) does not describe.
 */
export async function registerCompleted(
  storage: Storage,
  fingerprint: string,
  summary: RunSummary,
): Promise<void> {
  if (summary.status !== 'Completed' || summary.reusedFrom) return;
  if ((summary.resume?.miniBatchesReused ?? 0) > 0) return;
  const entry: ReuseEntry = { runId: summary.runId, completedAt: summary.finishedAt };
  await writeJson(runsOf(storage), runPaths.reuseIndex(fingerprint), entry);
}

/**
 * The summary of the Completed run this fingerprint reuses, found in one read (plus one to check that
 * its summary and output are still there), or undefined.
 */
export async function findReusable(storage: Storage, fingerprint: string): Promise<RunSummary | undefined> {
  const runs = runsOf(storage);
  const entry = await readJson<ReuseEntry>(runs, runPaths.reuseIndex(fingerprint));
  if (!entry) return undefined;
  const summary = await readJson<RunSummary>(runs, runPaths.summary(entry.runId));
  if (summary?.status !== 'Completed') return undefined;
  if (summary.output && !(await blobExists(storage, summary.output.container, summary.output.blob)))
    return undefined;
  return summary;
}

async function blobExists(storage: Storage, container: string, blob: string): Promise<boolean> {
  try {
    await storage.blobs.getContainerClient(container).getBlobClient(blob).getProperties();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
