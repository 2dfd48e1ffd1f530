import path from 'node:path';
import { inputCount, type Materialized } from '../datasets/kind.js';
import type { FailureRecord } from '../outputs/records.js';
import type { NamedFailure } from './messages.js';

/**
 * The error lines of a try that ran: inputs that could not be read, those the script named with
 * ctx.fail (by position, or by the path or row text it passed), then any it left without a row
 * and unnamed.
 */
export function failedItemsOf(
  fetched: Materialized,
  rows: unknown[],
  failures: NamedFailure[],
): FailureRecord['items'] {
  const items: FailureRecord['items'] = fetched.missing.map((m) => ({
    item: m.item,
    error: m.reason,
    kind: 'missing',
  }));
  const named = new Map<string, string>();
  for (const f of failures) {
    // By position when the script passed the input itself; by text (a path) only otherwise.
    const byText = f.index === undefined ? fetched.inputs.indexOf(f.item) : -1;
    const at = f.index ?? (byText >= 0 ? byText : undefined);
    const name = at === undefined ? undefined : fetched.names[at];
    if (name !== undefined) named.set(name, f.reason);
  }
  for (const [item, reason] of named) items.push({ item, error: reason, kind: 'named' });
  const unknown = inputCount(fetched) - rows.length - named.size;
  if (unknown > 0)
    // One by one: a spread of a table's hundreds of thousands of lines is more arguments than a call takes.
    for (const item of unnamedFailures(fetched.names, rows, new Set(named.keys()), unknown)) items.push(item);
  return items;
}

/** A table's mini-batch holds thousands of rows: an error line names a few candidates, not all. */
const CANDIDATES_SHOWN = 20;

/**
 * Looking for each candidate in each row's text costs their product: past this (a table's
 * mini-batch of thousands of rows), the candidates are listed instead of searched for.
 */
const MENTION_SEARCH_LIMIT = 1_000_000;

/**
 * run() returned fewer rows than inputs without naming which failed. When the rows carry the file
 * names (as `<file>: <digit>` does), the items no row mentions are exactly the failed ones; otherwise
 * the count is known but not the items, and each line lists the candidates.
 */
function unnamedFailures(
  names: readonly string[],
  rows: unknown[],
  accounted: Set<string>,
  unknown: number,
): FailureRecord['items'] {
  const candidates = names.filter((n) => !accounted.has(n));
  const unmentioned =
    candidates.length * rows.length > MENTION_SEARCH_LIMIT ? [] : unmentionedIn(rows, candidates);
  const why = `run() returned ${rows.length} rows for ${names.length} inputs`;
  const shown = candidates.slice(0, CANDIDATES_SHOWN).join(', ');
  const more =
    candidates.length > CANDIDATES_SHOWN ? ` and ${candidates.length - CANDIDATES_SHOWN} more` : '';
  // One message for all the lines, made once: a mini-batch of a million rows has as many lines.
  if (unmentioned.length === unknown) {
    const error = `${why} and none for this item; name failures with ctx.fail(item, reason)`;
    return unmentioned.map((item) => ({ item, kind: 'unknown', error }));
  }
  const error = `${why}; ${unknown} of these failed without being named: ${shown}${more}`;
  return Array.from({ length: unknown }, (_, k) => ({
    item: `(unidentified ${k + 1} of ${unknown})`,
    kind: 'unknown' as const,
    error,
  }));
}

/** The candidates no row's text mentions (by file name). */
function unmentionedIn(rows: unknown[], candidates: string[]): string[] {
  const text = rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
  return candidates.filter((n) => !text.some((t) => t.includes(path.basename(n))));
}
