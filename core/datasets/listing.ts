import { setImmediate } from 'node:timers/promises';
import { listBlobPages, type ListOptions } from '../storage/list-blobs.js';
import type { Storage } from '../storage/storage.js';
import { globToRegExp } from './glob.js';

/** One item of a dataset's listing and the version of its content as storage reports it. */
export interface VersionedItem {
  item: string;
  version: string;
}

/** Where a dataset's blobs are: a container, a folder `path` in it, and optionally a `glob` their names match. */
export interface BlobFolder {
  container: string;
  path: string;
  glob?: string;
}

/** A file of a blob folder as its listing gives it, named relative to the folder. */
export interface FolderFile {
  name: string;
  etag: string;
  contentLength: number;
}

/** The prefix of a folder's blob names: `path`, ending in "/" unless empty. */
export function folderPrefix(path: string): string {
  return path === '' || path.endsWith('/') ? path : `${path}/`;
}

/**
 * A folder, not a file: what ADLS Gen2 (hierarchical namespace) accounts and some tools list beside
 * the files, as a blob ending in "/" or one with metadata `hdi_isfolder=true`. Never an item.
 */
export function isFolderMarker(name: string, metadata: Record<string, string> | undefined): boolean {
  if (name.endsWith('/')) return true;
  // Metadata names are case-insensitive in Azure Storage: `Hdi_IsFolder` is the same entry.
  return Object.entries(metadata ?? {}).some(
    ([key, value]) => key.toLowerCase() === 'hdi_isfolder' && value.toLowerCase() === 'true',
  );
}

/** Files of a listing page worked through between two turns of the event loop. */
const TURN = 256;

/**
 * The files of a blob folder, page by page in listing (lexicographic) order, folder markers and
 * names the glob refuses left out: what file and table datasets both list. Memory holds one page.
 */
export async function* listFolderFiles(
  storage: Storage,
  folder: BlobFolder,
  { pageSize, readAhead }: Pick<ListOptions, 'pageSize' | 'readAhead'> = {},
): AsyncGenerator<FolderFile> {
  const match = folder.glob ? globToRegExp(folder.glob) : undefined;
  const container = storage.blobs.getContainerClient(folder.container);
  const prefix = folderPrefix(folder.path);
  for await (const page of listBlobPages(container, { prefix, includeMetadata: true, pageSize, readAhead })) {
    for (const [i, blob] of page.entries()) {
      // A page is worked through in turns of the event loop: the page asked for ahead goes out on its
      // socket meanwhile, and the host's other work (a status call) is not held for a whole page.
      if (i > 0 && i % TURN === 0) await setImmediate();
      const name = blob.name.slice(prefix.length);
      if (name === '' || isFolderMarker(name, blob.metadata)) continue;
      if (!match || match.test(name)) yield { name, etag: blob.etag, contentLength: blob.contentLength };
    }
  }
}
