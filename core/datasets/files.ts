import { statSync } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { SETTING } from '../config/app-settings.js';
import { ParallelRunError } from '../errors.js';
import { isNotFound, type Storage } from '../storage/storage.js';
import type { FileInput, LocalInput } from '../config/resolved.js';
import { folderPrefix, isFolderMarker, listFolderFiles, type VersionedItem } from './listing.js';
import { checkNamesBlob, readNamesBlob } from './names-blob.js';

export { isFolderMarker } from './listing.js';

/** A blob dataset and a local folder, as the settings resolve them (`core/config/resolved.ts`). */
export type BlobFiles = FileInput;
export type LocalFiles = LocalInput;

export type FileDataset = BlobFiles | LocalFiles;

export function isLocal(input: FileDataset): input is LocalFiles {
  return 'local_path' in input;
}

/** The folder local datasets must live under (app setting PARALLEL_RUN_LOCAL_DATA); none means local datasets are off. */
export function localDataRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = env[SETTING.localData];
  return root ? path.resolve(root) : undefined;
}

/** Resolves a local dataset folder, refusing anything outside the configured root. */
export function resolveLocalFolder(localPath: string, root = localDataRoot()): string {
  if (!root) {
    throw new ParallelRunError(
      'NOT_SUPPORTED',
      'input.local_path: local datasets are off here (set PARALLEL_RUN_LOCAL_DATA to allow a folder)',
      'input.local_path',
    );
  }
  const resolved = path.resolve(root, localPath);
  if (resolved !== root && !resolved.startsWith(root + path.sep)) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `input.local_path '${localPath}' is outside the local data folder ${root}`,
      'input.local_path',
    );
  }
  return resolved;
}

/** Where a blob dataset's item lives: names are relative to `path` (a one-file dataset's item is its blob name). */
export function blobNameOf(input: BlobFiles, name: string): string {
  return input.file ? name : prefixOf(input) + name;
}

function prefixOf(input: BlobFiles): string {
  return folderPrefix(input.path);
}

/** The dataset in a few words (never its list of names, which may hold 100,000). */
export function describeDataset(input: FileDataset): string {
  if (isLocal(input)) return `local folder '${input.local_path}'`;
  if (input.file) return `${input.container}/${input.path} (one file)`;
  const from = input.names_from;
  const which = input.glob
    ? ` (matching ${input.glob})`
    : from
      ? ` (the names listed in ${from.container}/${from.path})`
      : '';
  return `${input.container}/${prefixOf(input)}${which}`;
}

/**
 * Streams the dataset's file names (relative to its root), page by page: memory stays flat however
 * many files there are. Order is the listing's (lexicographic), so mini-batch order is stable.
 * Folder markers are left out.
 */
export async function* listFiles(
  storage: Storage,
  input: FileDataset,
  pageSize?: number,
): AsyncGenerator<string> {
  if (isLocal(input)) {
    yield* listLocal(resolveLocalFolder(input.local_path));
    return;
  }
  if (input.file) {
    yield input.path;
    return;
  }
  if (input.names) {
    yield* input.names;
    return;
  }
  if (input.names_from) {
    yield* readNamesBlob(storage, input.names_from);
    return;
  }
  for await (const blob of listFolder(storage, input, { pageSize })) yield blob.item;
}

/**
 * The same items as `listFiles`, in the same order, each with the version of its content: a blob's
 * ETag (a changed or replaced blob gets a new one), a local file's size and modification time, and
 * "missing" for a named blob (`input.names`, `input.names_from`) that is not there.
 */
export async function* listFileVersions(storage: Storage, input: FileDataset): AsyncGenerator<VersionedItem> {
  if (isLocal(input)) {
    const root = resolveLocalFolder(input.local_path);
    let listed = 0;
    for await (const item of listLocal(root)) {
      // statSync: a few µs, where fs/promises' stat spent some 25 µs of the main thread on each (a million
      // files: most of a minute of planning); the event loop still gets a turn every 256 files.
      const info = statSync(path.join(root, item));
      yield { item, version: `${info.size}:${info.mtimeMs}` };
      if (++listed % 256 === 0) await setImmediate();
    }
    return;
  }
  if (input.file || input.names) {
    yield* blobVersions(storage, input, input.file ? [input.path] : (input.names ?? []));
    return;
  }
  if (input.names_from) {
    yield* blobVersions(storage, input, readNamesBlob(storage, input.names_from));
    return;
  }
  // Read whole (a plan, a fingerprint): the next page is asked for while this one is worked through.
  yield* listFolder(storage, input, { readAhead: true });
}

/** Blobs the submit check asks for to find a dataset's first file (core/storage/list-blobs.ts). */
const FIRST_FILE_PAGE = 100;

/** A blob dataset's folder listing (core/datasets/listing.ts), each file with its ETag. */
async function* listFolder(
  storage: Storage,
  input: BlobFiles,
  options: Parameters<typeof listFolderFiles>[2],
): AsyncGenerator<VersionedItem> {
  for await (const file of listFolderFiles(storage, input, options))
    yield { item: file.name, version: file.etag };
}

/** Versions of named blobs, a few requests in flight at once, yielded in the order of `names`. */
async function* blobVersions(
  storage: Storage,
  input: BlobFiles,
  names: Iterable<string> | AsyncIterable<string>,
): AsyncGenerator<VersionedItem> {
  const container = storage.blobs.getContainerClient(input.container);
  const versionOf = async (item: string): Promise<VersionedItem> => {
    try {
      const properties = await container.getBlobClient(blobNameOf(input, item)).getProperties();
      return { item, version: properties.etag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return { item, version: 'missing' };
      throw err;
    }
  };
  const ahead: Promise<VersionedItem>[] = [];
  for await (const item of names) {
    const version = versionOf(item);
    version.catch(() => undefined); // awaited in order below; this only keeps an early failure from being "unhandled"
    ahead.push(version);
    const next = ahead.length >= 16 ? ahead.shift() : undefined;
    if (next) yield await next;
  }
  for (const next of ahead) yield await next;
}

/**
 * A local folder's files, one folder's entries in memory at a time, in the order a blob listing of the
 * same names gives (lexicographic over the whole relative name): a folder sorts as its name and a "/",
 * so `a.txt` and `a-b.txt` come before `a/x.txt`, as they do in blobs ('-' and '.' sort before '/').
 */
async function* listLocal(root: string, sub = ''): AsyncGenerator<string> {
  const entries: { name: string; dir: boolean; key: string }[] = [];
  for await (const entry of await opendir(path.join(root, sub))) {
    const dir = entry.isDirectory();
    entries.push({ name: entry.name, dir, key: dir ? `${entry.name}/` : entry.name });
  }
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const e of entries) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.dir) yield* listLocal(root, rel);
    else yield rel;
  }
}

/** The blob named exactly `path`, when it is a file (not a folder marker). */
async function isOneFile(container: ContainerClient, name: string): Promise<boolean> {
  try {
    const properties = await container.getBlobClient(name).getProperties();
    return !isFolderMarker(name, properties.metadata);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Fails early, naming the field, when the dataset's container or folder does not exist or has no file
 * (a glob is matched until its first file: the listing streams and stops there). Returns the dataset
 * as it will be planned: a `path` naming one blob, with no glob or names, is that one file.
 */
export async function checkDatasetExists<T extends FileDataset>(storage: Storage, input: T): Promise<T> {
  const missing = (what: string, field: string) =>
    new ParallelRunError('INVALID_SETTINGS', `${field}: ${what} does not exist`, field);
  if (isLocal(input)) {
    const info = await stat(resolveLocalFolder(input.local_path)).catch(() => undefined);
    if (!info?.isDirectory()) throw missing(`folder '${input.local_path}'`, 'input.local_path');
    return input;
  }
  const container: ContainerClient = storage.blobs.getContainerClient(input.container);
  if (!(await container.exists())) throw missing(`container '${input.container}'`, 'input.container');
  // An explicit list is not checked blob by blob (up to 100,000): a missing name fails as missing.
  if (input.names) return input;
  if (input.names_from) {
    await checkNamesBlob(storage, input.names_from);
    return input;
  }
  const resolved =
    !input.glob && input.path !== '' && !input.path.endsWith('/') && (await isOneFile(container, input.path))
      ? { ...input, file: true }
      : input;
  // One file is enough: a small first page, where a full one (5,000 blobs) costs the service about a
  // second of CPU on Azurite (0.2 ms a blob listed) before the run even starts.
  const files = listFiles(storage, resolved, FIRST_FILE_PAGE);
  const first = await files.next();
  await files.return(undefined);
  if (first.done) throw emptyDatasetError(input);
  return resolved;
}

/**
 * A side input is a blob (its path names one exactly) or a folder with at least one file, checked at
 * submit: a location with nothing there would otherwise fail every pool's start, after the run began.
 */
export async function checkSideInput(
  storage: Storage,
  name: string,
  side: { container: string; path: string },
): Promise<void> {
  const field = `side_inputs.${name}`;
  const container = storage.blobs.getContainerClient(side.container);
  if (!(await container.exists())) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `${field}: container '${side.container}' does not exist`,
      `${field}.container`,
    );
  }
  if (side.path !== '' && !side.path.endsWith('/') && (await isOneFile(container, side.path))) return;
  const files = listFiles(storage, { type: 'files', container: side.container, path: side.path });
  const first = await files.next();
  await files.return(undefined);
  if (first.done) {
    throw new ParallelRunError(
      'EMPTY_DATASET',
      `${field}: nothing at ${side.container}/${side.path}: give the path of a blob or of a folder with files`,
      `${field}.path`,
    );
  }
}

export function emptyDatasetError(input: FileDataset): ParallelRunError {
  if (!isLocal(input) && input.glob !== undefined) {
    return new ParallelRunError(
      'EMPTY_DATASET',
      `input.glob: no file under ${input.container}/${prefixOf(input)} matches '${input.glob}'; nothing was scheduled`,
      'input.glob',
    );
  }
  return new ParallelRunError(
    'EMPTY_DATASET',
    `input: the dataset ${describeDataset(input)} has no files; nothing was scheduled`,
    'input',
  );
}
