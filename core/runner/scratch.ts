import { rm, rmdir } from 'node:fs/promises';
import { errorMessage } from '../errors.js';
import { processRunScratch, runScratch } from './paths.js';

/**
 * Removes a scratch folder, best effort: a try still writing into it (a run canceled while its
 * files download) makes a recursive remove fail with ENOTEMPTY. What is left is scratch space,
 * removed with the next run or the machine; never a reason to fail the caller.
 */
export async function removeScratch(folder: string): Promise<void> {
  try {
    await rm(folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  } catch (err) {
    console.warn(`scratch folder ${folder} not fully removed: ${errorMessage(err)}`);
  }
}

/**
 * This process's pool of the run is gone: what it kept for the run goes, and the run's folder too
 * once nothing is left in it. Other processes' folders and tries of the run are theirs: a remove
 * that is not recursive leaves a folder that still holds any.
 */
export async function removeRunScratch(runId: string): Promise<void> {
  await removeScratch(processRunScratch(runId));
  await rmdir(runScratch(runId)).catch(() => undefined);
}
