import type { BlobClient } from '@azure/storage-blob';
import type { AsyncBuffer } from 'hyparquet';

/** The first window read when looking for a line's end; it grows four-fold while no line ends in it. */
const LINE_WINDOW = 64 * 1024;

/**
 * Bytes [start, end) of a blob, in one ranged GET; with `etag`, of that version only (else the
 * service answers 412, `changedSincePlanned` says so).
 */
export async function readRange(
  blob: BlobClient,
  start: number,
  end: number,
  etag?: string,
): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const response = await blob.download(start, end - start, atVersion(etag));
  // The range's length is known: its chunks are copied once, into place (a table's range is megabytes).
  const bytes = Buffer.allocUnsafe(end - start);
  let at = 0;
  for await (const data of response.readableStreamBody ?? []) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (at + chunk.length > bytes.length)
      throw new Error(`blob ${blob.name} sent more than the ${bytes.length} bytes of range ${start}-${end}`);
    chunk.copy(bytes, at);
    at += chunk.length;
  }
  // A blob shorter than the range (read without a version: it changed since it was planned) gives what it has.
  return at === bytes.length ? bytes : bytes.subarray(0, at);
}

/** Request options that read the blob only at `etag` (quoted, as the service compares it). */
export function atVersion(etag: string | undefined): { conditions?: { ifMatch: string } } {
  if (!etag) return {};
  return { conditions: { ifMatch: etag.startsWith('"') ? etag : `"${etag}"` } };
}

/**
 * A read of a planned version failed because the blob is another now: replaced (412, the version
 * is gone) or shorter than a planned range (416).
 */
export function changedSincePlanned(err: unknown): boolean {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return status === 412 || status === 416;
}

/** The largest window read at once while looking for a line's end: reads stay small however long the line. */
const MAX_LINE_WINDOW = 4 * 1024 * 1024;

/**
 * The offset just after the first line break in [from, to) (where the next line starts), or
 * undefined when none is there. Reads growing windows from `from`, never past `to`, never the file.
 */
export async function lineStartBefore(
  blob: BlobClient,
  from: number,
  to: number,
  etag?: string,
): Promise<number | undefined> {
  let at = from;
  let window = LINE_WINDOW;
  while (at < to) {
    const end = Math.min(at + window, to);
    const bytes = await readRange(blob, at, end, etag);
    const newline = bytes.indexOf(0x0a);
    if (newline >= 0) return at + newline + 1;
    at = end;
    window = Math.min(window * 4, MAX_LINE_WINDOW);
  }
  return undefined;
}

/** The offset just after the first line break at or after `from`, or `size` when none follows. */
export async function nextLineStart(
  blob: BlobClient,
  from: number,
  size: number,
  etag?: string,
): Promise<number> {
  return (await lineStartBefore(blob, from, size, etag)) ?? size;
}

/** A blob as hyparquet reads files: each slice is one ranged GET (the footer, then column chunks). */
export function blobAsyncBuffer(blob: BlobClient, size: number, etag?: string): AsyncBuffer {
  return {
    byteLength: size,
    slice: async (start: number, end?: number) => {
      const bytes = await readRange(blob, start, end ?? size, etag);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    },
  };
}
