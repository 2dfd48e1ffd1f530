import type { BlobClient } from '@azure/storage-blob';
import { isNotFound } from '../storage/storage.js';

/**
 * The first `n` lines of a blob, reading it in growing ranges: `?head=10` on a large output costs one
 * small read, not the whole file. Undefined when the blob does not exist.
 */
export async function headLines(blob: BlobClient, n: number): Promise<string[] | undefined> {
  let size: number;
  try {
    size = (await blob.getProperties()).contentLength ?? 0;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let length = 64 * 1024;
  for (;;) {
    const count = Math.min(length, size);
    const text = count === 0 ? '' : (await blob.downloadToBuffer(0, count)).toString('utf8');
    const lines = text.split('\n');
    const complete = count === size;
    if (!complete) lines.pop(); // the last line may be cut mid-way
    if (lines.length >= n || complete)
      return lines.filter((l, i) => i < lines.length - 1 || l !== '').slice(0, n);
    length *= 4;
  }
}

/** Whether a blob's content type says it holds lines of text (what `headLines` can cut), not bytes like Parquet. */
export function holdsText(contentType: string | undefined): boolean {
  return contentType === undefined || /^(text\/|application\/(x-ndjson|json)\b)/.test(contentType);
}

/** A blob's content type, or undefined when the blob does not exist. */
export async function contentTypeOf(blob: BlobClient): Promise<{ contentType?: string } | undefined> {
  try {
    const { contentType } = await blob.getProperties();
    return contentType === undefined ? {} : { contentType };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A blob's bytes as they are, or undefined when it does not exist. */
export async function readBytes(blob: BlobClient): Promise<Buffer | undefined> {
  try {
    return await blob.downloadToBuffer();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readAll(blob: BlobClient): Promise<string | undefined> {
  try {
    return (await blob.downloadToBuffer()).toString('utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
