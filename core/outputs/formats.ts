import { stringify } from 'csv-stringify/sync';
import type { AppendRowFormat } from '../config/settings.js';
import { rowsToText, rowToLine } from './rows.js';

/** One mini-batch's rows as its part blob holds them, with what finalize needs to compose them. */
export interface PartBody {
  bytes: Buffer;
  /** CSV: the columns of the part's lines, in order (finalize writes one header for all parts). */
  columns?: string[];
}

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

function cell(value: unknown): unknown {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : value;
}

/**
 * CSV lines of `rows` under `columns` (no header): object rows by column, a missing column empty;
 * strings as they are (one line each, as for text); other values as their text.
 */
export function csvLines(rows: unknown[], columns: string[]): string {
  let out = '';
  for (const row of rows) {
    if (isRecord(row))
      out += stringify([columns.map((c) => cell(row[c]))], { eof: true, record_delimiter: '\n' });
    else out += `${rowToLine(row)}\n`;
  }
  return out;
}

export function csvHeader(columns: string[]): string {
  return stringify([columns], { eof: true, record_delimiter: '\n' });
}

/** The part of one mini-batch in the run's output format. */
export function partBody(rows: unknown[], format: AppendRowFormat | undefined): PartBody {
  if (format === 'csv') {
    const columns = columnsOf(rows);
    return { bytes: Buffer.from(csvLines(rows, columns), 'utf8'), columns };
  }
  // text, jsonl, and parquet (converted at finalize) keep one JSON or text line per row.
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
