import { fieldOf, rowToLine } from './rows.js';

/** A field is quoted when it holds the delimiter, a quote or a line break (RFC 4180). */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV field: empty for null and what JSON has no value for (NaN, Infinity, a function), as JSON
 * Lines and Parquet outputs write null; numbers and booleans as JavaScript writes them (`true`,
 * `false`), a date as ISO text, strings as they are, other values as JSON; quoted (quotes doubled)
 * only where needed.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  const text =
    typeof value === 'string'
      ? value
      : value instanceof Date
        ? dateText(value)
        : (JSON.stringify(value) as string | undefined);
  if (text === undefined) return '';
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** As JSON writes a date (an invalid one is null). */
function dateText(date: Date): string | undefined {
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * CSV lines of `rows` under `columns` (no header): object rows by column, a missing column empty;
 * strings as they are (one line each, as for text); other values as their text. One pass, no CSV
 * library per row: a mini-batch of tens of thousands of rows is encoded in milliseconds.
 */
export function csvLines(rows: unknown[], columns: string[]): string {
  let out = '';
  for (const row of rows) {
    if (typeof row === 'object' && row !== null && !Array.isArray(row)) {
      const record = row as Record<string, unknown>;
      let line = '';
      for (let i = 0; i < columns.length; i++) {
        if (i > 0) line += ',';
        line += csvField(fieldOf(record, columns[i] ?? ''));
      }
      out += `${line}\n`;
    } else out += `${rowToLine(row)}\n`;
  }
  return out;
}

export function csvHeader(columns: string[]): string {
  return `${columns.map(csvField).join(',')}\n`;
}
