import type { AppendRowFormat } from '../config/settings.js';
import { csvLines } from './csv-text.js';
import { fieldOf, rowsToText } from './rows.js';

export { csvHeader, csvLines } from './csv-text.js';

/** One mini-batch's rows as its part blob holds them, with what finalize needs to compose them. */
export interface PartBody {
  bytes: Buffer;
  /** CSV and Parquet: the columns of the part's rows, in order (finalize writes one header or schema for all parts). */
  columns?: string[];
  /** Parquet: each column's type in this part (finalize settles one per column). */
  types?: ColumnType[];
}

/** A Parquet column's type as a part's values show it; `null` when the part has only nulls there. */
export type ColumnType = 'int32' | 'double' | 'boolean' | 'string' | null;

/** Part metadata is sent as HTTP headers: the columns travel URI-encoded, and must stay well under 8 KB. */
export const MAX_COLUMNS_METADATA = 6_000;

export function isRecord(row: unknown): row is Record<string, unknown> {
  return typeof row === 'object' && row !== null && !Array.isArray(row);
}

/** Columns of the object rows, in the order they first appear. */
export function columnsOf(rows: Iterable<unknown>): string[] {
  const seen = new Set<string>();
  for (const row of rows) if (isRecord(row)) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

/** The part of one mini-batch in the run's output format. */
export function partBody(rows: unknown[], format: AppendRowFormat | undefined): PartBody {
  if (format === 'csv') {
    const columns = columnsOf(rows);
    return { bytes: Buffer.from(csvLines(rows, columns), 'utf8'), columns };
  }
  if (format === 'parquet') {
    // One JSON object a line; finalize writes them into the Parquet file. A value that is not an
    // object is the row's one column, `value`.
    const objects = rows.map((row) => (isRecord(row) ? row : { value: row }));
    const columns = columnsOf(objects);
    const types = columns.map((c) =>
      objects.reduce<ColumnType>((t, row) => widen(t, typeOf(fieldOf(row, c))), null),
    );
    return { bytes: Buffer.from(rowsToText(objects), 'utf8'), columns, types };
  }
  // text and jsonl: one text or JSON line per row.
  return { bytes: Buffer.from(rowsToText(rows), 'utf8') };
}

export function encodeColumns(columns: string[]): string {
  return encodeURIComponent(JSON.stringify(columns));
}

export function decodeColumns(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const parsed: unknown = JSON.parse(decodeURIComponent(text));
  return Array.isArray(parsed) ? parsed.map(String) : undefined;
}

function typeOf(value: unknown): ColumnType {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? 'int32' : 'double';
  return 'string';
}

/** One type for two: whole numbers widen to doubles; any other disagreement is text. */
export function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === null || a === b) return b;
  if (b === null) return a;
  if ((a === 'int32' && b === 'double') || (a === 'double' && b === 'int32')) return 'double';
  return 'string';
}

export function encodeTypes(types: ColumnType[]): string {
  return encodeURIComponent(JSON.stringify(types));
}

export function decodeTypes(text: string | undefined): ColumnType[] | undefined {
  if (text === undefined) return undefined;
  const parsed: unknown = JSON.parse(decodeURIComponent(text));
  return Array.isArray(parsed) ? (parsed as ColumnType[]) : undefined;
}
