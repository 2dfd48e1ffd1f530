import { CsvError, parse } from 'csv-parse/sync';
import { isSafeNumber, parse as parseLossless } from 'lossless-json';
import type { TableView } from './kind.js';
import type { TableItem } from './table-items.js';
import { rowName, rowNamer } from './table-items.js';
import { FieldOffsets, type CsvSegment } from './table-columns.js';
import { isIntegerText, listedColumns, typedField } from './table-fields.js';

/**
 * The names of an item's rows (`rowName`), each kept as its row number and built only when asked
 * for: a range holds tens of thousands of rows, and only an error line reads a name. Building them
 * all cost a tenth of a table try's CPU (4.8 against 4.3 µs a row, parse to part). Rows come
 * numbered one after another unless one failed: until then they are kept as the first number and a
 * count, not one number each (pushing each cost a twentieth of a plain read-parse-score loop).
 */
export class RowNames {
  private first = 0;
  private count = 0;
  /** Every row's number, once they are not consecutive. */
  private numbers: number[] | undefined;

  constructor(private readonly nameOf: (n: number) => string) {}

  static of(item: TableItem): RowNames {
    return new RowNames(rowNamer(item));
  }

  /** The row numbered `n` in its item comes next. */
  add(n: number): void {
    if (this.numbers) this.numbers.push(n);
    else if (this.count === 0) this.first = n;
    else if (n !== this.first + this.count) {
      this.numbers = Array.from({ length: this.count }, (_, i) => this.first + i);
      this.numbers.push(n);
    }
    this.count++;
  }

  private numberAt(i: number): number | undefined {
    if (this.numbers) return this.numbers[i];
    return Number.isInteger(i) && i >= 0 && i < this.count ? this.first + i : undefined;
  }

  at(i: number): string | undefined {
    const n = this.numberAt(i);
    return n === undefined ? undefined : this.nameOf(n);
  }

  /** The names of the rows at `indexes`, in that order. */
  only(indexes: number[]): RowNames {
    const kept = new RowNames(this.nameOf);
    for (const i of indexes) {
      const n = this.numberAt(i);
      if (n !== undefined) kept.add(n);
    }
    return kept;
  }

  toArray(): string[] {
    return Array.from({ length: this.count }, (_, i) => this.nameOf(this.numberAt(i) ?? 0));
  }
}

/** What reading one item gave: its rows with their names, and the records that could not be read. */
export interface ReadRows {
  rows: Record<string, unknown>[];
  /** Read for the columns view (a CSV range without quotes): its rows as field offsets, `rows` then empty. */
  segment?: CsvSegment;
  names: RowNames;
  failed: { item: string; reason: string }[];
}

/** How many rows a read gave, in either view. */
export function rowCount(read: ReadRows): number {
  return read.segment?.length ?? read.rows.length;
}

export interface CsvOptions {
  delimiter: string;
  /** A line break is a record's end (the file may be split by bytes). */
  linesAreRecords: boolean;
}

/**
 * A record ends at LF or CRLF, whichever each line has, as the unquoted fast path reads lines:
 * left to guess, csv-parse takes the first line's ending for all, and a file of mixed endings
 * (files joined together) would get `\r` glued to fields and whole lines as fields.
 */
const RECORD_DELIMITERS = ['\r\n', '\n'];

function parseRecords(text: string, options: CsvOptions): string[][] {
  return parse(text, {
    delimiter: options.delimiter,
    record_delimiter: RECORD_DELIMITERS,
    relax_column_count: true,
    skip_empty_lines: true,
  });
}

/** The first line of a CSV as column names (`c1`, `c2`, … without a header); an error says what is wrong. */
export function parseHeader(line: string, options: CsvOptions): string[] | string {
  let columns: string[];
  try {
    columns = parseRecords(line, options)[0] ?? [];
  } catch (err) {
    return `its header line cannot be read: ${(err as Error).message}`;
  }
  if (columns.length === 0) return 'its header line is empty';
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) return `its header names the column "${column}" twice`;
    seen.add(column);
  }
  return columns;
}

/**
 * A line that holds no record: nothing, or only the CR of a CRLF. Every path skips these and no
 * other: a line of spaces is a record (one field, or a ragged row), as csv-parse reads it.
 */
function isEmptyLine(line: string): boolean {
  return line === '' || line === '\r';
}

/** A line without the CR of its CRLF ending. */
function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** The first line of `text` that holds a record, without its line break; undefined when none does. */
export function firstRecordLine(text: string): string | undefined {
  for (let at = 0; at < text.length;) {
    const newline = text.indexOf('\n', at);
    const line = text.slice(at, newline < 0 ? text.length : newline);
    if (!isEmptyLine(line)) return withoutCr(line);
    if (newline < 0) break;
    at = newline + 1;
  }
  return undefined;
}

/**
 * How many fields the first record of `text` has: the column count of a CSV without a header
 * (`c1`, `c2`, …). Its values are data, so they may repeat (`0,0`). A record that cannot be read as
 * it is (a stray quote) is read with its quotes kept as text, and one that still cannot (an unclosed
 * quote) is counted by its delimiters: that row fails alone, but the width it shows still holds for
 * the rows after it. Undefined when `text` holds no record.
 */
export function firstRecordFieldCount(text: string, options: CsvOptions): number | undefined {
  const line = firstRecordLine(text);
  if (line === undefined) return undefined;
  // A quoted field may hold line breaks only where lines are not records: then the record is read from the text.
  const source = options.linesAreRecords ? line : text;
  for (const relax_quotes of [false, true]) {
    try {
      const records: string[][] = parse(source, {
        delimiter: options.delimiter,
        record_delimiter: RECORD_DELIMITERS,
        relax_column_count: true,
        relax_quotes,
        skip_empty_lines: true,
        to: 1,
      });
      if (records[0]) return records[0].length;
    } catch {
      // Try again more leniently, then count delimiters.
    }
  }
  return line.split(options.delimiter).length;
}

export function numberedColumns(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `c${i + 1}`);
}

/**
 * An object with every column, null: each row starts as a copy of it, so all rows share one shape
 * and the stores only fill it (adding keys one by one to a fresh object costs twice as much).
 */
export function rowTemplate(columns: string[]): Record<string, unknown> {
  const template: Record<string, unknown> = {};
  // Defined, not assigned: a column named `__proto__` is then a column, not the row's prototype.
  for (const column of columns)
    Object.defineProperty(template, column, {
      value: null,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return template;
}

/** A record's fields as a row under `columns`, typed; the caller checked the counts agree. */
function rowOf(
  template: Record<string, unknown>,
  columns: string[],
  fields: string[],
): Record<string, unknown> {
  const row = { ...template };
  for (let i = 0; i < columns.length; i++) row[columns[i] ?? ''] = typedField(fields[i] ?? '');
  return row;
}

function ragged(fields: number, columns: string[]): string {
  return `has ${fields} fields; the header has ${columns.length} (${listedColumns(columns)})`;
}

/** Rows a range's offsets have room for at first: they grow as more come. */
const EXPECTED_ROWS = 1024;

/**
 * Lines with no quote at all are their fields split at the delimiter: what csv-parse would read, at
 * a fraction of its cost (most machine-written CSV has no quotes). One pass over the text noting
 * where each field starts, with no line string or field list in between (the garbage of those cost
 * more than the parsing): the columns view keeps these offsets, the rows view builds its rows from them.
 */
function plainSegment(
  item: TableItem,
  text: string,
  columns: string[],
  delimiter: string,
): { segment: CsvSegment; names: RowNames; failed: ReadRows['failed'] } {
  const names = RowNames.of(item);
  const failed: ReadRows['failed'] = [];
  const width = columns.length;
  // A row holds at least its delimiters (one character for a single column): a range of a wide
  // table (100,000 columns) holds few rows, and room for a thousand would be 400 MB of offsets.
  const offsets = new FieldOffsets(
    width,
    Math.min(EXPECTED_ROWS, Math.floor(text.length / Math.max(1, width - 1)) + 1),
  );
  let n = 0;
  // Where the next delimiter is (the text's length when none follows), kept across lines: a line
  // without one (a one-column CSV) would otherwise search the rest of the text again, each line.
  let delimiterAt = -1;
  for (let at = 0; at < text.length;) {
    const newline = text.indexOf('\n', at);
    const next = newline < 0 ? text.length : newline + 1;
    let end = newline < 0 ? text.length : newline;
    if (end > at && text.charCodeAt(end - 1) === 13) end--;
    if (end > at) {
      const base = offsets.next();
      let fields = 0;
      for (let from = at; ;) {
        if (delimiterAt < from) {
          delimiterAt = text.indexOf(delimiter, from);
          if (delimiterAt < 0) delimiterAt = text.length;
        }
        const cut = delimiterAt > end ? end : delimiterAt;
        if (fields < width) offsets.set(base + fields, from);
        fields++;
        if (cut === end) break;
        from = cut + 1;
      }
      n++;
      if (fields === width) {
        offsets.set(base + width, end + 1);
        offsets.keep();
        names.add(n);
      } else failed.push({ item: rowName(item, n), reason: ragged(fields, columns) });
    }
    at = next;
  }
  return { segment: offsets.segment(text, columns), names, failed };
}

/**
 * Each record of `text` (the item's rows, header left out), with its number in the item. Where
 * lines are records, they are parsed together, and if that fails line by line, so one malformed
 * line fails alone; otherwise (quoted line breaks) each broken record is cut out as it is found.
 */
function records(text: string, options: CsvOptions): ParsedRecord[] {
  if (!options.linesAreRecords) return quotedRecords(text, options);
  const lines = text.split('\n').filter((line) => !isEmptyLine(line));
  try {
    const parsed = parseRecords(text, options);
    // As many records as lines: no quote held a line break. One that did joined lines into a record,
    // which a range cut between those lines would have read otherwise: such lines fail, each alone,
    // wherever the file is cut.
    if (parsed.length === lines.length) return parsed.map((fields, i) => ({ n: i + 1, fields }));
  } catch {
    // fall through: find which lines are broken
  }
  return lines.map((line, i) => {
    try {
      return { n: i + 1, fields: parseRecords(withoutCr(line), options)[0] ?? [] };
    } catch (err) {
      const open = err instanceof CsvError && err.code === 'CSV_QUOTE_NOT_CLOSED';
      return { n: i + 1, error: open ? QUOTE_OPEN_AT_LINE_END : (err as Error).message };
    }
  });
}

/** A line that opens a quote it does not close, where lines are records. */
const QUOTE_OPEN_AT_LINE_END =
  'a quote opened in it is not closed on its line, and each line is a record: if quoted fields hold line breaks, set input.newlines_in_quotes (its files are then read whole, never split)';

type ParsedRecord = { n: number; fields?: string[]; error?: string };

/**
 * The records of a CSV whose quoted fields may hold line breaks, a broken one failing alone.
 * csv-parse's own skipping loses its place after a quote error (the good record after it fails too;
 * a quote never closed takes the rest of the text with it), so each broken record is cut out here
 * and parsing starts again after it: after the line where the error was found, or, for a quote never
 * closed (found only at the end), after the broken record's first line, so the rows after it are
 * still read (a line that was really part of it then fails as a record of its own: seen, never lost).
 */
function quotedRecords(text: string, options: CsvOptions): ParsedRecord[] {
  const out: ParsedRecord[] = [];
  let n = 0;
  let resyncs = 0;
  let rest = text;
  for (;;) {
    let lastEnd = 0;
    try {
      parse(rest, {
        delimiter: options.delimiter,
        record_delimiter: RECORD_DELIMITERS,
        relax_column_count: true,
        skip_empty_lines: true,
        on_record: (record, context) => {
          out.push({ n: ++n, fields: record });
          lastEnd = context.lines;
          return undefined;
        },
      });
      return out;
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      const unclosed = err.code === 'CSV_QUOTE_NOT_CLOSED';
      // Each resync parses the rest of the text again (csv-parse copies it whole): past so many,
      // the rest's lines each fail, counted, rather than parsed again and again.
      if (++resyncs > MAX_RESYNCS) return [...out, ...unreadLines(rest, lastEnd, () => ++n)];
      out.push({ n: ++n, error: unclosed ? UNCLOSED_QUOTE : err.message.replace(/ at line \d+/, '') });
      // The broken record starts on the first line with text after the last good record.
      let start = lastEnd + 1;
      let at = lineStart(rest, start, 0, 1);
      while (at < rest.length && isEmptyLine(rest.slice(at, lineEnd(rest, at)))) {
        at = lineEnd(rest, at) + 1;
        start++;
      }
      const resume = unclosed ? start + 1 : Math.max(Number(err.lines), start) + 1;
      rest = rest.slice(lineStart(rest, resume, at, start));
      if (rest.trim() === '') return out;
    }
  }
}

/** A line's end in `text` (its '\n', or the text's end), from an offset inside it. */
function lineEnd(text: string, at: number): number {
  const nl = text.indexOf('\n', at);
  return nl < 0 ? text.length : nl;
}

/** Where line `line` (from 1) of `text` starts, scanning on from `at`, the start of line `from`. */
function lineStart(text: string, line: number, at: number, from: number): number {
  let offset = at;
  for (let l = from; l < line && offset < text.length; l++) offset = lineEnd(text, offset) + 1;
  return Math.min(offset, text.length);
}

/** Broken records one item's text is read past; after that its rest's lines fail unread. */
const MAX_RESYNCS = 1_000;

/** Each non-empty line of `text` after line `after` (from 1), failed unread: counted, never dropped. */
function unreadLines(text: string, after: number, next: () => number): ParsedRecord[] {
  const error = `not read: this range has more than ${MAX_RESYNCS} broken quoted records, and its lines from the last of them on each fail unread (with input.newlines_in_quotes, a broken quote makes the rest of the range read again; fix the quotes, or leave newlines_in_quotes out if no quoted field holds a line break)`;
  const out: ParsedRecord[] = [];
  for (let at = lineStart(text, after + 1, 0, 1); at < text.length;) {
    const end = lineEnd(text, at);
    if (!isEmptyLine(text.slice(at, end))) out.push({ n: next(), error });
    at = end + 1;
  }
  return out;
}

const UNCLOSED_QUOTE =
  'a quote opened in it is never closed (the text ends inside it); the lines after its first were read as records of their own';

/** CSV rows of one item under `columns`: a record with another field count fails alone, naming both counts. */
export function csvRows(
  item: TableItem,
  text: string,
  columns: string[],
  options: CsvOptions,
  view: TableView = 'rows',
): ReadRows {
  if (options.linesAreRecords && !text.includes('"')) {
    const { segment, names, failed } = plainSegment(item, text, columns, options.delimiter);
    return view === 'columns'
      ? { rows: [], segment, names, failed }
      : { rows: segment.rows(rowTemplate(columns)), names, failed };
  }
  const read: ReadRows = { rows: [], names: RowNames.of(item), failed: [] };
  const template = rowTemplate(columns);
  for (const record of records(text, options)) {
    if (!record.fields) {
      read.failed.push({
        item: rowName(item, record.n),
        reason: `malformed CSV record: ${record.error ?? ''}`,
      });
    } else if (record.fields.length !== columns.length) {
      read.failed.push({ item: rowName(item, record.n), reason: ragged(record.fields.length, columns) });
    } else {
      read.rows.push(rowOf(template, columns, record.fields));
      read.names.add(record.n);
    }
  }
  return read;
}

/**
 * Sixteen digits in a row, the least an integer past 2^53 (9007199254740992) has, or an exponent of
 * three digits, the least a number past a double's range (`1e999`) has.
 */
const LONG_NUMBER = /\d{16}|[eE][+-]?\d{3}/;

/**
 * A JSON number as a row value: an integer past 2^53 stays text, as in CSV and Parquet (an id keeps
 * its digits), and so does a number past a double's range (`1e999`), as in CSV: as a number it would
 * be Infinity, written as null.
 */
function jsonNumber(text: string): number | string {
  const value = Number(text);
  if (!Number.isFinite(value)) return text;
  return isSafeNumber(text) || !isIntegerText(text) ? value : text;
}

/**
 * One JSON line's value. JSON.parse would turn `{"id": 9007199254740993}` into another id, and
 * `1e999` into Infinity, without a word; a line with a number that long is read by a parser that
 * hands over each number's text (lossless-json), the rest (nearly all) by JSON.parse.
 */
function jsonLine(line: string): unknown {
  return LONG_NUMBER.test(line) ? parseLossless(line, null, LOSSLESS) : JSON.parse(line);
}

/** A key given twice keeps its last value, as JSON.parse (and Python's json) read it: which parser reads a line never decides whether it fails. */
const LOSSLESS = {
  parseNumber: jsonNumber,
  onDuplicateKey: ({ newValue }: { newValue: unknown }) => newValue,
};

/** JSON Lines rows of one item: each non-blank line one JSON object; any other line fails alone. */
export function jsonlRows(item: TableItem, text: string): ReadRows {
  const read: ReadRows = { rows: [], names: RowNames.of(item), failed: [] };
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    n++;
    let value: unknown;
    try {
      value = jsonLine(line);
    } catch (err) {
      read.failed.push({ item: rowName(item, n), reason: `not JSON: ${(err as Error).message}` });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      read.failed.push({
        item: rowName(item, n),
        reason: 'not a JSON object: each line must be one object, e.g. {"a": 1}',
      });
      continue;
    }
    read.rows.push(value as Record<string, unknown>);
    read.names.add(n);
  }
  return read;
}

/** Parquet values as the worker's message channel and JSON carry them: big integers, dates and bytes made plain. */
export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new Error('a date or time outside what a JavaScript date holds (years -271821 to 275760)');
    return value.toISOString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(plainValue);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  return value;
}
