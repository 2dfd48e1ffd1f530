import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { ParallelRunError } from '../errors.js';
import { storage } from '../storage/storage.js';
import { globToRegExp } from './glob.js';

export interface BlobFiles {
  type: 'files';
  container: string;
  path: string;
  glob?: string;
  names?: string[];
}

export interface LocalFiles {
  type: 'files';
  local_path: string;
}

export type FileDataset = BlobFiles | LocalFiles;

export function isLocal(input: FileDataset): input is LocalFiles {
  return 'local_path' in input;
}

/** The folder local datasets must live under (app setting PARALLEL_RUN_LOCAL_DATA); none means local datasets are off. */
export function localDataRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = env.PARALLEL_RUN_LOCAL_DATA;
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

/** Where a blob dataset's item lives: names are relative to `path`. */
export function blobNameOf(input: BlobFiles, name: string): string {
  return prefixOf(input) + name;
}

function prefixOf(input: BlobFiles): string {
  return input.path === '' || input.path.endsWith('/') ? input.path : `${input.path}/`;
}

/** The dataset in a few words (never its list of names, which may hold 100,000). */
export function describeDataset(input: FileDataset): string {
  if (isLocal(input)) return `local folder '${input.local_path}'`;
  return `${input.container}/${prefixOf(input)}${input.glob ? ` (matching ${input.glob})` : ''}`;
}

/**
 * Streams the dataset's file names (relative to its root), page by page: memory stays flat however
 * many files there are. Order is the listing's (lexicographic), so mini-batch order is stable.
 */
export async function* listFiles(input: FileDataset): AsyncGenerator<string> {
  const match = !isLocal(input) && input.glob ? globToRegExp(input.glob) : undefined;
  if (isLocal(input)) {
    yield* listLocal(resolveLocalFolder(input.local_path));
    return;
  }
  if (input.names) {
    yield* input.names;
    return;
  }
  const container = storage().blobs.getContainerClient(input.container);
  const prefix = prefixOf(input);
  for await (const page of container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 5000 })) {
    for (const blob of page.segment.blobItems) {
      const name = blob.name.slice(prefix.length);
      if (!match || match.test(name)) yield name;
    }
  }
}

async function* listLocal(root: string, sub = ''): AsyncGenerator<string> {
  const entries: { name: string; dir: boolean }[] = [];
  for await (const entry of await opendir(path.join(root, sub)))
    entries.push({ name: entry.name, dir: entry.isDirectory() });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.dir) yield* listLocal(root, rel);
    else yield rel;
  }
}

/** Fails early, naming the field, when the dataset's container or folder does not exist or is empty. */
export async function checkDatasetExists(input: FileDataset): Promise<void> {
  const missing = (what: string, field: string) =>
    new ParallelRunError('INVALID_SETTINGS', `${field}: ${what} does not exist`, field);
  if (isLocal(input)) {
    const info = await stat(resolveLocalFolder(input.local_path)).catch(() => undefined);
    if (!info?.isDirectory()) throw missing(`folder '${input.local_path}'`, 'input.local_path');
    return;
  }
  const container: ContainerClient = storage().blobs.getContainerClient(input.container);
  if (!(await container.exists())) throw missing(`container '${input.container}'`, 'input.container');
  if (!input.names && !input.glob) {
    // The common mistake, a wrong path, is caught here; a glob that matches nothing is caught by the plan.
    const first = await container
      .listBlobsFlat({ prefix: prefixOf(input) })
      .byPage({ maxPageSize: 1 })
      .next();
    if (!first.done && first.value.segment.blobItems.length === 0) throw emptyDatasetError(input);
  }
}

export function emptyDatasetError(input: FileDataset): ParallelRunError {
  return new ParallelRunError(
    'EMPTY_DATASET',
    `input: the dataset ${describeDataset(input)} has no files; nothing was scheduled`,
    'input',
  );
}
