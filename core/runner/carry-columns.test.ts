import { describe, expect, it } from 'vitest';
import { joinCarried, rowsCarried } from './carry-columns.js';

const inputs = [
  { id: 1, name: 'a', score: 0.5 },
  { id: 2, name: 'b', score: 1 },
  { id: 3, name: 'c', score: 2 },
];
const names = ['t.csv#row=1', 't.csv#row=2', 't.csv#row=3'];
const nameOf = (i: number) => names[i];

describe('joinCarried', () => {
  it('puts each input row’s carried columns first in the result at its position', () => {
    const rows = [{ p: 0.1 }, { p: 0.2 }, { p: 0.3 }];
    expect(joinCarried(rowsCarried(inputs, ['id', 'name']), rows, [], nameOf)).toEqual({
      rows: [
        { id: 1, name: 'a', p: 0.1 },
        { id: 2, name: 'b', p: 0.2 },
        { id: 3, name: 'c', p: 0.3 },
      ],
    });
    const joined = joinCarried(rowsCarried(inputs, ['name', 'id']), rows, [], nameOf);
    expect('rows' in joined && Object.keys(joined.rows[0] as object)).toEqual(['name', 'id', 'p']);
  });

  it('skips the rows failed with ctx.fail: the results are those of the others, in order', () => {
    const failures = [{ item: '{}', index: 1, reason: 'bad' }];
    expect(joinCarried(rowsCarried(inputs, ['id']), [{ p: 1 }, { p: 3 }], failures, nameOf)).toEqual({
      rows: [
        { id: 1, p: 1 },
        { id: 3, p: 3 },
      ],
    });
  });

  it('refuses results that do not match the rows one to one, naming the counts', () => {
    const joined = joinCarried(rowsCarried(inputs, ['id']), [{ p: 1 }, { p: 3 }], [], nameOf);
    expect('error' in joined && joined.error).toMatch(/returned 2 results for 3 rows, 0 of them failed/);
  });

  it('keeps a result column holding the carried value, and refuses one holding another', () => {
    expect(joinCarried(rowsCarried(inputs.slice(0, 1), ['id']), [{ p: 1, id: 1 }], [], nameOf)).toEqual({
      rows: [{ id: 1, p: 1 }],
    });
    const clash = joinCarried(rowsCarried(inputs, ['id']), [{ p: 1 }, { id: 9 }, { p: 3 }], [], nameOf);
    expect(clash).toEqual({
      error: `carry_columns: the result's column "id" is 9 where the input row's carried "id" is 2; rename the result's column, or leave "id" out of carry_columns (the result for t.csv#row=2)`,
    });
  });

  it('makes a result that is not an object the column `value`, and a missing key null', () => {
    const rows = ['x', 7, [1, 2]];
    expect(joinCarried(rowsCarried(inputs, ['id']), rows, [], nameOf)).toEqual({
      rows: [
        { id: 1, value: 'x' },
        { id: 2, value: 7 },
        { id: 3, value: [1, 2] },
      ],
    });
    expect(joinCarried(rowsCarried([{ id: null }], ['id']), [{ p: 1 }], [], nameOf)).toEqual({
      rows: [{ id: null, p: 1 }],
    });
  });

  it('keeps a carried `value` once when a result that is not an object is that value, and refuses another', () => {
    const values = [{ value: 1 }, { value: 4 }];
    expect(joinCarried(rowsCarried(values, ['value']), [1, 4], [], nameOf)).toEqual({
      rows: [{ value: 1 }, { value: 4 }],
    });
    const clash = joinCarried(rowsCarried(values, ['value']), [1, 's'], [], nameOf);
    expect('error' in clash && clash.error).toMatch(
      /the result's column "value" is "s" where the input row's carried "value" is 4/,
    );
  });

  it('carries a column named __proto__ as a column', () => {
    const row = Object.defineProperty({}, '__proto__', { value: 5, enumerable: true });
    const joined = joinCarried(rowsCarried([row], ['__proto__']), [{ p: 1 }], [], nameOf);
    expect('rows' in joined && JSON.stringify(joined.rows[0])).toBe('{"__proto__":5,"p":1}');
  });
});
