import type { BlobClient, ContainerClient } from '@azure/storage-blob';
import { lines } from '../datasets/names-blob.js';
import { isNotFound, writeText } from '../storage/storage.js';

/** One JSON value per line. */
export async function writeJsonLines(
  container: ContainerClient,
  name: string,
  values: unknown[],
): Promise<void> {
  await writeText(
    container,
    name,
    values.map((v) => `${JSON.stringify(v)}\n`).join(''),
    'application/x-ndjson; charset=utf-8',
  );
}

/** Streams the values of a JSON-lines blob; undefined when the blob does not exist. */
export async function openJsonLines<T>(blob: BlobClient): Promise<AsyncGenerator<T> | undefined> {
  let body: NodeJS.ReadableStream | undefined;
  try {
    body = (await blob.download()).readableStreamBody;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return (async function* () {
    if (!body) return;
    for await (const line of lines(body)) if (line.trim() !== '') yield JSON.parse(line) as T;
  })();
}

/** All values of a JSON-lines blob the service wrote (bounded by the inbox's max_files). */
export async function readJsonLines<T>(blob: BlobClient): Promise<T[] | undefined> {
  const values = await openJsonLines<T>(blob);
  if (!values) return undefined;
  const out: T[] = [];
  for await (const v of values) out.push(v);
  return out;
}
