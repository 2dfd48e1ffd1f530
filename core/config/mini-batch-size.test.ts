import { describe, expect, it } from 'vitest';
import { parseMiniBatchSize } from './mini-batch-size.js';
import { editDistance, suggestName } from './suggest.js';
import { parseArgumentValue } from './arguments.js';

describe('parseMiniBatchSize', () => {
  it.each([
    ['1MB', 1_048_576],
    ['10kb', 10_240],
    ['10KB', 10_240],
    ['2Gb', 2 * 1024 ** 3],
    ['512mB', 512 * 1024 ** 2],
  ])('%s is %d bytes, keeping the text', (text, bytes) => {
    expect(parseMiniBatchSize(text)).toEqual({ kind: 'bytes', bytes, text });
  });

  it.each([
    ['10', 10],
    [10, 10],
    ['1', 1],
  ])('%j is a count of files', (value, count) => {
    expect(parseMiniBatchSize(value)).toEqual({ kind: 'files', count });
  });

  it.each([
    '1.5MB',
    '0KB',
    '0',
    0,
    -1,
    '1 MB',
    '1B',
    '1TB',
    'MB',
    '1e3',
    1.5,
    '99999999999999999999',
    null,
    {},
  ])('%j is not a size', (value) => {
    expect(parseMiniBatchSize(value)).toBeUndefined();
  });
});

describe('suggestName', () => {
  const known = ['mini_batch_size', 'error_threshold', 'input', 'output'];

  it('ignores case, underscores and hyphens, then allows two edits', () => {
    expect(suggestName('miniBatchSize', known)).toBe('mini_batch_size');
    expect(suggestName('MINI-BATCH-SIZE', known)).toBe('mini_batch_size');
    expect(suggestName('minibatchsise', known)).toBe('mini_batch_size');
    expect(suggestName('inputs', known)).toBe('input');
    expect(suggestName('errorthreshld', known)).toBe('error_threshold');
  });

  it('suggests nothing past two edits, and picks the closest', () => {
    expect(suggestName('batch', known)).toBeUndefined();
    expect(suggestName('x'.repeat(10_000), known)).toBeUndefined();
    expect(suggestName('outpt', ['output', 'outputs'])).toBe('output');
  });

  it('computes edit distances', () => {
    expect(editDistance('kitten', 'sitting', 5)).toBe(3);
    expect(editDistance('', 'abc', 5)).toBe(3);
    expect(editDistance('abc', 'abc', 0)).toBe(0);
    expect(editDistance('abcdef', 'a', 2)).toBe(3);
  });
});

describe('parseArgumentValue', () => {
  it.each([
    ['0.5', 0.5],
    ['-3', -3],
    ['1e3', 1000],
    ['true', true],
    ['FALSE', false],
    ['007', '007'],
    ['.5', '.5'],
    ['1e999', '1e999'],
    ['NaN', 'NaN'],
    ['', ''],
    ['cat', 'cat'],
  ])('%j → %j', (text, value) => {
    expect(parseArgumentValue(text)).toBe(value);
  });
});
