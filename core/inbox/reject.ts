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
  // The reason first: a file found in rejected/ always has its reason beside it.
  await writeText(
    rejected,
    `${blobName}.reason.txt`,
    `${names.inbox}/${blobName} was rejected at ${now.toISOString()}:\n${reason}\n`,
  );
  await moveVersion(inbox, blobName, etag, rejected, blobName);
}
