import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { Materialized } from '../datasets/kind.js';
import { errorOf, shareErrors } from '../outputs/records.js';
import { failedItemsOf } from './failed-items.js';

/** A table's mini-batch of `n` rows as the worker holds it (names only: the rows are not read here). */
function rows(n: number): Materialized {
  const names = Array.from({ length: n }, (_, i) => `a.csv#row=${i + 1}`);
  return { inputs: new Array<unknown>(n).fill({}), names, missing: [] };
}

describe('the error lines of a try, as the worker sends them', () => {
  it('sends one message for 200,000 rows left without a result and unnamed, not one a row', () => {
    const fetched = rows(200_000);
    const failed = failedItemsOf(fetched, [], []);
    expect(failed).toHaveLength(200_000);
    const { items, sharedError } = shareErrors(failed);
    expect(sharedError?.error).toBe(
      'run() returned 0 rows for 200000 inputs and none for this item; name failures with ctx.fail(item, reason)',
    );
    expect(items[7]).toEqual({ item: 'a.csv#row=8', kind: 'unknown' });
    // What crosses to the host: the lines' names, and the message once (each line's own copy of
    // its 100-character message made this over 20 MB).
    const sent = serialize({ failed: items, sharedError }).length;
    expect(sent).toBeLessThan(8 * 2 ** 20);
    expect(sent).toBeLessThan(200_000 * (sharedError?.error.length ?? 0));
    expect(
      errorOf(
        { index: 0, attempts: 1, items, ...(sharedError ? { sharedError } : {}) },
        items[7] ?? { item: '', kind: 'unknown' },
      ),
    ).toEqual({
      error: sharedError?.error,
    });
  });
});
