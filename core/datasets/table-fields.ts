/** A CSV field's text as a row value: what both the rows and the columns view hold. */

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Written as a whole number: no fraction and no exponent (`1e3` is a decimal's notation). */
export function isIntegerText(text: string): boolean {
  return !/[.eE]/.test(text);
}

/**
 * A CSV field typed as pandas would read it: a plain decimal number is a number, an empty field is
 * null, anything else stays text (so `007` and `1e999` keep their digits). An integer beyond 2^53
 * stays text too: as a number it would silently become another integer (an id or a join key), so
 * it follows the Parquet rule, 64-bit integers are numbers only when safe.
 */
export function typedField(text: string): string | number | null {
  if (text === '') return null;
  // Only a digit or a minus sign can start a number: most text is known as text without the pattern.
  const first = text.charCodeAt(0);
  if (first !== 45 && (first < 48 || first > 57)) return text;
  if (!NUMBER.test(text)) return text;
  const value = Number(text);
  if (!Number.isFinite(value)) return text;
  // The text is looked at again only for a whole value past 2^53: rare, and a decimal stays a number.
  if (Number.isInteger(value) && !Number.isSafeInteger(value) && isIntegerText(text)) return text;
  return value;
}

/** Columns a message lists by name; the rest are counted (a wide table has 100,000 of them). */
const COLUMNS_LISTED = 20;

/** A table's columns for a message: the first ones by name, and how many more. */
export function listedColumns(columns: readonly string[]): string {
  const shown = columns.slice(0, COLUMNS_LISTED).join(', ');
  const more = columns.length - COLUMNS_LISTED;
  return more > 0 ? `${shown} and ${more.toLocaleString('en-US')} more` : shown;
}
