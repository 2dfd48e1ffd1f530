import { describe, expect, it } from 'vitest';
import type { TableInput } from '../config/resolved.js';
import { csvDelimiterOf, formatOf, partitionOf } from './table-items.js';

const input: TableInput = { type: 'table', container: 'c', path: 'p/' };

describe('partitionOf', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'finds no key %s in folders that lack it: only the folders have keys',
    (key) => {
      expect(partitionOf('species=setosa/1.csv', [key])).toEqual({ lacking: key });
    },
  );

  it('takes such a key from a folder that has it, as a key of its own', () => {
    const got = partitionOf('__proto__=a/constructor=b/1.csv', ['__proto__', 'constructor']);
    if (!('values' in got)) throw new Error(`lacking ${got.lacking}`);
    expect(Object.getPrototypeOf(got.values)).toBe(Object.prototype);
    expect(JSON.stringify(got.values)).toBe('{"__proto__":"a","constructor":"b"}');
  });
});

describe('formatOf and csvDelimiterOf', () => {
  it('reads a .tsv file as tab-separated CSV, unless input.delimiter says otherwise', () => {
    expect(formatOf(input, 'a/b.TSV')).toBe('csv');
    expect(csvDelimiterOf(input, 'a/b.TSV')).toBe('\t');
    expect(csvDelimiterOf(input, 'a/b.csv')).toBe(',');
    expect(csvDelimiterOf({ ...input, format: 'csv' }, 'b.tsv')).toBe('\t');
    expect(csvDelimiterOf({ ...input, delimiter: ';' }, 'b.tsv')).toBe(';');
  });

  it('knows no format from an extension named like an object member', () => {
    expect(formatOf(input, 'a.constructor')).toBeUndefined();
    expect(formatOf(input, 'a.tsv/b')).toBeUndefined();
  });
});
