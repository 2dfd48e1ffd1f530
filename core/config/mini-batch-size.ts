import type { Given, Issues } from './issues.js';
import type { MiniBatchSize } from './resolved.js';

/** ParallelRunStep's size syntax: a count, or bytes with a KB/MB/GB suffix (any case). */
const SIZE = /^(\d+)([kKmMgG][bB])?$/;
const BYTES_PER_UNIT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export const DEFAULT_FILES_PER_MINI_BATCH = 10;
/** As many files as an explicit `input.names` list may hold. */
export const MAX_FILES_PER_MINI_BATCH = 100_000;
export const MAX_BYTES_PER_MINI_BATCH = 100 * 1024 ** 3;
const FILES_ALLOWED = `use a whole number of files from 1 to ${MAX_FILES_PER_MINI_BATCH}, e.g. "${DEFAULT_FILES_PER_MINI_BATCH}"`;

/** A size as written: its amount (a whole number over 0, KB/MB/GB applied) and whether a unit said bytes. */
interface WrittenSize {
  amount: number;
  bytes: boolean;
  text: string;
}

/** The syntax of a size, before any limit: what a bare number counts is the input's to say. */
function writtenSize(value: unknown): WrittenSize | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const match = SIZE.exec(text);
  if (!match) return undefined;
  const [, digits = '', unit] = match;
  const amount =
    Number(digits) * (unit === undefined ? 1 : (BYTES_PER_UNIT[unit.charAt(0).toLowerCase()] ?? 0));
  if (amount <= 0 || !Number.isSafeInteger(amount)) return undefined;
  return { amount, bytes: unit !== undefined, text };
}

/** `5`, `"5"` → 5 files; `"1MB"` → 1,048,576 bytes; undefined for anything else, zero included. */
export function parseMiniBatchSize(value: unknown): MiniBatchSize | undefined {
  const size = writtenSize(value);
  if (size === undefined) return undefined;
  if (size.amount > (size.bytes ? MAX_BYTES_PER_MINI_BATCH : MAX_FILES_PER_MINI_BATCH)) return undefined;
  return size.bytes
    ? { kind: 'bytes', bytes: size.amount, text: size.text }
    : { kind: 'files', count: size.amount };
}

export const DEFAULT_TABLE_BYTES = 1024 ** 2;
/** A bare number for a table is bytes, as in ParallelRunStep; under this it is surely a file count given by mistake. */
const MIN_TABLE_BYTES = 1024;
const BYTES_ALLOWED =
  'for tables (input.type "table") use a byte size: a whole number of bytes from 1024, or with KB, MB or GB (1KB = 1024 bytes) up to "100GB", e.g. "1MB"';

/**
 * A table's size: bytes, with a unit or bare (as in ParallelRunStep), under the bytes limits: a bare
 * 1048576 is 1MB, not a file count over the files maximum.
 */
function readTableSize(issues: Issues, at: Given, fallback: MiniBatchSize): MiniBatchSize {
  const size = writtenSize(at.value);
  if (size === undefined || size.amount > MAX_BYTES_PER_MINI_BATCH) {
    issues.notAllowed(at, BYTES_ALLOWED);
    return fallback;
  }
  if (!size.bytes && size.amount < MIN_TABLE_BYTES) {
    issues.notAllowed(
      at,
      `a number of files applies to file inputs; ${BYTES_ALLOWED} (a bare number counts bytes, and ${size.amount} bytes would hold less than a row)`,
    );
    return fallback;
  }
  return { kind: 'bytes', bytes: size.amount, text: size.bytes ? size.text : String(size.amount) };
}

/**
 * Tables are cut by bytes, files by count (ParallelRunStep's rule): a size of the other form is a
 * mistake worth naming rather than a value to reinterpret.
 */
export function readMiniBatchSize(
  issues: Issues,
  at: Given | undefined,
  tabularInput: boolean,
): MiniBatchSize {
  const fallback: MiniBatchSize = tabularInput
    ? { kind: 'bytes', bytes: DEFAULT_TABLE_BYTES, text: '1MB' }
    : { kind: 'files', count: DEFAULT_FILES_PER_MINI_BATCH };
  if (at === undefined) return fallback;
  if (tabularInput) return readTableSize(issues, at, fallback);
  const size = parseMiniBatchSize(at.value);
  if (size === undefined) {
    issues.notAllowed(at, `${FILES_ALLOWED} (byte sizes such as "1MB" apply to tables, input.type "table")`);
    return fallback;
  }
  if (size.kind === 'bytes') {
    issues.notAllowed(at, `byte sizes apply to tables (input.type "table"); for files ${FILES_ALLOWED}`);
    return fallback;
  }
  return size;
}
