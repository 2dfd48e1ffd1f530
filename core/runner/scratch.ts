import { rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
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

/**
 * Removes a try's download folder, synchronously as its files were written (materialize.ts). The
 * files the try fetched are unlinked by name and the folder goes if that empties it: a recursive
 * remove looks at each entry first and fails on the folder before it lists it, about twice the CPU
 * per file (measured on /dev/shm), thousands of times a run at the tutorial's 5 files a mini-batch.
 * Whatever else is there (the folders of nested names, a file the script left) goes the recursive
 * way; a path outside the folder (a local dataset's own file) is never touched.
 */
export function removeTryFolder(dir: string, fetched: readonly unknown[] = []): void {
  // Only files right in the folder: a nested name's folder may have been swapped for a link by the
  // script, and unlinking through it would reach outside (the recursive way removes the link only).
  const files = fetched.filter((f): f is string => typeof f === 'string' && path.dirname(f) === dir);
  if (files.length > 0) {
    try {
      for (const file of files) unlinkSync(file);
      rmdirSync(dir);
      return;
    } catch {
      // Something else is in it, or a file went already: the recursive way.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
