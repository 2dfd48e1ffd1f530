import { listedColumns, typedField } from './table-fields.js';

/**
 * The columns view (README, "Tabular datasets"): a script that exports `tableView = 'columns'` gets
 * its mini-batch as one `TableColumns` instead of an array of row objects: no object is built per
 * row, and a column is decoded only when the script asks for it. Values are those the rows view
 * would hold (numbers typed as numbers, empty CSV fields null).
 */

/** One range's rows as `TableColumns` reads them: a CSV range's text and offsets, or rows read as objects. */
export interface ColumnSegment {
  readonly length: number;
  readonly columnNames: readonly string[];
  /** The column's values in row order; undefined when this segment has no such column. */
  values(column: string): unknown[] | undefined;
  /** Writes the column as numbers into `into` from `at`; false when this segment has no such column. */
  numbers(column: string, into: Float64Array, at: number, nameOf: (i: number) => string): boolean;
  row(i: number): Record<string, unknown>;
}

/** What numbers() makes of one value: null is NaN, a boolean 1 or 0; anything else is an error. */
function asNumber(value: unknown, column: string, name: () => string): number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw new TypeError(
    `numbers("${column}"): ${name()} holds ${shown}, not a number; numbers() reads numbers, empty fields (NaN) and booleans (1, 0): read it with column("${column}")`,
  );
}

/** Defined, not assigned: a column named `__proto__` is then a column, not the row's prototype. */
function define(row: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(row, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Rows already read as objects (JSON Lines, Parquet, CSV with quotes) seen column by column. */
export class RowsSegment implements ColumnSegment {
  readonly columnNames: readonly string[];
  /** The columns as a set: a lookup per call, not a scan (a wide table has 100,000 columns). */
  private readonly named: ReadonlySet<string>;

  constructor(private readonly rows: Record<string, unknown>[]) {
    const seen = new Set<string>();
    for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
    this.columnNames = [...seen];
    this.named = seen;
  }

  get length(): number {
    return this.rows.length;
  }

  /** A row without the column (JSON Lines objects may each have other keys) holds null. */
  values(column: string): unknown[] | undefined {
    if (!this.named.has(column)) return undefined;
    return this.rows.map((row) => (Object.hasOwn(row, column) ? row[column] : null));
  }

  numbers(column: string, into: Float64Array, at: number, nameOf: (i: number) => string): boolean {
    const values = this.values(column);
    if (!values) return false;
    for (let i = 0; i < values.length; i++) into[at + i] = asNumber(values[i], column, () => nameOf(i));
    return true;
  }

  row(i: number): Record<string, unknown> {
    return { ...this.rows[i] };
  }
}

/** 10^k for k ≤ 22: each exact as a double, so m / 10^k is m·10^-k correctly rounded. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Digits in a number the fast path reads: below 10^15, every such integer is exact as a double. */
const FAST_DIGITS = 15;

/**
 * A CSV field as a number without cutting it out of the text, for the common shapes (`-12`,
 * `3.250`): undefined for anything else (an exponent, a leading zero, text, 16 digits or more),
 * which is then read as the rows view reads it. The value is the one Number() gives the text: both
 * the digits as an integer and the power of ten are exact, and one division rounds correctly.
 */
function fastNumber(text: string, from: number, to: number): number | undefined {
  let at = from;
  const negative = text.charCodeAt(at) === 45;
  if (negative) at++;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  // A leading zero is text unless it is the whole integer part (`007` keeps its digits).
  if (text.charCodeAt(at) === 48 && at + 1 < to && text.charCodeAt(at + 1) !== 46) return undefined;
  for (; at < to; at++) {
    const c = text.charCodeAt(at);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 && fraction < 0 && digits > 0) fraction = 0;
    else return undefined;
  }
  if (digits === 0 || digits > FAST_DIGITS || fraction === 0) return undefined;
  const value = fraction > 0 ? mantissa / (POWERS_OF_TEN[fraction] ?? 1) : mantissa;
  return negative ? -value : value;
}

/**
 * The rows of a CSV range without quotes, kept as its text and where each field starts: the rows
 * view's `plainRows` cut into offsets instead of objects. Field `j` of row `r` is the text from
 * `starts[r·(k+1)+j]` up to one before `starts[r·(k+1)+j+1]` (k columns; the last entry of a row
 * is one past its end).
 */
export class CsvSegment implements ColumnSegment {
  private readonly stride: number;
  /** Each column's place in a row: a lookup per call, not a scan (a wide table has 100,000 columns). */
  private readonly places: ReadonlyMap<string, number>;

  constructor(
    private readonly text: string,
    readonly columnNames: readonly string[],
    private readonly starts: Int32Array,
    readonly length: number,
  ) {
    this.stride = columnNames.length + 1;
    this.places = new Map(columnNames.map((column, j) => [column, j]));
  }

  /**
   * Field `j` of row `r` as the rows view types it. A number is read from the text where it can be,
   * without cutting a string out first: most fields of machine-written tables are numbers.
   */
  private value(r: number, j: number): unknown {
    const at = r * this.stride + j;
    const from = this.starts[at] ?? 0;
    const to = (this.starts[at + 1] ?? 1) - 1;
    return fastNumber(this.text, from, to) ?? typedField(this.text.slice(from, to));
  }

  values(column: string): unknown[] | undefined {
    const j = this.places.get(column);
    if (j === undefined) return undefined;
    const out: unknown[] = new Array(this.length);
    for (let r = 0; r < this.length; r++) out[r] = this.value(r, j);
    return out;
  }

  numbers(column: string, into: Float64Array, at: number, nameOf: (i: number) => string): boolean {
    const j = this.places.get(column);
    if (j === undefined) return false;
    for (let r = 0; r < this.length; r++) into[at + r] = asNumber(this.value(r, j), column, () => nameOf(r));
    return true;
  }

  row(r: number): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    this.columnNames.forEach((column, j) => define(row, column, this.value(r, j)));
    return row;
  }

  /**
   * Every row as an object (the rows view), each a copy of `template` (all rows share one shape, and
   * the stores only fill it: adding keys one by one to a fresh object costs twice as much).
   */
  rows(template: Record<string, unknown>): Record<string, unknown>[] {
    const { columnNames } = this;
    const width = columnNames.length;
    const rows = new Array<Record<string, unknown>>(this.length);
    for (let r = 0; r < this.length; r++) {
      const row = { ...template };
      for (let j = 0; j < width; j++) row[columnNames[j] ?? ''] = this.value(r, j);
      rows[r] = row;
    }
    return rows;
  }
}

/** Collects a range's field offsets as it is scanned, growing its buffer as rows come. */
export class FieldOffsets {
  private starts: Int32Array;
  private rows = 0;
  private readonly stride: number;

  constructor(columns: number, expectedRows = 1024) {
    this.stride = columns + 1;
    this.starts = new Int32Array(this.stride * expectedRows);
  }

  /** Room for one more row; returns where its offsets go. */
  next(): number {
    const base = this.rows * this.stride;
    if (base + this.stride > this.starts.length) {
      const grown = new Int32Array(this.starts.length * 2);
      grown.set(this.starts);
      this.starts = grown;
    }
    return base;
  }

  set(at: number, offset: number): void {
    this.starts[at] = offset;
  }

  /** The row whose offsets were just set is kept. */
  keep(): void {
    this.rows++;
  }

  segment(text: string, columns: readonly string[]): CsvSegment {
    return new CsvSegment(text, columns, this.starts, this.rows);
  }
}

/**
 * What run() receives in the columns view: the mini-batch's segments (one per range read, most
 * mini-batches have one) as one table. Columns are decoded when first asked for and kept: a
 * script reads the same array each time (and must not change it).
 */
export class TableColumns {
  readonly length: number;
  readonly columnNames: readonly string[];
  private readonly decoded = new Map<string, unknown[]>();
  private readonly numeric = new Map<string, Float64Array>();
  /** Row objects row() gave, by position: ctx.fail takes them as it takes positions. */
  private readonly given = new WeakMap<object, number>();
  /** The columns as a set: a lookup per call, not a scan (a wide table has 100,000 columns). */
  private readonly named: ReadonlySet<string>;

  constructor(
    private readonly segments: ColumnSegment[],
    /** A row's name (`file.csv#row=12`), for a message about it. */
    private readonly nameOf: (i: number) => string,
  ) {
    this.length = segments.reduce((n, s) => n + s.length, 0);
    const seen = new Set<string>();
    for (const segment of segments) for (const column of segment.columnNames) seen.add(column);
    this.columnNames = Object.freeze([...seen]);
    this.named = seen;
    // The script gets this object: the counts and names that decide its rows' fate are not its to change.
    Object.freeze(this);
  }

  private known(column: unknown, call: string): string {
    if (typeof column === 'string' && this.named.has(column)) return column;
    throw new TypeError(
      `${call}(${JSON.stringify(column)}): the mini-batch has no such column; its columns: ${listedColumns(this.columnNames)}`,
    );
  }

  /** The column's values in row order, as the rows view types them; null where a row lacks it. */
  column(name: string): readonly unknown[] {
    const column = this.known(name, 'column');
    let values = this.decoded.get(column);
    if (!values) {
      values = this.valuesOf(column);
      this.decoded.set(column, values);
    }
    return values;
  }

  /**
   * The column as numbers, ready for a tensor: an empty field (null) is NaN, a boolean 1 or 0. A
   * value that is text throws, naming its row: a silent NaN would score garbage.
   */
  numbers(name: string): Float64Array {
    const column = this.known(name, 'numbers');
    let values = this.numeric.get(column);
    if (!values) {
      values = new Float64Array(this.length).fill(Number.NaN);
      let at = 0;
      for (const segment of this.segments) {
        const offset = at;
        segment.numbers(column, values, at, (i) => this.nameOf(offset + i));
        at += segment.length;
      }
      this.numeric.set(column, values);
    }
    return values;
  }

  /** Row `i` as an object, as the rows view would give it. */
  row(i: number): Record<string, unknown> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new RangeError(`row(${String(i)}): the mini-batch's rows are 0 to ${this.length - 1}`);
    let at = i;
    for (const segment of this.segments) {
      if (at < segment.length) {
        const row = segment.row(at);
        this.given.set(row, i);
        return row;
      }
      at -= segment.length;
    }
    throw new RangeError(`row(${i}) is not in the mini-batch`);
  }

  /** The row ctx.fail names: by its position from 0, or a row object row() gave. */
  positionOf(item: unknown): number | undefined {
    if (typeof item === 'number')
      return Number.isInteger(item) && item >= 0 && item < this.length ? item : undefined;
    return typeof item === 'object' && item !== null ? this.given.get(item) : undefined;
  }

  /**
   * The column decoded afresh, not the array the script was given (it may have changed it): what
   * carry_columns joins to each result.
   */
  valuesOf(column: string): unknown[] {
    const [only] = this.segments;
    // Most mini-batches are one range: its values are the column, without a copy.
    if (only && this.segments.length === 1)
      return only.values(column) ?? new Array<unknown>(only.length).fill(null);
    const out: unknown[] = [];
    for (const segment of this.segments) {
      const values = segment.values(column) ?? new Array<unknown>(segment.length).fill(null);
      for (const value of values) out.push(value);
    }
    return out;
  }
}
