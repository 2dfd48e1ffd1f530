import { RestError, type BlobClient, type BlockBlobClient } from '@azure/storage-blob';
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

/** The condition a rewrite holds to: the blob is new, or still the version last read. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

/**
 * Writes a JSON blob if `condition` holds: its new ETag, or undefined when another writer got there
 * first (409 for a blob created meanwhile, 412 for one rewritten).
 */
export async function writeVersionedJson(
  blob: BlockBlobClient,
  body: unknown,
  condition: WriteCondition,
): Promise<string | undefined> {
  const text = JSON.stringify(body);
  try {
    const res = await blob.upload(text, Buffer.byteLength(text), {
      conditions: condition,
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    return res.etag;
  } catch (err) {
    if (err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412)) return undefined;
    throw err;
  }
}
