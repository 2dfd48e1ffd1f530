/**
 * The collector's records, in `<inbox>-state/<pipeline>/` (names are fixed, so a retried activity
 * rewrites its own records):
 *   pending/<key>                    a dropped file waiting for a batch (name and ETag in metadata)
 *   claims/<key of name + ETag>      which batch took that version of the file: taken once, ever
 *   batches/<n>/candidates.jsonl     the files batch n chose, written before any is claimed
 *   batches/<n>/files.jsonl          the names it took, one JSON string per line: the run's input.names_from
 *   batches/<n>/taken.jsonl          the same with their ETags, for the move after the run
 *   batches/<n>/batch.json           the batch, once cut: its run, counts, times, and how it ended
 */
import { createHash } from 'node:crypto';
import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import type { InboxContainers } from '../storage/layout.js';
import { ensureContainer, type Storage } from '../storage/storage.js';

const pad = (n: number) => String(n).padStart(9, '0');
const key = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('hex');

export const statePaths = {
  pendingPrefix: (pipeline: string) => `${pipeline}/pending/`,
  pending: (pipeline: string, name: string) => `${pipeline}/pending/${key(name)}`,
  claim: (pipeline: string, name: string, etag: string) => `${pipeline}/claims/${key(name, etag)}`,
  candidates: (pipeline: string, batch: number) => `${pipeline}/batches/${pad(batch)}/candidates.jsonl`,
  files: (pipeline: string, batch: number) => `${pipeline}/batches/${pad(batch)}/files.jsonl`,
  taken: (pipeline: string, batch: number) => `${pipeline}/batches/${pad(batch)}/taken.jsonl`,
  batch: (pipeline: string, batch: number) => `${pipeline}/batches/${pad(batch)}/batch.json`,
  batchesPrefix: (pipeline: string) => `${pipeline}/batches/`,
} as const;

/** One version of one dropped file: its name under `<inbox>/<pipeline>/`, and its ETag. */
export interface DroppedFile {
  name: string;
  etag: string;
}

/** A batch, once cut. */
export interface BatchRecord {
  pipeline: string;
  batch: number;
  /** Absent when every file chosen had been taken already (duplicate events): no run. */
  runId?: string;
  files: number;
  /** When the first and the last of its files arrived. */
  from: string;
  to: string;
  cutTime: string;
  manifest: { container: string; path: string };
  /** Set once the run ended and its files were moved (or left). */
  settled?: { status: string; reason?: string; time: string; after_run: 'move' | 'leave' };
}

/** ETags as the trigger, listings and properties give them, with or without quotes: compared bare. */
export function bareEtag(etag: string): string {
  return etag.replace(/"/g, '');
}

/**
 * Metadata values are ASCII: names travel percent-encoded. The arrival time is the app's clock, to
 * the millisecond (a listing's Last-Modified has whole seconds), as is the clock a batch is cut by.
 */
export function fileMetadata(file: DroppedFile, arrived: Date): Record<string, string> {
  return { name: encodeURIComponent(file.name), etag: bareEtag(file.etag), arrived: arrived.toISOString() };
}

export function fileFromMetadata(metadata: Record<string, string> | undefined): DroppedFile | undefined {
  const name = metadata?.name;
  const etag = metadata?.etag;
  if (name === undefined || etag === undefined) return undefined;
  try {
    return { name: decodeURIComponent(name), etag };
  } catch {
    return undefined;
  }
}

export interface PendingEntry extends DroppedFile {
  /** The pending record's own ETag: it is deleted only if no newer drop rewrote it. */
  recordEtag: string;
  arrived: string;
}

export function pendingEntryOf(item: BlobItem): PendingEntry | undefined {
  const file = fileFromMetadata(item.metadata);
  if (!file) return undefined;
  return {
    ...file,
    recordEtag: item.properties.etag,
    arrived: item.metadata?.arrived ?? item.properties.lastModified.toISOString(),
  };
}

export async function stateContainer(storage: Storage, names: InboxContainers): Promise<ContainerClient> {
  return ensureContainer(storage.blobs.getContainerClient(names.state));
}

/** The blob a dropped file is, in the inbox. */
export function inboxBlobName(pipeline: string, name: string): string {
  return `${pipeline}/${name}`;
}
