import { describe, expect, it } from 'vitest';
import {
  csvHeader,
  decodeColumns,
  decodeTypes,
  encodeColumns,
  encodeTypes,
  partBody,
  widen,
} from './formats.js';

describe('partBody', () => {
  it('writes CSV lines under the columns of the rows, quoting what needs it, strings as they are', () => {
    const body = partBody(
      [{ id: 1, text: 'a,b' }, { id: 2, note: 'say "hi"', text: null }, 'a plain line'],
      'csv',
    );
    expect(body.columns).toEqual(['id', 'text', 'note']);
    expect(body.bytes.toString()).toBe('1,"a,b",\n2,,"say ""hi"""\na plain line\n');
    expect(csvHeader(body.columns ?? [])).toBe('id,text,note\n');
  });

  it('writes booleans as true and false, and quotes a carriage return', () => {
    const body = partBody([{ ok: true, no: false, text: 'a\rb', n: 1.5 }], 'csv');
    expect(body.bytes.toString()).toBe('true,false,"a\rb",1.5\n');
  });

  it('keeps one JSON object a line for Parquet, with each column typed over the part', () => {
    const body = partBody([{ id: 1, x: 1 }, { id: 2, x: 2.5, ok: true }, 7], 'parquet');
    expect(body.columns).toEqual(['id', 'x', 'ok', 'value']);
    expect(body.types).toEqual(['int32', 'double', 'boolean', 'int32']);
    expect(body.bytes.toString()).toBe('{"id":1,"x":1}\n{"id":2,"x":2.5,"ok":true}\n{"value":7}\n');
  });

  it("gives a row that lacks a column named like an object's own member an empty field, never that member", () => {
    const rows = [
      { id: 1, constructor: 5, toString: 'x' },
      { id: 2 },
      JSON.parse('{"id":3,"__proto__":7}') as object,
    ];
    const csv = partBody(rows, 'csv');
    expect(csv.columns).toEqual(['id', 'constructor', 'toString', '__proto__']);
    expect(csv.bytes.toString()).toBe('1,5,x,\n2,,,\n3,,,7\n');
    // Typed by the values rows have: the rows without one do not make a number column text.
    expect(partBody(rows, 'parquet').types).toEqual(['int32', 'int32', 'string', 'int32']);
  });

  it('writes in CSV what JSON has no value for as an empty field, and a date as ISO text', () => {
    const body = partBody(
      [{ a: Number.NaN, b: Number.POSITIVE_INFINITY, c: () => 1, d: new Date(0), e: new Date(Number.NaN) }],
      'csv',
    );
    expect(body.bytes.toString()).toBe(',,,1970-01-01T00:00:00.000Z,\n');
  });

  it('writes text and JSON Lines one row a line', () => {
    expect(partBody(['a', { b: 1 }], 'jsonl').bytes.toString()).toBe('a\n{"b":1}\n');
    expect(partBody(['a', { b: 1 }], undefined).columns).toBeUndefined();
  });
});

describe('column metadata', () => {
  it('round-trips names that are not ASCII or hold commas', () => {
    const columns = ['größe', 'a,b', 'x y'];
    expect(decodeColumns(encodeColumns(columns))).toEqual(columns);
    expect(encodeColumns(columns)).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeTypes(encodeTypes(['int32', null]))).toEqual(['int32', null]);
  });

  it('widens whole numbers to doubles and any other disagreement to strings', () => {
    expect(widen('int32', 'double')).toBe('double');
    expect(widen(null, 'boolean')).toBe('boolean');
    expect(widen('boolean', null)).toBe('boolean');
    expect(widen('int32', 'string')).toBe('string');
    expect(widen('boolean', 'double')).toBe('string');
  });
});
