import { parquetMetadataAsync } from 'hyparquet';
import type { BlobClient } from '@azure/storage-blob';
import { ParallelRunError } from '../errors.js';
import type { TableInput } from '../config/resolved.js';
import { inOrderAhead } from '../storage/in-flight.js';
import type { Storage } from '../storage/storage.js';
import { blobAsyncBuffer, lineStartBefore } from './blob-range.js';
import type { VersionedItem } from './listing.js';
import { ManifestWriter, planStopped, type Plan } from './plan.js';
import { emptyTableError, listTableFiles, tableBlobName, type TableFile } from './table-files.js';
import { encodeItem, formatOf, partitionOf, unknownFormat, type TableItem } from './table-items.js';

/** Cut points looked up at once: each is a small ranged GET, independent of the others. */
const CUTS_IN_FLIGHT = 8;

/**
 * The most bytes one range (one item) holds: a try reads a range as one string, and V8's strings
 * stop at about 512 MB. A mini-batch bigger than this ("1GB") is several ranges of its file.
 */
export const MAX_RANGE_BYTES = 256 * 1024 ** 2;

/**
 * A file's byte ranges of about `bytes` each, cut where a line starts: only a small window after each
 * nominal cut (every `bytes` from the file's start) is read, several at once. A line longer than
 * `bytes` spans nominal cuts that find no line start: its range goes on past them. A CSV whose
 * quoted fields may hold line breaks is not cut (a line break there is not a record's end).
 */
async function* byteRanges(
  blob: BlobClient,
  file: TableFile,
  bytes: number,
  splittable: boolean,
  goOn: () => void,
): AsyncGenerator<TableItem> {
  if (!splittable || file.size <= bytes) {
    yield { file: file.name, unit: 'bytes', start: 0, end: file.size, etag: file.etag };
    return;
  }
  // Cut k is the first line start after (k+1)·bytes - 1 (kept when a line ends just before the
  // nominal cut), looked for only up to the next nominal cut: each byte is read once at most, however
  // long the lines (a file with no line break at all is one range, read around no cut twice).
  const cuts = inOrderAhead(
    Math.ceil(file.size / bytes) - 1,
    (k) => lineStartBefore(blob, (k + 1) * bytes - 1, Math.min((k + 2) * bytes - 1, file.size)),
    CUTS_IN_FLIGHT,
  );
  let start = 0;
  for await (const end of cuts) {
    // A big file has thousands of cuts (a file without line breaks, as many as nominal cuts).
    goOn();
    // No line starts in this stretch: the range goes on to a later cut.
    if (end === undefined || end <= start) continue;
    yield { file: file.name, unit: 'bytes', start, end, etag: file.etag };
    start = end;
  }
  if (start < file.size) yield { file: file.name, unit: 'bytes', start, end: file.size, etag: file.etag };
}

/**
 * A Parquet file's rows, grouped by whole row groups up to about `bytes` of compressed data (a row
 * group bigger than that is one mini-batch): only the footer is read, by range.
 */
async function* rowGroupRanges(blob: BlobClient, file: TableFile, bytes: number): AsyncGenerator<TableItem> {
  const metadata = await parquetMetadataAsync(blobAsyncBuffer(blob, file.size)).catch(() => undefined);
  if (!metadata) {
    // Not Parquet, or truncated: one item, whose try reads the footer again and says why in an error line.
    yield { file: file.name, unit: 'rows', start: 0, end: 0, etag: file.etag };
    return;
  }
  let start = 0;
  let rows = 0;
  let size = 0;
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows);
    const groupBytes = group.columns.reduce((n, c) => n + Number(c.meta_data?.total_compressed_size ?? 0), 0);
    if (rows > 0 && size + groupBytes > bytes) {
      yield { file: file.name, unit: 'rows', start, end: start + rows, etag: file.etag };
      start += rows;
      rows = 0;
      size = 0;
    }
    rows += groupRows;
    size += groupBytes;
  }
  // A file with no rows still gets an item: reading it says so in an error line.
  if (rows > 0 || start === 0)
    yield { file: file.name, unit: 'rows', start, end: start + rows, etag: file.etag };
}

function itemsOf(
  storage: Storage,
  input: TableInput,
  file: TableFile,
  bytes: number,
  { maxRange, goOn }: Pick<Planning, 'maxRange' | 'goOn'>,
): AsyncGenerator<TableItem> {
  const blob = storage.blobs
    .getContainerClient(input.container)
    .getBlobClient(tableBlobName(input, file.name));
  const format = formatOf(input, file.name);
  if (format === undefined)
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `input.format: ${unknownFormat(file.name)}`,
      'input.format',
    );
  if (format === 'parquet') return rowGroupRanges(blob, file, bytes);
  const splittable = !(format === 'csv' && input.newlines_in_quotes === true);
  return byteRanges(blob, file, Math.min(bytes, maxRange), splittable, goOn);
}

/**
 * With partition_keys, one mini-batch per key combination, holding all its files whole (as
 * ParallelRunStep: the keys win over mini_batch_size). Combinations keep the order in which the
 * listing first meets them; the files of one combination are held until the listing ends.
 */
async function planPartitions(
  storage: Storage,
  input: TableInput,
  keys: string[],
  manifest: ManifestWriter,
  files: AsyncIterable<TableFile>,
  planning: Planning,
) {
  const groups = new Map<string, string[]>();
  for await (const file of files) {
    const partition = partitionOf(file.name, keys);
    if ('lacking' in partition) {
      throw new ParallelRunError(
        'INVALID_SETTINGS',
        `partition_keys: ${file.name} is not under a folder ${partition.lacking}=<value>/; every file must be laid out by the keys ${keys.join(', ')}`,
        'partition_keys',
      );
    }
    const key = JSON.stringify(keys.map((k) => partition.values[k]));
    const group = groups.get(key) ?? [];
    // The whole file: "bytes" with an end past any size reads to its end (Parquet: all rows).
    for await (const item of itemsOf(storage, input, file, Number.MAX_SAFE_INTEGER, planning))
      group.push(encodeItem(item));
    groups.set(key, group);
  }
  for (const group of groups.values()) await manifest.add(group);
}

/**
 * A file's items as mini-batches of consecutive ranges up to `bytes` together (each its own with
 * `bytes` 0).
 */
async function* upTo(bytes: number, items: AsyncIterable<TableItem>): AsyncGenerator<string[]> {
  let group: string[] = [];
  let size = 0;
  for await (const item of items) {
    // Row groups (Parquet) are gathered up to the size already: each item is a mini-batch.
    const itemBytes = item.unit === 'bytes' ? item.end - item.start : Number.POSITIVE_INFINITY;
    if (group.length > 0 && size + itemBytes > bytes) {
      yield group;
      group = [];
      size = 0;
    }
    group.push(encodeItem(item));
    size += itemBytes;
  }
  if (group.length > 0) yield group;
}

/** The table's files, each told to `listed` as the plan meets it (what `tableVersions` lists). */
async function* tellingEach(
  files: AsyncIterable<TableFile>,
  { listed, goOn }: Pick<Planning, 'listed' | 'goOn'>,
): AsyncGenerator<TableFile> {
  for await (const file of files) {
    goOn();
    listed?.({ item: file.name, version: file.etag });
    yield file;
  }
}

/** How a table is planned beyond its size (see `DatasetKind.plan`). */
export interface PlanTableOptions {
  listed?: (entry: VersionedItem) => void;
  /** The run ended meanwhile: the plan stops (`planStopped`). */
  stopped?: () => boolean;
  /** The most bytes one range holds (MAX_RANGE_BYTES; tests stand a smaller one for it). */
  maxRange?: number;
}

/** The options as the plan's steps use them: `goOn` throws once the run has ended. */
type Planning = Pick<PlanTableOptions, 'listed'> & { maxRange: number; goOn: () => void };

/**
 * Plans a table: each file is cut into mini-batches of about `bytes` (never across files; small
 * files are not merged), or grouped by partition key. The manifest's items are byte ranges or row
 * ranges; the rows in them are counted by the tries that read them.
 */
export async function planTable(
  storage: Storage,
  runId: string,
  input: TableInput,
  bytes: number,
  { listed, stopped, maxRange = MAX_RANGE_BYTES }: PlanTableOptions = {},
): Promise<Plan> {
  const planning: Planning = {
    listed,
    maxRange,
    goOn: () => {
      if (stopped?.()) throw planStopped(runId);
    },
  };
  const manifest = new ManifestWriter(storage, runId);
  const files = tellingEach(listTableFiles(storage, input, { readAhead: true }), planning);
  if (input.partition_keys)
    await planPartitions(storage, input, input.partition_keys, manifest, files, planning);
  else
    for await (const file of files)
      // Ranges are grouped only where one cannot hold `bytes`: otherwise each is its own mini-batch.
      for await (const group of upTo(
        bytes > maxRange ? bytes : 0,
        itemsOf(storage, input, file, bytes, planning),
      ))
        await manifest.add(group);
  const plan = await manifest.finish();
  if (plan.items === 0) throw emptyTableError(input);
  return { ...plan, itemsCountedByTries: true };
}
