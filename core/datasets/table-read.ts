import { isAscii, isUtf8 } from 'node:buffer';
import type { BlobClient } from '@azure/storage-blob';
import {
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type AsyncBuffer,
  type FileMetaData,
} from 'hyparquet';
import { errorMessage } from '../errors.js';
import type { TableInput } from '../config/resolved.js';
import { isNotFound, type Storage } from '../storage/storage.js';
import { atVersion, blobAsyncBuffer, changedSincePlanned, nextLineStart, readRange } from './blob-range.js';
import type { Materialized, TableView } from './kind.js';
import { RowsSegment, TableColumns, type ColumnSegment } from './table-columns.js';
import { listedColumns } from './table-fields.js';
import { tableBlobName } from './table-files.js';
import {
  csvDelimiterOf,
  decodeItem,
  formatOf,
  partitionOf,
  rangeName,
  rowName,
  unknownFormat,
  type TableItem,
} from './table-items.js';
import {
  csvRows,
  firstRecordFieldCount,
  firstRecordLine,
  jsonlRows,
  numberedColumns,
  parseHeader,
  plainValue,
  RowNames,
  rowCount,
  rowTemplate,
  type CsvOptions,
  type ReadRows,
} from './table-rows.js';

/**
 * One failed item: the whole range, or the whole file when the range is all of it (`wholeFile`:
 * by default, a range from the file's start; a Parquet file's first row groups are not all of it).
 */
function whole(item: TableItem, reason: string, wholeFile = item.start === 0): ReadRows {
  return {
    rows: [],
    names: RowNames.of(item),
    failed: [{ item: wholeFile ? item.file : rangeName(item), reason }],
  };
}

/** The first of the run's carry_columns that `columns` lack: the range cannot give any row its keys. */
function lackingCarried(input: TableInput, columns: string[]): string | undefined {
  const carried = input.carry_columns;
  if (!carried) return undefined;
  const have = new Set(columns);
  const absent = carried.find((c) => !have.has(c));
  return absent === undefined
    ? undefined
    : `has no column "${absent}" (carry_columns); its columns: ${listedColumns(columns)}`;
}

/**
 * Rows that lack a carried column (JSON Lines objects may each have other keys) fail alone, naming
 * the column: their results could not be joined back. CSV and Parquet ranges were checked whole.
 */
function withCarried(read: ReadRows, carried: string[] | undefined): ReadRows {
  if (!carried) return read;
  const rows: ReadRows['rows'] = [];
  const indexes: number[] = [];
  read.rows.forEach((row, i) => {
    const absent = carried.find((c) => !Object.hasOwn(row, c));
    if (absent === undefined) {
      rows.push(row);
      indexes.push(i);
    } else read.failed.push({ item: read.names.at(i) ?? '', reason: `has no "${absent}" (carry_columns)` });
  });
  return indexes.length === read.rows.length
    ? read
    : { rows, names: read.names.only(indexes), failed: read.failed };
}

/** The header line of a split CSV's later range: read by range from the file's start. */
async function headerLine(blob: BlobClient, item: TableItem): Promise<string> {
  const end = await nextLineStart(blob, 0, item.end, item.etag);
  return utf8Text(await readRange(blob, 0, end, item.etag), true);
}

/** The first window read from a file's start when looking for its first record. */
const FIRST_RECORD_WINDOW = 64 * 1024;

/**
 * The file's start, up to `end`, as far as its first record (blank lines skipped), read by range in
 * growing windows: a later range of a file without a header takes its width from that record, as a
 * split CSV's later range takes its header from the file's first line.
 */
async function textToFirstRecord(blob: BlobClient, { end, etag }: TableItem): Promise<string> {
  for (let window = FIRST_RECORD_WINDOW; ; window *= 4) {
    const upTo = Math.min(window, end);
    const bytes = await readRange(blob, 0, upTo, etag);
    // A window's last line may be cut short, mid-character even: only whole lines are decoded (a
    // character cut at the window's end is not text that is not UTF-8) and count.
    const lines = upTo === end ? bytes : bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
    const whole = stripBom(utf8Text(lines, true));
    if (upTo === end || firstRecordLine(whole) !== undefined) return whole;
  }
}

/** Bytes of a table's text that are not UTF-8: the range fails whole, saying so (readItem). */
class NotUtf8Error extends Error {}

/**
 * Bytes of a CSV or JSON Lines file as text, if they are UTF-8: decoded anyway, a UTF-16 file gives
 * column names full of NULs and a Latin-1 file replacement characters, with no word said. Asked of
 * a range and of the header or first record a later range reads. A range starts at a line start,
 * so a character is never cut at its edges; `fileStart`: the bytes start the file (a BOM is there).
 */
function utf8Text(bytes: Buffer, fileStart: boolean): string {
  const bom = fileStart && bytes.length >= 2 ? bytes.readUInt16BE(0) : undefined;
  if (bom === 0xfffe || bom === 0xfeff)
    throw new NotUtf8Error('is UTF-16 text (its byte order mark says so): save it as UTF-8 to read it');
  // NUL is UTF-8, but no text file holds it: UTF-16 without its mark (ASCII and NULs), or not text.
  if (bytes.includes(0))
    throw new NotUtf8Error(
      'holds NUL bytes: UTF-16 text without its byte order mark, or not text at all; save it as UTF-8 to read it',
    );
  // ASCII (most machine-written tables) is UTF-8 too, and Node copies it to text without decoding:
  // a 4 MB range in 4 ms against 20 (a try of the tabular bench read, parsed and scored a sixth faster).
  if (isAscii(bytes)) return bytes.toString('ascii');
  if (!isUtf8(bytes))
    throw new NotUtf8Error(
      'is not UTF-8 text (Latin-1 or Windows-1252, perhaps: a byte that UTF-8 does not allow there): save it as UTF-8 to read it',
    );
  return bytes.toString('utf8');
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The size of the blob at the item's planned version (a 412 when it is another now). */
async function blobSize(blob: BlobClient, { etag }: TableItem): Promise<number> {
  return (await blob.getProperties(atVersion(etag))).contentLength ?? 0;
}

function noneRead(item: TableItem): ReadRows {
  return { rows: [], names: RowNames.of(item), failed: [] };
}

/**
 * A range that holds no rows: when it is the whole file, the file is one error line saying why
 * (`reason`); a range of a split file is simply empty (a long header can fill the first range, and
 * its rows are in the next). The file's size is asked only here, where no rows were found.
 */
/** Why a "header" may hold the whole file: lines ended by a carriage return alone (old Mac files). */
function crOnly(header: string): string {
  return /\r(?!\n)./.test(header)
    ? ' (its lines end with a carriage return alone, old Mac style: a line ends at \\n or \\r\\n; save it with those)'
    : '';
}

async function noRows(blob: BlobClient, item: TableItem, reason: string): Promise<ReadRows> {
  const wholeFile = item.start === 0 && item.end >= (await blobSize(blob, item));
  return wholeFile ? whole(item, reason) : noneRead(item);
}

function csvOptionsOf(input: TableInput, item: TableItem): CsvOptions {
  return {
    delimiter: csvDelimiterOf(input, item.file),
    linesAreRecords: input.newlines_in_quotes !== true,
  };
}

/**
 * Rows of a CSV without a header: its columns are `c1`, `c2`, … as many as the file's first record
 * has fields, whichever range is read (a later range of a split file reads that record from the
 * file's start), so rows do not depend on where the file was cut.
 */
async function readHeaderless(
  blob: BlobClient,
  input: TableInput,
  item: TableItem,
  body: string,
  options: CsvOptions,
  view: TableView,
): Promise<ReadRows> {
  const head = item.start === 0 ? body : await textToFirstRecord(blob, item);
  const count = firstRecordFieldCount(head, options);
  if (count === undefined) return noRows(blob, item, 'has no rows (only blank lines)');
  const columns = numberedColumns(count);
  const absent = lackingCarried(input, columns);
  if (absent) return whole(item, absent);
  const read = csvRows(item, body, columns, options, view);
  return rowCount(read) === 0 && read.failed.length === 0
    ? noRows(blob, item, 'has no rows (only blank lines)')
    : read;
}

/**
 * Where the header record of a file's text ends (its line break), -1 when none follows. Where
 * quoted fields may hold line breaks, the header's may too (a spreadsheet's wrapped column title):
 * only a line break outside quotes ends it.
 */
function headerEnd(text: string, options: CsvOptions): number {
  if (options.linesAreRecords) return text.indexOf('\n');
  let quoted = false;
  for (let at = 0; at < text.length; at++) {
    const c = text.charCodeAt(at);
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) return at;
  }
  return -1;
}

async function readCsv(
  blob: BlobClient,
  input: TableInput,
  item: TableItem,
  text: string,
  view: TableView,
): Promise<ReadRows> {
  const options = csvOptionsOf(input, item);
  const body = item.start === 0 ? stripBom(text) : text;
  if (input.header === false) return readHeaderless(blob, input, item, body, options, view);
  let header: string;
  let rows: string;
  if (item.start === 0) {
    const lineEnd = headerEnd(body, options);
    header = lineEnd < 0 ? body : body.slice(0, lineEnd + 1);
    rows = lineEnd < 0 ? '' : body.slice(lineEnd + 1);
  } else {
    header = stripBom(await headerLine(blob, item));
    rows = body;
  }
  const columns = parseHeader(header, options);
  if (typeof columns === 'string') return whole(item, columns);
  const absent = lackingCarried(input, columns);
  if (absent) return whole(item, absent);
  const read = csvRows(item, rows, columns, options, view);
  if (item.start === 0 && rowCount(read) === 0 && read.failed.length === 0)
    return noRows(blob, item, `has a header and no rows${crOnly(header)}`);
  return read;
}

/** V8's longest string (0x1fffffe8 characters): a range past it cannot be read as text at all. */
const MAX_TEXT_BYTES = 0x1fffffe8;

/** Why a range past MAX_TEXT_BYTES is not read: said before downloading it on every try. */
function tooLong(input: TableInput, item: TableItem): string {
  const mb = Math.round((item.end - item.start) / 1024 ** 2);
  const why = input.newlines_in_quotes
    ? 'with newlines_in_quotes a file is never split: split the file, or leave newlines_in_quotes out if no quoted field holds a line break'
    : 'it is one line longer than that (no line break to cut at)';
  return `is ${mb} MB in one range, more than a try can read as text (about 512 MB, the longest string V8 makes): ${why}`;
}

async function readText(
  blob: BlobClient,
  input: TableInput,
  item: TableItem,
  format: 'csv' | 'jsonl',
  view: TableView,
): Promise<ReadRows> {
  if (item.start === 0 && item.end === 0) return whole(item, 'is empty: no header and no rows');
  if (item.end - item.start > MAX_TEXT_BYTES) return whole(item, tooLong(input, item));
  const text = utf8Text(await readRange(blob, item.start, item.end, item.etag), item.start === 0);
  if (format === 'jsonl') {
    const read = jsonlRows(item, item.start === 0 ? stripBom(text) : text);
    return read.rows.length === 0 && read.failed.length === 0
      ? noRows(blob, item, 'has no rows (only blank lines)')
      : read;
  }
  return readCsv(blob, input, item, text, view);
}

/**
 * The item's rows as arrays of values, in the schema's column order. Not hyparquet's objects: it
 * builds them by assignment, so a column named `__proto__` became the row's prototype and was lost.
 */
function parquetRows(file: AsyncBuffer, metadata: FileMetaData, item: TableItem): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    parquetRead({
      file,
      metadata,
      rowStart: item.start,
      rowEnd: item.end,
      onComplete: (rows: unknown[][]) => resolve(rows),
    }).catch(reject);
  });
}

/**
 * Row objects of a Parquet item's values. A value with no plain form (a timestamp past the years a
 * JavaScript date holds) fails its row alone, naming the column, as a malformed CSV record does.
 */
function parquetObjects(item: TableItem, columns: string[], values: unknown[][]): ReadRows {
  const template = rowTemplate(columns);
  const names = RowNames.of(item);
  const read: ReadRows = { rows: [], names, failed: [] };
  values.forEach((row, r) => {
    const object = { ...template };
    for (let i = 0; i < columns.length; i++) {
      try {
        object[columns[i] ?? ''] = plainValue(row[i]);
      } catch (err) {
        read.failed.push({
          item: rowName(item, r + 1),
          reason: `column "${columns[i] ?? ''}": ${errorMessage(err)}`,
        });
        return;
      }
    }
    read.rows.push(object);
    names.add(r + 1);
  });
  return read;
}

async function readParquet(blob: BlobClient, input: TableInput, item: TableItem): Promise<ReadRows> {
  const size = await blobSize(blob, item);
  // Said as a CSV's is: "Offset is outside the bounds of the DataView" names no cause.
  if (size === 0) return whole(item, 'is empty: no Parquet footer and no rows');
  const file = blobAsyncBuffer(blob, size, item.etag);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    return whole(item, `is not a readable Parquet file (truncated, or another format): ${errorMessage(err)}`);
  }
  if (item.end === item.start) return whole(item, 'has no rows');
  // The file's other row groups may be read by other tries: only a range of all its rows names the file.
  const all = item.start === 0 && item.end >= Number(metadata.num_rows);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  // As a CSV header naming a column twice: one of the two would be lost from every row.
  const seen = new Set<string>();
  const twice = columns.find((c) => seen.size === seen.add(c).size);
  if (twice !== undefined) return whole(item, `its schema names the column "${twice}" twice`, all);
  const absent = lackingCarried(input, columns);
  if (absent) return whole(item, absent, all);
  try {
    const values = await parquetRows(file, metadata, item);
    return parquetObjects(item, columns, values);
  } catch (err) {
    return whole(item, `its rows ${item.start + 1} to ${item.end} cannot be read: ${errorMessage(err)}`, all);
  }
}

async function readItem(
  storage: Storage,
  input: TableInput,
  text: string,
  view: TableView,
): Promise<ReadRows> {
  const item = decodeItem(text);
  const blob = storage.blobs
    .getContainerClient(input.container)
    .getBlobClient(tableBlobName(input, item.file));
  const format = formatOf(input, item.file);
  try {
    if (format === undefined) return whole(item, unknownFormat(item.file));
    const read =
      format === 'parquet'
        ? await readParquet(blob, input, item)
        : await readText(blob, input, item, format, view);
    return withCarried(read, input.carry_columns);
  } catch (err) {
    if (err instanceof NotUtf8Error) return whole(item, err.message);
    // A read of the planned version answers 412 for a blob deleted since, too (Azurite does).
    const gone = isNotFound(err) || (changedSincePlanned(err) && !(await blob.exists().catch(() => true)));
    if (gone)
      return whole(
        item,
        `blob ${input.container}/${blob.name} does not exist (deleted since the run was planned)`,
      );
    if (changedSincePlanned(err))
      return whole(
        item,
        `blob ${input.container}/${blob.name} changed since the run was planned (replaced or rewritten): its planned ranges no longer hold whole records, so none of them is read; run again to read it as it is now`,
      );
    throw err;
  }
}

/**
 * One table mini-batch: each item's rows, read by range (CSV and JSON Lines: the item's bytes, plus
 * the header line for a later range of a split CSV; Parquet: the footer and the item's row groups).
 * A record that cannot be read fails alone, named by file and row. In the columns view the rows
 * come as one `TableColumns` (`columns`), and `inputs` is empty.
 */
export async function materializeTable(
  storage: Storage,
  input: TableInput,
  items: string[],
  stopped: () => boolean = () => false,
  view: TableView = 'rows',
): Promise<Materialized> {
  let inputs: unknown[] = [];
  const segments: ColumnSegment[] = [];
  const missing: Materialized['missing'] = [];
  const named: RowNames[] = [];
  for (const text of items) {
    if (stopped()) break;
    const read = await readItem(storage, input, text, view);
    named.push(read.names);
    if (view === 'columns') segments.push(read.segment ?? new RowsSegment(read.rows));
    // The first item's rows are taken as they are: most mini-batches are one range of one file.
    // Later ones one by one: a range holds far more rows than a call's arguments may be.
    else if (named.length === 1) inputs = read.rows;
    else for (const row of read.rows) inputs.push(row);
    for (const failed of read.failed) missing.push(failed);
  }
  const got = withNames({ inputs, missing }, named);
  if (view === 'columns') got.columns = new TableColumns(segments, (i) => got.names[i] ?? `row ${i + 1}`);
  const first = items[0];
  if (input.partition_keys && first !== undefined) {
    const partition = partitionOf(decodeItem(first).file, input.partition_keys);
    if ('values' in partition) got.partitionKeyValues = partition.values;
  }
  return got;
}

/** `names` built when first read (only error lines read them), from each item's row names in order. */
function withNames(got: Omit<Materialized, 'names'>, named: RowNames[]): Materialized {
  let names: string[] | undefined;
  return Object.defineProperty(got, 'names', {
    enumerable: true,
    get: () => (names ??= named.flatMap((n) => n.toArray())),
  }) as Materialized;
}
