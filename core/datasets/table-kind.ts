import { ParallelRunError } from '../errors.js';
import type { TableInput } from '../config/resolved.js';
import { isNotFound, type Storage } from '../storage/storage.js';
import type { DatasetKind } from './kind.js';
import { isFolderMarker } from './files.js';
import { describeTable, emptyTableError, listTableFiles, tableVersions } from './table-files.js';
import { formatOf, itemName, partitionOf, unknownFormat } from './table-items.js';
import { planTable } from './table-plan.js';
import { materializeTable } from './table-read.js';

async function isOneFile(storage: Storage, input: TableInput): Promise<boolean> {
  if (input.glob !== undefined || input.path === '' || input.path.endsWith('/')) return false;
  try {
    const blob = storage.blobs.getContainerClient(input.container).getBlobClient(input.path);
    return !isFolderMarker(input.path, (await blob.getProperties()).metadata);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * At submit: the container exists, the table has a file, its format is known, and its folders have
 * the partition keys (the first file stands for the layout: the listing is not read further here).
 */
async function validateTable(storage: Storage, input: TableInput): Promise<TableInput> {
  if (!(await storage.blobs.getContainerClient(input.container).exists())) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `input.container: container '${input.container}' does not exist`,
      'input.container',
    );
  }
  const resolved = (await isOneFile(storage, input)) ? { ...input, file: true } : input;
  const files = listTableFiles(storage, resolved);
  const first = await files.next();
  await files.return(undefined);
  if (first.done) throw emptyTableError(input);
  const name = first.value.name;
  if (formatOf(resolved, name) === undefined)
    throw new ParallelRunError('INVALID_SETTINGS', `input.format: ${unknownFormat(name)}`, 'input.format');
  if (resolved.partition_keys) {
    const partition = partitionOf(name, resolved.partition_keys);
    if ('lacking' in partition) {
      throw new ParallelRunError(
        'INVALID_SETTINGS',
        `partition_keys: the table's files are not laid out in ${partition.lacking}=<value>/ folders (the first, ${name}, is not); give keys its folders have`,
        'partition_keys',
      );
    }
  }
  return resolved;
}

/**
 * Tables: CSV, JSON Lines or Parquet files under a container path. Items are byte ranges of CSV and
 * JSON Lines files (cut at line starts) and row ranges of Parquet files (at row-group boundaries); a
 * try gets their rows as objects keyed by column, one error line per record it cannot read.
 */
export const tableKind: DatasetKind<TableInput> = {
  type: 'table',
  validate: validateTable,
  plan: (storage, runId, input, size, listed, stopped) => {
    if (size.kind !== 'bytes') {
      throw new ParallelRunError(
        'NOT_SUPPORTED',
        `mini_batch_size: tables are cut by a byte size such as "1MB", not by a number of files`,
        'mini_batch_size',
      );
    }
    return planTable(storage, runId, input, size.bytes, { listed, stopped });
  },
  materialize: (storage, input, items, _dir, stopped, view) =>
    materializeTable(storage, input, items, stopped, view),
  // By file: a table's items are ranges of its files, and a file's version covers all of them.
  listing: tableVersions,
  describe: describeTable,
  // Parsing tens of thousands of rows, and encoding their results, belongs beside the script.
  readsInWorker: true,
  itemName,
  planReadsFiles: true,
};
