import { describe, expect, it, vi } from 'vitest';
import { RowsSegment, TableColumns } from './table-columns.js';
import { typedField } from './table-fields.js';
import type { TableItem } from './table-items.js';
import { csvRows, jsonlRows } from './table-rows.js';

const item: TableItem = { file: 't.csv', unit: 'bytes', start: 0, end: 100 };
const lines = { delimiter: ',', linesAreRecords: true };

/** The same CSV text read both ways. */
function bothViews(text: string, columns: string[], delimiter = ',') {
  const options = { delimiter, linesAreRecords: true };
  const rows = csvRows(item, text, columns, options);
  const read = csvRows(item, text, columns, options, 'columns');
  const segment = read.segment;
  if (!segment) throw new Error('a CSV range without quotes is read as a segment');
  const names = read.names;
  return { rows, read, table: new TableColumns([segment], (i) => names.at(i) ?? '') };
}

/** Every value the columns view holds, row by row, as the rows view would give it. */
function asRows(table: TableColumns): Record<string, unknown>[] {
  return Array.from({ length: table.length }, (_, i) =>
    Object.fromEntries(table.columnNames.map((c) => [c, table.column(c)[i]])),
  );
}

const tricky = [
  '1,a,',
  '',
  '-2.5,007,x y\r',
  '3,1e3,1e999',
  '-0,0.1,00',
  '9007199254740993,12345678901234567890.5,0.30000000000000004',
  '-,1.,.5',
  '123456789012345,1234567890123456,0.000000000000001',
  '0,-0.0,999999999999999.9',
  ' 1,1 ,Infinity',
  '4,5',
].join('\n');

describe('the columns view of a CSV range', () => {
  it('holds exactly the values and failures of the rows view, numbers typed alike', () => {
    const { rows, read, table } = bothViews(tricky, ['n', 's', 'e']);
    expect(table.length).toBe(rows.rows.length);
    expect(table.columnNames).toEqual(['n', 's', 'e']);
    const got = asRows(table);
    // Object.is: -0 stays -0, as Number() reads it.
    got.forEach((row, i) => {
      for (const c of ['n', 's', 'e']) expect(Object.is(row[c], rows.rows[i]?.[c])).toBe(true);
    });
    expect(read.failed).toEqual(rows.failed);
    expect(read.names.toArray()).toEqual(rows.names.toArray());
    expect(Array.from({ length: table.length }, (_, i) => table.row(i))).toEqual(rows.rows);
    // Both views read numbers from the text itself: each value is what typedField makes of its field.
    const records = tricky
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line !== '' && line.split(',').length === 3);
    const typed = records.map((line) => line.split(',').map(typedField));
    rows.rows.forEach((row, i) =>
      ['n', 's', 'e'].forEach((c, j) => expect(Object.is(row[c], typed[i]?.[j])).toBe(true)),
    );
  });

  it('reads a numeric column as numbers: empty fields NaN, exactly the value Number() gives the text', () => {
    const fields = ['0.1', '', '-2.5', '3', '1e3', '123456789.123456', '0.30000000000000004', '-0'];
    const { table } = bothViews(fields.map((f) => `${f},k`).join('\n'), ['x', 'k']);
    const numbers = Array.from(table.numbers('x'));
    expect(numbers).toEqual([0.1, Number.NaN, -2.5, 3, 1000, 123456789.123456, 0.30000000000000004, -0]);
    expect(Object.is(numbers[7], -0)).toBe(true);
  });

  it('agrees with Number() on every short decimal it reads itself', () => {
    const texts: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = ((i * 2654435761) >>> 0) / 4294967296;
      texts.push((x * 10 ** (i % 9)).toFixed(i % 16), (-x * 1000).toFixed(3), String(i));
    }
    const { table } = bothViews(texts.join('\n'), ['x']);
    const numbers = table.numbers('x');
    texts.forEach((t, i) => expect(Object.is(numbers[i], Number(t))).toBe(true));
  });

  it('refuses text in numbers(), naming the column and the row, and an unknown column, naming the columns', () => {
    const { table } = bothViews('1,a\n2,007\n', ['n', 's']);
    expect(() => table.numbers('s')).toThrow(
      'numbers("s"): t.csv#row=1 holds "a", not a number; numbers() reads numbers, empty fields (NaN) and booleans (1, 0): read it with column("s")',
    );
    expect(() => table.column('nope')).toThrow(
      'column("nope"): the mini-batch has no such column; its columns: n, s',
    );
    expect(() => table.row(2)).toThrow("row(2): the mini-batch's rows are 0 to 1");
  });

  it('gives the same array on every call, decoded once', () => {
    const { table } = bothViews('1,a\n2,b\n', ['n', 's']);
    expect(table.column('s')).toBe(table.column('s'));
    expect(table.numbers('n')).toBe(table.numbers('n'));
    // What carry_columns joins is read afresh: a script that changed its array changes nothing there.
    (table.column('n') as unknown[])[0] = 99;
    expect(table.valuesOf('n')).toEqual([1, 2]);
  });

  it('finds the row ctx.fail names: a position, or an object row() gave; nothing else', () => {
    const { table } = bothViews('1,a\n2,b\n', ['n', 's']);
    const row = table.row(1);
    expect([0, 1, 2, -1, 0.5, '1', row, { ...row }, null].map((item) => table.positionOf(item))).toEqual([
      0,
      1,
      undefined,
      undefined,
      undefined,
      undefined,
      1,
      undefined,
      undefined,
    ]);
  });

  it('cannot be changed by the script: its length and columns are the reader’s', () => {
    const { table } = bothViews('1,a\n2,b\n', ['n', 's']);
    expect(() => Object.assign(table, { length: 0 })).toThrow(TypeError);
    expect(() => (table.columnNames as string[]).push('x')).toThrow(TypeError);
    expect([table.length, table.columnNames]).toEqual([2, ['n', 's']]);
  });

  it('keeps a column named __proto__ a column in its rows', () => {
    const { table } = bothViews('1,2\n', ['__proto__', 'b']);
    expect(table.column('__proto__')).toEqual([1]);
    expect(JSON.stringify(table.row(0))).toBe('{"__proto__":1,"b":2}');
  });

  it('reads a tab-separated range at its delimiter', () => {
    const { rows, table } = bothViews('1\ta b\t2.5\n', ['n', 's', 'x'], '\t');
    expect(asRows(table)).toEqual(rows.rows);
  });
});

describe('the columns view of a wide table', () => {
  it('finds each of 50,000 columns by a lookup, never a scan of the names', () => {
    const names = Array.from({ length: 50_000 }, (_, i) => `c${i}`);
    const line = names.map((_, i) => i % 10).join(',');
    const csv = csvRows(item, `${line}\n${line}\n`, names, lines, 'columns');
    const jsonl = jsonlRows(item, `${JSON.stringify(Object.fromEntries(names.map((c, i) => [c, i])))}\n`);
    if (!csv.segment) throw new Error('a CSV range without quotes is read as a segment');
    const table = new TableColumns([csv.segment, new RowsSegment(jsonl.rows)], String);
    // A scan of the names per call (three per column: the table's and each segment's) took 9 s:
    // counted here as the scans of a list of 50,000 names.
    let scans = 0;
    const counted = <T extends (...args: never[]) => unknown>(original: T) =>
      function (this: unknown[], ...args: Parameters<T>) {
        if (this.length === names.length) scans++;
        return original.apply(this, args) as ReturnType<T>;
      };
    const spies = [
      vi.spyOn(Array.prototype, 'indexOf').mockImplementation(counted(Array.prototype.indexOf)),
      vi.spyOn(Array.prototype, 'includes').mockImplementation(counted(Array.prototype.includes)),
    ];
    let sum = 0;
    try {
      for (const name of table.columnNames)
        sum += (table.numbers(name)[2] ?? 0) + Number(table.column(name)[0]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(scans).toBe(0);
    expect(sum).toBe((49_999 * 50_000) / 2 + 45 * 5_000);
  });

  it("names the first 20 columns of a wide table in an unknown column's error, and counts the rest", () => {
    const names = Array.from({ length: 100_000 }, (_, i) => `c${i}`);
    const read = csvRows(item, `${names.map(() => '1').join(',')}\n`, names, lines, 'columns');
    if (!read.segment) throw new Error('a CSV range without quotes is read as a segment');
    const table = new TableColumns([read.segment], String);
    const first = names.slice(0, 20).join(', ');
    for (const call of [() => table.column('x'), () => table.numbers('x')])
      expect(call).toThrow(new RegExp(`no such column; its columns: ${first} and 99,980 more$`));
  });
});

describe('the columns view of rows read as objects', () => {
  it('joins segments into one table: columns in order of appearance, null where a row lacks one', () => {
    const jsonl = jsonlRows(item, '{"a": 1, "b": "x"}\n{"c": true}\n');
    const quoted = csvRows(item, '"2",y\n', ['a', 'b'], lines);
    const table = new TableColumns([new RowsSegment(jsonl.rows), new RowsSegment(quoted.rows)], String);
    expect(table.length).toBe(3);
    expect(table.columnNames).toEqual(['a', 'b', 'c']);
    expect(table.column('a')).toEqual([1, null, 2]);
    expect(table.column('c')).toEqual([null, true, null]);
    expect(Array.from(table.numbers('c'))).toEqual([Number.NaN, 1, Number.NaN]);
    expect(table.row(1)).toEqual({ c: true });
    expect(table.row(2)).toEqual({ a: 2, b: 'y' });
  });

  it('does not take a member of every object for a column', () => {
    const table = new TableColumns([new RowsSegment(jsonlRows(item, '{"a": 1}\n').rows)], String);
    expect(() => table.column('toString')).toThrow(/has no such column; its columns: a/);
  });
});
