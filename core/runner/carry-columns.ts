import type { NamedFailure } from './messages.js';

/** The inputs' carried columns: how many inputs, and the value of carried column `c` in input `i`. */
export interface Carried {
  count: number;
  columns: string[];
  valueAt(i: number, c: number): unknown;
}

/** Carried columns read from row objects. */
export function rowsCarried(inputs: unknown[], columns: string[]): Carried {
  return {
    count: inputs.length,
    columns,
    valueAt: (i, c) => (inputs[i] as Record<string, unknown>)[columns[c] ?? ''],
  };
}

/**
 * carry_columns (README, "Tabular datasets"): each result row gets the key columns of the input row
 * it scored, so outputs join back to inputs without the script copying them.
 *
 * Results are matched to inputs by position: run() returns one result per row it was given, in
 * order, leaving out the rows it failed with ctx.fail(row, reason). A row count that does not fit
 * that (a row dropped without ctx.fail) cannot be joined: the try fails, naming the counts. Object
 * results get the carried columns first, then their own; a result column of the same name must
 * hold the same value (a script echoing `id` is fine), otherwise the try fails naming both. Any
 * other result (a string, a number, a list) becomes `{...carried, value: result}`.
 */
export function joinCarried(
  inputs: Carried,
  rows: unknown[],
  failures: NamedFailure[],
  /** The name of input `i`, asked for only to say which result could not be joined. */
  nameOf: (i: number) => string | undefined,
): { rows: unknown[] } | { error: string } {
  const failed = new Set<number>();
  for (const f of failures) if (f.index !== undefined) failed.add(f.index);
  if (rows.length !== inputs.count - failed.size) {
    return {
      error: `carry_columns joins results to rows by position: run() must return one result per row it was given, in order, leaving out only rows failed with ctx.fail(row, reason); it returned ${rows.length} results for ${inputs.count} rows, ${failed.size} of them failed with ctx.fail`,
    };
  }
  const joined: unknown[] = new Array(rows.length);
  let at = 0;
  for (let i = 0; i < inputs.count; i++) {
    if (failed.has(i)) continue;
    const row = joinOne(inputs, i, rows[at]);
    if (typeof row === 'string') return { error: `${row} (the result for ${nameOf(i) ?? `row ${i + 1}`})` };
    joined[at++] = row;
  }
  return { rows: joined };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Values the same as JSON would write them (numbers, strings, null; nested values by their JSON). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One result with its input's carried columns first; a clash is an error message. */
function joinOne(inputs: Carried, i: number, result: unknown): Record<string, unknown> | string {
  const row: Record<string, unknown> = {};
  inputs.columns.forEach((column, c) => define(row, column, inputs.valueAt(i, c) ?? null));
  if (!isRecord(result)) {
    // As an object result's `value` would be: the same value is kept once.
    if (!Object.hasOwn(row, 'value')) define(row, 'value', result);
    else if (!sameValue(row.value, result)) return clash('value', row.value, result);
    return row;
  }
  for (const [key, value] of Object.entries(result)) {
    if (!Object.hasOwn(row, key)) define(row, key, value);
    else if (!sameValue(row[key], value)) return clash(key, row[key], value);
  }
  return row;
}

function clash(column: string, carried: unknown, result: unknown): string {
  const shown = result === undefined ? 'undefined' : JSON.stringify(result);
  return `carry_columns: the result's column "${column}" is ${shown} where the input row's carried "${column}" is ${JSON.stringify(carried)}; rename the result's column, or leave "${column}" out of carry_columns`;
}

/** Defined, not assigned: a column named `__proto__` stays a column. */
function define(row: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(row, key, { value, enumerable: true, writable: true, configurable: true });
}
