import { ParallelRunError } from '../errors.js';
import type { TableFormat, TableInput } from '../config/resolved.js';

/**
 * One table item of a manifest: a file's byte range [start, end) (CSV and JSON Lines, cut at line
 * starts) or its rows [start, end) (Parquet, at row-group boundaries), written `<file>#bytes=S-E` or
 * `<file>#rows=S-E`. Every item names its range, so a file name holding `#` stays readable.
 */
export interface TableItem {
  file: string;
  unit: 'bytes' | 'rows';
  start: number;
  end: number;
  /**
   * The file's ETag when it was planned: its ranges are read at that version or not at all (a file
   * replaced since would be cut mid-record). Absent in manifests planned before versions were kept.
   */
  etag?: string;
}

const RANGE = /^(bytes|rows)=(\d+)-(\d+)(?:&etag=([^&#]*))?$/;

/**
 * The item as a manifest holds it: its range, and the version it was planned at (the ETag as a
 * listing gives it, without the quotes a download's header has).
 */
export function encodeItem(item: TableItem): string {
  const etag = item.etag?.replace(/^"(.*)"$/, '$1');
  return `${rangeName(item)}${etag ? `&etag=${encodeURIComponent(etag)}` : ''}`;
}

/** The item as error lines name it: the file and its range (`file.csv#bytes=S-E`), not its version. */
export function rangeName(item: TableItem): string {
  return `${item.file}#${item.unit}=${item.start}-${item.end}`;
}

export function decodeItem(text: string): TableItem {
  const at = text.lastIndexOf('#');
  const match = at < 0 ? null : RANGE.exec(text.slice(at + 1));
  if (!match)
    throw new ParallelRunError('INVALID_SETTINGS', `'${text}' is not a table item (file#bytes=S-E)`);
  const [, unit, start = '0', end = '0', etag] = match;
  return {
    file: text.slice(0, at),
    unit: unit === 'rows' ? 'rows' : 'bytes',
    start: Number(start),
    end: Number(end),
    ...(etag === undefined ? {} : { etag: decodeURIComponent(etag) }),
  };
}

/** A manifest item's name for error lines (what `rangeName` says), or the text when it is not one. */
export function itemName(text: string): string {
  try {
    return rangeName(decodeItem(text));
  } catch {
    return text;
  }
}

/**
 * The name an error line gives a row: `file.csv#row=N` (N counts data rows from 1, the header not
 * counted) where the range starts the file or rows are counted in it (Parquet); for a later byte
 * range of a split file, where rows before it were never read, `file.csv#bytes=S-E&row=N`.
 */
export function rowName(item: TableItem, n: number): string {
  return rowNamer(item)(n);
}

/**
 * `rowName` for the rows of one item, its fixed part built once: a range names tens of thousands of
 * rows, and building the whole name each time cost more than parsing the row (1.7 µs against 0.3).
 */
export function rowNamer(item: TableItem): (n: number) => string {
  if (item.unit === 'rows') {
    const prefix = `${item.file}#row=`;
    return (n) => prefix + String(item.start + n);
  }
  const prefix = item.start === 0 ? `${item.file}#row=` : `${rangeName(item)}&row=`;
  return (n) => prefix + String(n);
}

const EXTENSIONS: Record<string, TableFormat> = {
  csv: 'csv',
  tsv: 'csv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  parquet: 'parquet',
};

/** The file name's extension, lower case, without its dot ('' when it has none). */
function extensionOf(file: string): string {
  const name = file.slice(file.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** The file's format: `input.format`, else its extension; undefined when neither says. */
export function formatOf(input: TableInput, file: string): TableFormat | undefined {
  if (input.format) return input.format;
  return Object.hasOwn(EXTENSIONS, extensionOf(file)) ? EXTENSIONS[extensionOf(file)] : undefined;
}

/**
 * The field delimiter of a CSV file: `input.delimiter` when given, else a tab for a `.tsv` file
 * (its name says it is tab-separated), else a comma. Every reader of a range asks here, so a split
 * file's header and its later ranges are cut alike.
 */
export function csvDelimiterOf(input: TableInput, file: string): string {
  if (input.delimiter !== undefined) return input.delimiter;
  return extensionOf(file) === 'tsv' ? '\t' : ',';
}

export function unknownFormat(file: string): string {
  return `the format of ${file} is not known from its extension: use .csv, .tsv, .jsonl, .ndjson or .parquet, or give input.format`;
}

/**
 * Hive-style `key=value` folders of a file's path, by key (values URI-decoded, as Hive writes them).
 * A Map: a key is looked up only among the folders, never among an object's inherited members
 * (`constructor`, `toString`, `__proto__`).
 */
export function partitionValuesOf(file: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const segment of file.split('/').slice(0, -1)) {
    const eq = segment.indexOf('=');
    if (eq <= 0) continue;
    const raw = segment.slice(eq + 1);
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // Not URI-encoded after all: the folder name is the value.
    }
    values.set(segment.slice(0, eq), value);
  }
  return values;
}

/** The key values of `file` for `keys`, or the first key its folders lack. */
export function partitionOf(
  file: string,
  keys: string[],
): { values: Record<string, string> } | { lacking: string } {
  const all = partitionValuesOf(file);
  const values: Record<string, string> = {};
  for (const key of keys) {
    const value = all.get(key);
    if (value === undefined) return { lacking: key };
    // Defined, not assigned: a key named `__proto__` is then a key, not the object's prototype.
    Object.defineProperty(values, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return { values };
}
