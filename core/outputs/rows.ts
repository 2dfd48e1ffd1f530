/**
 * One line per row: strings as they are, other values as JSON. A string with a line break is
 * written JSON-quoted, so one row always stays one line.
 */
export function rowToLine(row: unknown): string {
  if (typeof row === 'string') return /[\r\n]/.test(row) ? JSON.stringify(row) : row;
  if (typeof row === 'number' || typeof row === 'boolean') return String(row);
  return JSON.stringify(row ?? null);
}

export function rowsToText(rows: unknown[]): string {
  return rows.length === 0 ? '' : `${rows.map(rowToLine).join('\n')}\n`;
}

/**
 * A row's own value for a column; undefined where the row lacks it. Never an inherited member: a
 * row without `constructor` or `toString` has no such value (a plain lookup gives Object's own
 * functions, written out as `{}` or `undefined`).
 */
export function fieldOf(row: Record<string, unknown>, column: string): unknown {
  return Object.hasOwn(row, column) ? row[column] : undefined;
}
