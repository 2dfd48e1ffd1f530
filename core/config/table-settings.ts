import type { Given, Issues } from './issues.js';
import { listChoices } from './rules.js';

/** How append_row writes its rows (core/outputs/formats.ts). */
export type AppendRowFormat = 'text' | 'csv' | 'jsonl' | 'parquet';
export const APPEND_ROW_FORMATS: readonly AppendRowFormat[] = ['text', 'csv', 'jsonl', 'parquet'];

/** A Hive folder key (`species` in `species=setosa/`): a plain identifier. */
export const PARTITION_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
export const MAX_PARTITION_KEYS = 16;

/** At most this many columns are carried from each input row to its result (`carry_columns`). */
export const MAX_CARRY_COLUMNS = 32;
/** A carried column's name, as a table's header may spell it: any text but control characters. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
export const CARRY_COLUMN = /^[^\u0000-\u001f\u007f]{1,256}$/;

/** A list setting of tables: distinct names, each matching `name`, at most `max`. */
interface TableList {
  max: number;
  name: RegExp;
  /** What the setting does, said to a file dataset that gives it (after "applies to tables"). */
  appliesTo: string;
  /** The allowed lists, described, with an example. */
  allowed: string;
}

function readTableList(
  issues: Issues,
  at: Given | undefined,
  tabular: boolean,
  rule: TableList,
): string[] | undefined {
  if (at === undefined) return undefined;
  const list = at.value;
  if (!tabular) {
    issues.add(at.field, `applies to tables (input.type "table")${rule.appliesTo}`);
    return undefined;
  }
  const ok =
    Array.isArray(list) &&
    list.length > 0 &&
    list.length <= rule.max &&
    list.every((k) => typeof k === 'string' && rule.name.test(k)) &&
    new Set(list).size === list.length;
  if (!ok) {
    issues.notAllowed(at, rule.allowed);
    return undefined;
  }
  return list as string[];
}

/**
 * `partition_keys`: tables only, a list of distinct folder keys. Whether the layout has them is
 * checked against the dataset at submit (core/datasets/table-kind.ts).
 */
export function readPartitionKeys(
  issues: Issues,
  at: Given | undefined,
  tabular: boolean,
): string[] | undefined {
  return readTableList(issues, at, tabular, {
    max: MAX_PARTITION_KEYS,
    name: PARTITION_KEY,
    appliesTo: ', whose folders are laid out as key=value/',
    allowed: `use a list of 1 to ${MAX_PARTITION_KEYS} distinct folder keys (letters, digits, "_", "." and "-"), e.g. ["species"] for folders species=setosa/`,
  });
}

/**
 * `carry_columns`: tables only, written to the output (not `summary_only`), a list of distinct
 * column names. Whether the rows have them is checked as they are read (core/datasets/table-read.ts).
 */
export function readCarryColumns(
  issues: Issues,
  at: Given | undefined,
  tabular: boolean,
): string[] | undefined {
  return readTableList(issues, at, tabular, {
    max: MAX_CARRY_COLUMNS,
    name: CARRY_COLUMN,
    appliesTo: ': it copies columns of each input row to its result',
    allowed: `use a list of 1 to ${MAX_CARRY_COLUMNS} distinct column names of the input (1 to 256 characters, no control characters), e.g. ["id"]`,
  });
}

/** `append_row_format`: `csv` by default for tables (rows keep their columns), `text` for files. */
export function readAppendRowFormat(
  issues: Issues,
  at: Given | undefined,
  tabular: boolean,
): AppendRowFormat | undefined {
  const fallback = tabular ? 'csv' : undefined;
  if (at === undefined) return fallback;
  const format = APPEND_ROW_FORMATS.find((f) => f === at.value);
  if (format === undefined) {
    issues.notAllowed(
      at,
      `use one of ${listChoices(APPEND_ROW_FORMATS)} (text: one line per row; csv: a header and one line per row; jsonl: one JSON object per line; parquet: typed columns)`,
    );
    return fallback;
  }
  return format;
}
