import { describe, expect, it } from 'vitest';
import { errorOf, failureRecord, type FailedItem } from './records.js';

describe('failureRecord', () => {
  it('holds the error most items failed with once: a failed range of 600,000 rows stays a record JSON can write', () => {
    const error = `TypeError: ${'x'.repeat(200)}`;
    const stack = `${error}\n${'    at run (<scripts>/score.js:1:1)\n'.repeat(25)}`;
    const items: FailedItem[] = Array.from({ length: 600_000 }, (_, i) => ({
      item: `a.csv#row=${i + 1}`,
      error,
      kind: 'try',
      stack,
    }));
    items.unshift({
      item: 'a.csv#row=0',
      error: 'has 2 fields; the header has 3 (a, b, c)',
      kind: 'missing',
    });
    const record = failureRecord(3, 3, items);
    const text = JSON.stringify(record);
    // Each item with its own message and stack made 600,000 × 1.2 KB, past V8's largest string
    // (about 512 MB); held once, the record is its items' names.
    expect((error.length + stack.length) * items.length).toBeGreaterThan(2 ** 29);
    expect(text.length).toBeLessThan(40 * 2 ** 20);
    const read = JSON.parse(text) as typeof record;
    expect(read.sharedError).toEqual({ error, stack });
    expect(read.items[1]).toEqual({ item: 'a.csv#row=1', kind: 'try' });
    expect(errorOf(read, read.items[600_000] as FailedItem)).toEqual({ error, stack });
    expect(errorOf(read, read.items[0] as FailedItem)).toEqual({
      error: 'has 2 fields; the header has 3 (a, b, c)',
    });
  });

  it('leaves a record of errors that all differ as it is, and reads a record written before sharing', () => {
    const items: FailedItem[] = [
      { item: 'a.png', error: 'corrupt', kind: 'named' },
      { item: 'b.png', error: 'empty', kind: 'named' },
    ];
    expect(failureRecord(0, 1, items)).toEqual({ index: 0, attempts: 1, items });
    expect(
      errorOf({ index: 0, attempts: 1, items }, { item: 'c.png', error: 'x', kind: 'try', stack: 's' }),
    ).toEqual({
      error: 'x',
      stack: 's',
    });
  });
});
