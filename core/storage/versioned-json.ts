import type { BlobClient } from '@azure/storage-blob';
import { isNotFound } from './storage.js';

/** A small JSON blob as read for a conditional rewrite: its value, its ETag, and its age. */
export interface VersionedJson<T> {
  body: T;
  etag: string;
  /** How long ago it was last written, by the storage service's own clock (no skew with ours). */
  ageMs: number;
}

/** Reads a JSON blob written with conditions (a claim); undefined when it does not exist. */
export async function readVersionedJson<T>(blob: BlobClient): Promise<VersionedJson<T> | undefined> {
  try {
    const res = await blob.download();
    const chunks: Buffer[] = [];
    for await (const c of res.readableStreamBody ?? []) chunks.push(c as Buffer);
    const serverNow = res.date ?? new Date();
    return {
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T,
      etag: res.etag ?? '',
      ageMs: serverNow.getTime() - (res.lastModified ?? new Date(0)).getTime(),
    };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
