import { containers, indexOfPart, runPaths } from '../storage/layout.js';
import { listBlobs, type ListedBlob } from '../storage/list-blobs.js';
import type { Storage } from '../storage/storage.js';

/** A written part as listed: the mini-batches it covers (`first`…`last`) and its blob. */
export interface ListedPart {
  first: number;
  last: number;
  /** Failed items of its mini-batch (a range, a group's clean tries, has none). */
  failed: number;
  blob: ListedBlob;
}

/**
 * A run's parts in mini-batch order, with their metadata. A part that starts inside an earlier
 * part's range is an older single try's, superseded by the group that wrote the range
 * (core/runner/execute-group.ts): it is skipped, so no mini-batch's rows are counted twice.
 */
export async function* listParts(storage: Storage, runId: string): AsyncGenerator<ListedPart> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  let coveredTo = -1;
  for await (const blob of listBlobs(runs, {
    prefix: runPaths.partsPrefix(runId),
    includeMetadata: true,
  })) {
    const first = indexOfPart(blob.name);
    if (first <= coveredTo) continue;
    const last = Math.max(first, Number(blob.metadata.last ?? first));
    coveredTo = last;
    yield { first, last, failed: Number(blob.metadata.failed ?? '0'), blob };
  }
}
