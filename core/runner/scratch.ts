import { rm } from 'node:fs/promises';
import { errorMessage } from '../errors.js';

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
