import { describe, expect, it, vi } from 'vitest';
import { typedField } from './table-fields.js';
import { RowNames, csvRows, firstRecordFieldCount, jsonlRows } from './table-rows.js';
import type { TableItem } from './table-items.js';

const item: TableItem = { file: 't.csv', unit: 'bytes', start: 0, end: 100 };
const lines = { delimiter: ',', linesAreRecords: true };

describe('RowNames', () => {
  it('names rows numbered one after another, then with a gap, by position', () => {
    const names = RowNames.of(item);
    for (const n of [3, 4, 5, 7, 8]) names.add(n);
    expect(names.toArray()).toEqual([
      't.csv#row=3',
      't.csv#row=4',
      't.csv#row=5',
      't.csv#row=7',
      't.csv#row=8',
    ]);
    expect([names.at(2), names.at(3), names.at(5), names.at(-1)]).toEqual([
      't.csv#row=5',
      't.csv#row=7',
      undefined,
      undefined,
    ]);
    expect(names.only([4, 0, 9]).toArray()).toEqual(['t.csv#row=8', 't.csv#row=3']);
  });

  it('names consecutive rows by position without a gap, and none past them', () => {
    const names = RowNames.of({ ...item, start: 10 });
    for (const n of [1, 2, 3]) names.add(n);
    expect([names.at(0), names.at(2), names.at(3), names.at(1.5)]).toEqual([
      't.csv#bytes=10-100&row=1',
      't.csv#bytes=10-100&row=3',
      undefined,
      undefined,
    ]);
    expect(names.only([2, 1]).toArray()).toEqual(['t.csv#bytes=10-100&row=3', 't.csv#bytes=10-100&row=2']);
    expect(RowNames.of(item).toArray()).toEqual([]);
  });
});

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

  it('keeps an integer beyond 2^53 as its text, decimals and safe integers as numbers', () => {
    expect(
      [
        '12345678901234567890',
        '-12345678901234567890',
        '9007199254740992',
        '9007199254740991',
        '-9007199254740991',
        '12345678901234567890.5',
        '1e20',
      ].map(typedField),
    ).toEqual([
      '12345678901234567890',
      '-12345678901234567890',
      '9007199254740992',
      9007199254740991,
      -9007199254740991,
      Number('12345678901234567890.5'),
      1e20,
    ]);
    const read = csvRows(item, '12345678901234567890,x\n"18446744073709551615",y\n', ['id', 's'], lines);
    expect(read.rows.map((r) => r.id)).toEqual(['12345678901234567890', '18446744073709551615']);
  });

  it('numbers a line of spaces as a record in every path: the line-by-line fallback too', () => {
    const ragged = { item: 't.csv#row=2', reason: 'has 1 fields; the header has 2 (n, s)' };
    // Unquoted: the fast path.
    const fast = csvRows(item, '1,a\n   \n3,c\n4,d\n', ['n', 's'], lines);
    expect(fast.names.toArray()).toEqual(['t.csv#row=1', 't.csv#row=3', 't.csv#row=4']);
    expect(fast.failed).toEqual([ragged]);
    // A quote error: csv-parse fails the whole text, which is then read line by line.
    const fallback = csvRows(item, '1,a\n   \n"x"y,1\n4,d\n', ['n', 's'], lines);
    expect(fallback.names.toArray()).toEqual(['t.csv#row=1', 't.csv#row=4']);
    expect(fallback.failed[0]).toEqual(ragged);
    expect(fallback.failed[1]?.item).toBe('t.csv#row=3');
    expect(fallback.failed[1]?.reason).toMatch(/^malformed CSV record: .*quote/i);
  });

  it('reads a one-column range in work linear in its length: no line searches the rest for a delimiter', () => {
    // Searching on from each line for a comma the text never holds read the rest of the text again,
    // each line: 800,000 one-character rows (1.6 MB) took 6 s. Counted here as characters searched.
    const text = '1\n'.repeat(10_000);
    // The builtin itself, taken before the spy replaces it.
    const indexOf = Reflect.get<object, string>(String.prototype, 'indexOf') as (
      this: string,
      search: string,
      from?: number,
    ) => number;
    let searched = 0;
    const spy = vi.spyOn(String.prototype, 'indexOf').mockImplementation(function (
      this: string,
      search: string,
      from?: number,
    ) {
      const at = indexOf.call(this, search, from);
      if (this.length === text.length) searched += (at < 0 ? this.length : at) - (from ?? 0);
      return at;
    });
    try {
      for (const view of ['rows', 'columns'] as const) {
        const read = csvRows(item, text, ['x'], lines, view);
        expect(read.segment?.length ?? read.rows.length).toBe(10_000);
      }
    } finally {
      spy.mockRestore();
    }
    // Each view looks for line breaks and for delimiters: each character at most twice per view.
    expect(searched).toBeLessThanOrEqual(4 * text.length);
    // The same cut with a delimiter found lines later: a ragged line among one-field ones.
    const mixed = csvRows(item, 'a\nb\nc,d\ne\n', ['x'], lines);
    expect(mixed.rows).toEqual([{ x: 'a' }, { x: 'b' }, { x: 'e' }]);
    expect(mixed.failed).toEqual([{ item: 't.csv#row=3', reason: 'has 2 fields; the header has 1 (x)' }]);
  });

  it('keeps room for the offsets of the rows a wide range can hold, not of a thousand', () => {
    const columns = Array.from({ length: 100_000 }, (_, i) => `c${i}`);
    const text = `${columns.map((_, i) => i % 10).join(',')}\n`;
    const before = process.memoryUsage().arrayBuffers;
    const read = csvRows(item, text, columns, lines, 'columns');
    // One row of 100,001 offsets (0.4 MB); room for 1,024 rows was 410 MB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(20 * 2 ** 20);
    expect(read.segment?.length).toBe(1);
    expect(csvRows(item, text, columns, lines).rows[0]?.c99999).toBe(9);
  });

  it('reads LF and CRLF lines alike where a quote sends the text to csv-parse', () => {
    const mixed = '1,"a"\n\r\n2,b\r\n3,"c"\n';
    const quoted = csvRows(item, mixed, ['n', 's'], lines);
    const plain = csvRows(item, mixed.replaceAll('"', ''), ['n', 's'], lines);
    expect(quoted.rows).toEqual([
      { n: 1, s: 'a' },
      { n: 2, s: 'b' },
      { n: 3, s: 'c' },
    ]);
    expect(quoted.names.toArray()).toEqual(['t.csv#row=1', 't.csv#row=2', 't.csv#row=3']);
    expect(plain.rows).toEqual(quoted.rows);
    expect(quoted.failed).toEqual([]);
  });

  it('fails each line of a quoted line break alike, whole or cut, and says which option reads it', () => {
    // Without newlines_in_quotes a line is a record: a range holding the whole record must not read
    // it as one row while a range cut inside it fails its lines (the rows then changed with mini_batch_size).
    const text = '1,"multi\nline 1",0\n2,plain,3\n';
    const whole = csvRows(item, text, ['n', 's', 'k'], lines);
    expect(whole.rows).toEqual([{ n: 2, s: 'plain', k: 3 }]);
    expect(whole.failed.map((f) => f.item)).toEqual(['t.csv#row=1', 't.csv#row=2']);
    expect(whole.names.toArray()).toEqual(['t.csv#row=3']);
    expect(whole.failed[0]?.reason).toContain('set input.newlines_in_quotes');
    const [first, second] = ['1,"multi\n', 'line 1",0\n2,plain,3\n'].map((part) =>
      csvRows(item, part, ['n', 's', 'k'], lines),
    );
    expect(first?.failed.map((f) => f.reason)).toEqual([whole.failed[0]?.reason]);
    expect(second?.rows).toEqual(whole.rows);
    expect(second?.failed).toHaveLength(1);
  });
});

describe('firstRecordFieldCount (a CSV without a header)', () => {
  it("counts the first record's fields, repeated values and blank lines before it too", () => {
    expect(firstRecordFieldCount('0,0\n1,1\n', lines)).toBe(2);
    expect(firstRecordFieldCount('\n\r\n1,1,1\n2\n', lines)).toBe(3);
    expect(firstRecordFieldCount('a\tb\n', { ...lines, delimiter: '\t' })).toBe(2);
    expect(firstRecordFieldCount('\n\n', lines)).toBeUndefined();
  });

  it('counts a first record that cannot be read as CSV by its fields all the same', () => {
    expect(firstRecordFieldCount('"a"x,b,c\n1,2,3\n', lines)).toBe(3);
    expect(firstRecordFieldCount('"a,b,c\n1,2,3\n', lines)).toBe(3);
  });

  it('reads a first record over several lines where quoted fields may hold line breaks', () => {
    expect(firstRecordFieldCount('a,"b\nc",d\n1,2,3\n', { delimiter: ',', linesAreRecords: false })).toBe(3);
  });
});

describe('csvRows with quoted line breaks (newlines_in_quotes)', () => {
  const quoted = { delimiter: ',', linesAreRecords: false };
  const read = (text: string) => {
    const r = csvRows(item, text, ['n', 's'], quoted);
    return { rows: r.rows, names: r.names.toArray(), failed: r.failed.map((f) => f.item) };
  };

  it('fails a record with a stray quote alone: the good record after it is read', () => {
    expect(read('1,a\n\n2,"b\nc"\n3,"d"e\r\n4,f\n')).toEqual({
      rows: [
        { n: 1, s: 'a' },
        { n: 2, s: 'b\nc' },
        { n: 4, s: 'f' },
      ],
      names: ['t.csv#row=1', 't.csv#row=2', 't.csv#row=4'],
      failed: ['t.csv#row=3'],
    });
  });

  it('reads the rows after a quote that is never closed, instead of taking them into it', () => {
    const r = csvRows(item, '1,a\n2,"b\n\n3,c\n4,d\n', ['n', 's'], quoted);
    expect(r.rows).toEqual([
      { n: 1, s: 'a' },
      { n: 3, s: 'c' },
      { n: 4, s: 'd' },
    ]);
    expect(r.failed).toEqual([
      {
        item: 't.csv#row=2',
        reason: expect.stringMatching(/a quote opened in it is never closed/) as unknown,
      },
    ]);
  });

  it('fails each line past 1,000 broken quotes unread: counted, none dropped', () => {
    const r = csvRows(item, `${'1,"x"y\n'.repeat(1_200)}${'2,ok\n'.repeat(500)}`, ['n', 's'], quoted);
    expect(r.rows.length + r.failed.length).toBe(1_700);
    expect(r.failed.at(-1)?.reason).toMatch(/not read: this range has more than 1000 broken quoted records/);
    expect(r.failed.at(-1)?.item).toBe('t.csv#row=1700');
  });
});

describe('jsonlRows', () => {
  const jsonl: TableItem = { file: 't.jsonl', unit: 'bytes', start: 0, end: 100 };

  it('keeps an integer past 2^53 as its digits, as CSV and Parquet do; other numbers stay numbers', () => {
    const read = jsonlRows(
      jsonl,
      [
        '{"id": 9007199254740993, "score": 0.5, "tags": [18446744073709551615, 2], "note": "12345678901234567890"}',
        '{"id": 9007199254740991, "score": 0.12345678901234567, "big": 1e20, "neg": -12345678901234567890}',
        '{"id": 7}',
      ].join('\n'),
    );
    expect(read.failed).toEqual([]);
    expect(read.rows).toEqual([
      { id: '9007199254740993', score: 0.5, tags: ['18446744073709551615', 2], note: '12345678901234567890' },
      { id: 9007199254740991, score: Number('0.12345678901234567'), big: 1e20, neg: '-12345678901234567890' },
      { id: 7 },
    ]);
  });

  it('keeps a number past the range of a double as its text, as CSV does, rather than Infinity', () => {
    const read = jsonlRows(jsonl, '{"x": 1e999, "y": -1E+400, "z": 1e308, "w": 1e-999}\n{"x": 2.5e10}\n');
    expect(read.failed).toEqual([]);
    expect(read.rows).toEqual([{ x: '1e999', y: '-1E+400', z: 1e308, w: 0 }, { x: 2.5e10 }]);
    expect(read.rows[0]).toEqual({ x: typedField('1e999'), y: typedField('-1E+400'), z: 1e308, w: 0 });
  });

  it('keeps the last value of a key given twice, on either parser', () => {
    const read = jsonlRows(
      jsonl,
      '{"a": 1, "a": 2}\n{"a": 1, "a": 2, "n": 12345678901234567890}\n{"a": 3, "x": 1e999, "a": 4}\n',
    );
    expect(read.failed).toEqual([]);
    expect(read.rows).toEqual([{ a: 2 }, { a: 2, n: '12345678901234567890' }, { a: 4, x: '1e999' }]);
  });

  it('fails a malformed line alone, on either parser', () => {
    const read = jsonlRows(jsonl, '{"id": 1}\n{"id": 12345678901234567890,\n{"id": 2\n[1]\n');
    expect(read.rows).toEqual([{ id: 1 }]);
    expect(read.failed.map((f) => f.item)).toEqual(['t.jsonl#row=2', 't.jsonl#row=3', 't.jsonl#row=4']);
    expect(read.failed.map((f) => f.reason.slice(0, 9))).toEqual(['not JSON:', 'not JSON:', 'not a JSO']);
  });
});
