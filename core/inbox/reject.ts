import { createHash } from 'node:crypto';
import { BLOB_NAME_MAX, BLOB_NAME_RULE, pathProblem } from '../config/paths.js';
import type { InboxContainers } from '../storage/layout.js';
import { writeText, type Storage } from '../storage/storage.js';
import { containerOf, moveVersion } from './move.js';

/**
 * A drop no run will take: moved to `<inbox>-rejected/` under the same name, with `<name>.reason.txt`
 * beside it saying why and what to do. Never deleted, never ignored in silence.
 */
export async function rejectDrop(
  storage: Storage,
  names: InboxContainers,
  blobName: string,
  etag: string,
  reason: string,
  now = new Date(),
): Promise<void> {
  const inbox = await containerOf(storage, names.inbox);
  const rejected = await containerOf(storage, names.rejected);
  const target = rejectedName(blobName);
  // The reason first: a file found in rejected/ always has its reason beside it.
  await writeText(
    rejected,
    `${target}${REASON_SUFFIX}`,
    `${names.inbox}/${JSON.stringify(blobName)} was rejected at ${now.toISOString()}:\n${reason}\n`,
  );
  await moveVersion(inbox, blobName, etag, rejected, target);
}

const REASON_SUFFIX = '.reason.txt';
/**
 * The same name in the rejected container; a name that could reach out of it once in a URL ("..",
 * "." or empty segments, control characters), or too long for its reason's name, goes under
 * `_unsafe-names/` by its hash instead (the reason names it whole).
 */
function rejectedName(blobName: string): string {
  const fits = blobName.length + REASON_SUFFIX.length <= BLOB_NAME_MAX;
  if (fits && pathProblem(blobName, BLOB_NAME_RULE) === undefined) return blobName;
  return `_unsafe-names/${createHash('sha256').update(blobName).digest('hex')}`;
}
