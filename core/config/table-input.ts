import { given, rejectUnknownKeys, type Given, type Issues, type JsonObject } from './issues.js';
import { GLOB_RULE, readPath } from './paths.js';
import { listChoices } from './rules.js';
import type { TableFormat, TableInput } from './resolved.js';

export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'jsonl', 'parquet'];
const TABLE_INPUT_KEYS = [
  'type',
  'container',
  'path',
  'glob',
  'format',
  'header',
  'delimiter',
  'newlines_in_quotes',
];
/** Options that only make sense for CSV files. */
const CSV_KEYS = ['header', 'delimiter', 'newlines_in_quotes'];

function readBoolean(issues: Issues, at: Given | undefined, allowed: string): boolean | undefined {
  if (at === undefined) return undefined;
  if (typeof at.value === 'boolean') return at.value;
  issues.notAllowed(at, `use true or false: ${allowed}`);
  return undefined;
}

function readFormat(issues: Issues, at: Given | undefined): TableFormat | undefined {
  if (at === undefined) return undefined;
  const format = TABLE_FORMATS.find((f) => f === at.value);
  if (format === undefined) {
    issues.notAllowed(
      at,
      `use one of ${listChoices(TABLE_FORMATS)}, or leave it out to go by each file's extension`,
    );
  }
  return format;
}

function readDelimiter(issues: Issues, at: Given | undefined): string | undefined {
  if (at === undefined) return undefined;
  if (typeof at.value === 'string' && at.value.length === 1 && !/["\r\n]/.test(at.value)) return at.value;
  issues.notAllowed(
    at,
    'use one character other than a quote or a line break, e.g. ";" or "\\t" (one that JavaScript holds in one code unit: an emoji takes two)',
  );
  return undefined;
}

/**
 * `input` with `"type": "table"`: CSV, JSON Lines or Parquet files under a container path (the
 * location itself is read by the caller, as for files).
 */
export function readTableInput(issues: Issues, obj: JsonObject, container: string, path: string): TableInput {
  if (Object.hasOwn(obj, 'local_path')) {
    issues.add('input.local_path', 'tables are read from blob storage: give input.container and input.path');
  }
  rejectUnknownKeys(issues, obj, [...TABLE_INPUT_KEYS, 'local_path'], 'input.');
  const glob = given(obj, 'glob', 'input.');
  const format = readFormat(issues, given(obj, 'format', 'input.'));
  const header = readBoolean(
    issues,
    given(obj, 'header', 'input.'),
    'whether the first line names the columns',
  );
  const delimiter = readDelimiter(issues, given(obj, 'delimiter', 'input.'));
  const newlines = readBoolean(
    issues,
    given(obj, 'newlines_in_quotes', 'input.'),
    'whether quoted CSV fields may hold line breaks (files are then not split)',
  );
  if (format !== undefined && format !== 'csv') {
    for (const key of CSV_KEYS.filter((k) => Object.hasOwn(obj, k)))
      issues.add(`input.${key}`, `applies to CSV files only, not to input.format "${format}"`);
  }
  const pattern = glob === undefined ? undefined : readPath(issues, glob, GLOB_RULE);
  return {
    type: 'table',
    container,
    path,
    ...(pattern === undefined ? {} : { glob: pattern }),
    ...(format === undefined ? {} : { format }),
    ...(header === undefined ? {} : { header }),
    ...(delimiter === undefined ? {} : { delimiter }),
    ...(newlines === undefined ? {} : { newlines_in_quotes: newlines }),
  };
}
