import { ParallelRunError } from '../errors.js';
import type { TableInput } from '../config/resolved.js';
import type { Storage } from '../storage/storage.js';
import { folderPrefix, listFolderFiles, type VersionedItem } from './listing.js';

/** A table's file: its name relative to the dataset root and its size, from the listing. */
export interface TableFile {
  name: string;
  size: number;
  /** The version of its content (what a run's fingerprint hashes). */
  etag: string;
}

function prefixOf(input: TableInput): string {
  return folderPrefix(input.path);
}

/** Where a table's file lives (a one-file table's item is its blob name). */
export function tableBlobName(input: TableInput, file: string): string {
  return input.file ? file : prefixOf(input) + file;
}

export function describeTable(input: TableInput): string {
  const where = input.file ? `${input.container}/${input.path}` : `${input.container}/${prefixOf(input)}`;
  const format = input.format ? ` (${input.format})` : '';
  const glob = input.glob ? ` matching ${input.glob}` : '';
  return `table ${where}${glob}${format}`;
}

/**
 * Streams a table's files with their sizes, page by page, in the listing's (lexicographic) order:
 * memory stays flat however many files there are. Folder markers are left out (core/datasets/listing.ts).
 * `readAhead` for a caller that reads them all (core/storage/list-blobs.ts).
 */
export async function* listTableFiles(
  storage: Storage,
  input: TableInput,
  { readAhead = false } = {},
): AsyncGenerator<TableFile> {
  const container = storage.blobs.getContainerClient(input.container);
  if (input.file) {
    const properties = await container.getBlobClient(input.path).getProperties();
    yield { name: input.path, size: properties.contentLength ?? 0, etag: properties.etag ?? '' };
    return;
  }
  for await (const file of listFolderFiles(storage, input, { readAhead }))
    yield { name: file.name, size: file.contentLength, etag: file.etag };
}

/** A table's files with the versions of their contents, in listing order: what a fingerprint hashes. */
export async function* tableVersions(storage: Storage, input: TableInput): AsyncGenerator<VersionedItem> {
  for await (const file of listTableFiles(storage, input, { readAhead: true }))
    yield { item: file.name, version: file.etag };
}

export function emptyTableError(input: TableInput): ParallelRunError {
  const field = input.glob === undefined ? 'input' : 'input.glob';
  return new ParallelRunError(
    'EMPTY_DATASET',
    `${field}: the ${describeTable(input)} has no files; nothing was scheduled`,
    field,
  );
}
