import { RestError, type ContainerClient } from '@azure/storage-blob';
import type { InboxSettings } from '../config/inbox.js';
import { newRunId } from '../runner/submit.js';
import type { InboxContainers } from '../storage/layout.js';
import { isNotFound, readJson, writeJson, type Storage } from '../storage/storage.js';
import { inboxOf } from './drop.js';
import { readJsonLines, writeJsonLines } from './jsonl.js';
import { inLanes } from './lanes.js';
import { containerOf } from './move.js';
import {
  inboxBlobName,
  pendingEntryOf,
  stateContainer,
  statePaths,
  type BatchRecord,
  type DroppedFile,
  type PendingEntry,
} from './records.js';
import { rejectDrop } from './reject.js';

/** What the collector learns from one look: how many files wait, when the next run is due, or the batch it cut. */
export interface InboxLook {
  /** Files waiting (pending records), after any batch cut by this look. */
  waiting: number;
  /** When the next batch is due, if files wait and it is not due yet. */
  nextRunAt?: string;
  /** With `nextRunAt`: the batch is due at once when this many files wait. */
  maxFiles?: number;
  cut?: BatchRecord;
}

const CLAIMS_AT_ONCE = 16;

async function listPending(state: ContainerClient, pipeline: string): Promise<PendingEntry[]> {
  const entries: PendingEntry[] = [];
  const prefix = statePaths.pendingPrefix(pipeline);
  for await (const item of state.listBlobsFlat({ prefix, includeMetadata: true })) {
    const entry = pendingEntryOf(item);
    if (entry) entries.push(entry);
  }
  // First come, first taken; ties by name, so the choice is the same however the listing is ordered.
  return entries.sort((a, b) =>
    a.arrived === b.arrived ? (a.name < b.name ? -1 : 1) : a.arrived < b.arrived ? -1 : 1,
  );
}

/** The batch a claim names, or undefined when the claim does not exist. */
async function claimOwner(state: ContainerClient, path: string): Promise<number | undefined> {
  try {
    const text = (await state.getBlobClient(path).downloadToBuffer()).toString('utf8');
    return Number(text);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Takes one version of one file for `batch`, durably and at most once across all batches: a claim
 * blob named by the name and ETag, created only if absent. A version claimed by an earlier batch (a
 * duplicated event) or no longer in the inbox (overwritten or moved) is not taken; one this batch
 * claimed in an earlier try of the same cut is taken again.
 */
async function claim(
  state: ContainerClient,
  inbox: ContainerClient,
  pipeline: string,
  file: DroppedFile,
  batch: number,
): Promise<boolean> {
  const path = statePaths.claim(pipeline, file.name, file.etag);
  const owner = await claimOwner(state, path);
  if (owner !== undefined) return owner === batch;
  const now = await inbox
    .getBlobClient(inboxBlobName(pipeline, file.name))
    .getProperties()
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  if (now?.etag?.replace(/"/g, '') !== file.etag) return false;
  const body = String(batch);
  try {
    await state.getBlockBlobClient(path).upload(body, body.length, { conditions: { ifNoneMatch: '*' } });
    return true;
  } catch (err) {
    if (!(err instanceof RestError) || err.statusCode !== 409) throw err;
    return (await claimOwner(state, path)) === batch;
  }
}

/** Whether the files waiting make a batch now: `max_files` of them, or none arrived for `quiet_seconds`. */
export function dueAt(
  pending: PendingEntry[],
  settings: InboxSettings,
  now: Date,
): { due: true } | { due: false; at: string } {
  if (pending.length >= settings.max_files) return { due: true };
  const newest = pending.reduce((t, e) => (e.arrived > t ? e.arrived : t), '');
  const at = new Date(new Date(newest).getTime() + settings.quiet_seconds * 1000);
  return at.getTime() <= now.getTime() ? { due: true } : { due: false, at: at.toISOString() };
}

/** Files of a pipeline that lost its inbox (deleted, or published again without one) are rejected, not kept waiting. */
async function rejectAll(
  storage: Storage,
  names: InboxContainers,
  state: ContainerClient,
  pipeline: string,
  pending: PendingEntry[],
  reason: string,
): Promise<void> {
  for (const entry of pending) {
    await rejectDrop(storage, names, inboxBlobName(pipeline, entry.name), entry.etag, reason);
    await state
      .getBlobClient(statePaths.pending(pipeline, entry.name))
      .deleteIfExists({ conditions: { ifMatch: entry.recordEtag } })
      .catch(() => undefined);
  }
}

/**
 * Cuts batch `n` of a pipeline's inbox when it is due: claims the chosen files, writes the manifest
 * (the run's input), then `batch.json` (the commit), then clears their pending records. Idempotent:
 * run again (a retried activity) it finds `batch.json`, or the same candidates and its own claims.
 */
async function cut(
  storage: Storage,
  names: InboxContainers,
  state: ContainerClient,
  pipeline: string,
  batch: number,
  candidates: PendingEntry[],
): Promise<BatchRecord> {
  const inbox = await containerOf(storage, names.inbox);
  const taken = await inLanes(candidates, CLAIMS_AT_ONCE, (c) => claim(state, inbox, pipeline, c, batch));
  const files = candidates.filter((_, i) => taken[i]);
  await writeJsonLines(
    state,
    statePaths.files(pipeline, batch),
    files.map((f) => f.name),
  );
  await writeJsonLines(
    state,
    statePaths.taken(pipeline, batch),
    files.map((f): DroppedFile => ({ name: f.name, etag: f.etag })),
  );
  const times = files.map((f) => f.arrived).sort();
  const record: BatchRecord = {
    pipeline,
    batch,
    ...(files.length > 0 ? { runId: newRunId(`${pipeline}-inbox`) } : {}),
    files: files.length,
    from: times[0] ?? '',
    to: times[times.length - 1] ?? '',
    cutTime: new Date().toISOString(),
    manifest: { container: names.state, path: statePaths.files(pipeline, batch) },
  };
  await writeJson(state, statePaths.batch(pipeline, batch), record);
  for (const c of candidates) {
    // Only the record this batch saw: one a newer drop rewrote stays pending for the next batch.
    await state
      .getBlobClient(statePaths.pending(pipeline, c.name))
      .deleteIfExists({ conditions: { ifMatch: c.recordEtag } })
      .catch((err: unknown) => {
        if (!(err instanceof RestError) || err.statusCode !== 412) throw err;
      });
  }
  return record;
}

export async function readBatch(
  storage: Storage,
  names: InboxContainers,
  pipeline: string,
  batch: number,
): Promise<BatchRecord | undefined> {
  return readJson<BatchRecord>(await stateContainer(storage, names), statePaths.batch(pipeline, batch));
}

/**
 * The collector's one look at a pipeline's inbox: batch `n` if it was cut already (a retry), else the
 * files waiting and when they are due, cutting batch `n` once they are.
 */
export async function lookAtInbox(
  storage: Storage,
  names: InboxContainers,
  pipeline: string,
  batch: number,
  now = new Date(),
): Promise<InboxLook> {
  const state = await stateContainer(storage, names);
  const done = await readJson<BatchRecord>(state, statePaths.batch(pipeline, batch));
  if (done) return { waiting: (await listPending(state, pipeline)).length, cut: done };
  const pending = await listPending(state, pipeline);
  // An earlier try of this cut chose its files already: the same files, whatever arrived since.
  const earlier = await readJsonLines<PendingEntry>(
    state.getBlobClient(statePaths.candidates(pipeline, batch)),
  );
  if (earlier) return afterCut(pending, await cut(storage, names, state, pipeline, batch, earlier), earlier);
  if (pending.length === 0) return { waiting: 0 };
  const settings = await inboxOf(storage, names, pipeline);
  if (typeof settings === 'string') {
    await rejectAll(storage, names, state, pipeline, pending, settings);
    return { waiting: 0 };
  }
  const due = dueAt(pending, settings, now);
  if (!due.due) return { waiting: pending.length, nextRunAt: due.at, maxFiles: settings.max_files };
  // Chosen, and written, before any claim: a retry claims the very same files.
  const chosen = pending.slice(0, settings.max_files);
  await writeJsonLines(state, statePaths.candidates(pipeline, batch), chosen);
  return afterCut(pending, await cut(storage, names, state, pipeline, batch, chosen), chosen);
}

function afterCut(pending: PendingEntry[], record: BatchRecord, chosen: PendingEntry[]): InboxLook {
  const taken = new Set(chosen.map((c) => c.name));
  return { waiting: pending.filter((p) => !taken.has(p.name)).length, cut: record };
}

/**
 * Where a collector started afresh (first drop, or after it failed) begins: at the last batch that
 * has records (finished there, a look finds it cut and moves on; half cut, the look completes it),
 * or at 0.
 */
export async function firstBatchToLook(
  storage: Storage,
  names: InboxContainers,
  pipeline: string,
): Promise<number> {
  const state = await stateContainer(storage, names);
  const prefix = statePaths.batchesPrefix(pipeline);
  let last = 0;
  for await (const item of state.listBlobsByHierarchy('/', { prefix })) {
    if (item.kind !== 'prefix') continue;
    const n = Number(item.name.slice(prefix.length).replace(/\/$/, ''));
    if (Number.isSafeInteger(n) && n > last) last = n;
  }
  return last;
}
