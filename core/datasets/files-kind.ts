import { ParallelRunError } from '../errors.js';
import { checkDatasetExists, describeDataset, listFileVersions, type FileDataset } from './files.js';
import type { DatasetKind } from './kind.js';
import { materialize } from './materialize.js';
import { planFileDataset } from './plan.js';

/**
 * Files: a blob container with a `path` prefix (optionally a `glob` or explicit `names`), one blob
 * (`path` naming it), or a folder under PARALLEL_RUN_LOCAL_DATA (`local_path`). Items are file names
 * relative to the dataset root; a try gets local file paths (blobs downloaded, local files in place).
 */
export const filesKind: DatasetKind<FileDataset> = {
  type: 'files',
  validate: (storage, input) => checkDatasetExists(storage, input),
  plan: (storage, runId, input, size, listed, stopped) => {
    if (size.kind !== 'files') {
      throw new ParallelRunError(
        'NOT_SUPPORTED',
        `mini_batch_size '${size.text}' is a byte size; file datasets take a number of files`,
        'mini_batch_size',
      );
    }
    return planFileDataset(storage, runId, input, size.count, listed, stopped);
  },
  materialize: async (storage, input, items, dir, stopped) => {
    const fetched = await materialize(storage, input, items, dir, stopped);
    const inputs: string[] = [];
    const names: string[] = [];
    fetched.paths.forEach((local, i) => {
      if (local === undefined) return;
      inputs.push(local);
      names.push(items[i] ?? local);
    });
    return { inputs, names, missing: fetched.missing };
  },
  listing: listFileVersions,
  describe: describeDataset,
};
