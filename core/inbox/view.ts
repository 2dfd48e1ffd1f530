import type { InboxSettings } from '../config/inbox.js';
import type { InboxContainers } from '../storage/layout.js';
import { listBlobPages } from '../storage/list-blobs.js';
import { readJson, type Storage } from '../storage/storage.js';
import { stateContainer, statePaths, type BatchRecord } from './records.js';

export interface InboxView {
  pipeline: string;
  /** Where to drop files for this pipeline. */
  drop: string;
  settings: InboxSettings | null;
  /** Files recorded and not yet in a batch. */
  waiting: number;
  /** The most recent batches, newest first. */
  batches: BatchRecord[];
}

const RECENT_BATCHES = 20;

/** The pipeline's inbox as storage has it: files waiting (one listing) and its recent batches. */
export async function inboxView(
  storage: Storage,
  names: InboxContainers,
  pipeline: string,
  settings: InboxSettings | undefined,
): Promise<InboxView> {
  const state = await stateContainer(storage, names);
  let waiting = 0;
  for await (const page of listBlobPages(state, { prefix: statePaths.pendingPrefix(pipeline) }))
    waiting += page.length;
  const folders: string[] = [];
  for await (const item of state.listBlobsByHierarchy('/', { prefix: statePaths.batchesPrefix(pipeline) })) {
    if (item.kind === 'prefix') folders.push(item.name);
    if (folders.length > RECENT_BATCHES) folders.shift();
  }
  const batches: BatchRecord[] = [];
  for (const folder of folders.reverse()) {
    const record = await readJson<BatchRecord>(state, `${folder}batch.json`);
    if (record) batches.push(record);
  }
  return {
    pipeline,
    drop: `${names.inbox}/${pipeline}/`,
    settings: settings ?? null,
    waiting,
    batches,
  };
}
