import { describe, expect, it } from 'vitest';
import { csvRows, typedField } from './table-rows.js';
import type { TableItem } from './table-items.js';

const item: TableItem = { file: 't.csv', unit: 'bytes', start: 0, end: 100 };
const lines = { delimiter: ',', linesAreRecords: true };

describe('csvRows', () => {
  it('reads lines without quotes by splitting them, CRLF and blank lines too, typed as pandas would', () => {
    const read = csvRows(item, '1,a,\r\n\r\n-2.5,007,x y\n3,1e3,1e999', ['n', 's', 'e'], lines);
    expect(read.rows).toEqual([
      { n: 1, s: 'a', e: null },
      { n: -2.5, s: '007', e: 'x y' },
      { n: 3, s: 1000, e: '1e999' },
    ]);
    expect(read.names.toArray()).toEqual(['t.csv#row=1', 't.csv#row=2', 't.csv#row=3']);
  });

  it('fails a ragged line alone, numbered among the records', () => {
    const read = csvRows(item, '1,a\n2\n3,c,d\n4,d\n', ['n', 's'], lines);
    expect(read.rows.map((r) => r.n)).toEqual([1, 4]);
    expect(read.failed).toEqual([
      { item: 't.csv#row=2', reason: 'has 1 fields; the header has 2 (n, s)' },
      { item: 't.csv#row=3', reason: 'has 3 fields; the header has 2 (n, s)' },
    ]);
  });

  it('keeps a column named __proto__ as a column, with quotes or without', () => {
    for (const text of ['1,2\n', '"1",2\n']) {
      const [row] = csvRows(item, text, ['__proto__', 'b'], lines).rows;
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(JSON.stringify(row)).toBe('{"__proto__":1,"b":2}');
    }
  });

  it('types only plain decimal numbers', () => {
    expect(['12', '-0.5', 'abc', '', ' 1', '0x10', '.5', 'Infinity'].map(typedField)).toEqual([
      12,
      -0.5,
      'abc',
      null,
      ' 1',
      '0x10',
      '.5',
      'Infinity',
    ]);
  });
});
