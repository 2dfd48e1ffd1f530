import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { blobNameOf, isLocal, resolveLocalFolder, type FileDataset } from '../datasets/files.js';
import { downloadBlob, isNotFound, storage } from '../storage/storage.js';

export interface Materialized {
  /** Local path per item, in mini-batch order; undefined where the item could not be fetched. */
  paths: (string | undefined)[];
  missing: { item: string; reason: string }[];
}

/** Parallel downloads per mini-batch; the mini-batches in flight multiply it. */
export const DOWNLOADS_IN_PARALLEL = 8;

/** Keeps a dataset name inside `dir` however it is spelled (no traversal through names). */
export function localPathFor(dir: string, name: string): string {
  const safe = name
    .split('/')
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    .join(path.sep);
  return path.join(dir, safe || '_');
}

/** Downloads a mini-batch's files in parallel into `dir` (local datasets are used in place). */
export async function materialize(input: FileDataset, names: string[], dir: string): Promise<Materialized> {
  const missing: Materialized['missing'] = [];
  if (isLocal(input)) {
    const root = resolveLocalFolder(input.local_path);
    return { paths: names.map((n) => localPathFor(root, n)), missing };
  }
  const container = storage().blobs.getContainerClient(input.container);
  const paths: (string | undefined)[] = new Array<string | undefined>(names.length);
  let next = 0;
  const madeDirs = new Set<string>();
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) {
      const name = names[i] ?? '';
      const target = localPathFor(dir, name);
      try {
        const bytes = await downloadBlob(container.getBlobClient(blobNameOf(input, name)));
        const parent = path.dirname(target);
        if (!madeDirs.has(parent)) {
          await mkdir(parent, { recursive: true });
          madeDirs.add(parent);
        }
        await writeFile(target, bytes);
        paths[i] = target;
      } catch (err) {
        missing.push({
          item: name,
          reason: isNotFound(err)
            ? `blob ${input.container}/${blobNameOf(input, name)} no longer exists`
            : `download failed: ${errorMessage(err)}`,
        });
      }
    }
  };
  await mkdir(dir, { recursive: true });
  madeDirs.add(dir);
  await Promise.all(Array.from({ length: Math.min(DOWNLOADS_IN_PARALLEL, names.length) }, worker));
  return { paths, missing };
}
