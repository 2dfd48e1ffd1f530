import { describe, expect, it } from 'vitest';
import { readPoolResult, readPoolTry } from './protocol.js';

const aTry = { runId: 'run-1', shard: 0, index: 0, attempt: 1, deadlineSeconds: 30 };
const result = {
  index: 0,
  attempt: 1,
  ok: true,
  final: true,
  inputs: 1,
  succeeded: 1,
  failedItems: 0,
  durationMs: 1,
};

describe('readPoolTry', () => {
  it('takes a try that names its app results queue', () => {
    expect(readPoolTry({ ...aTry, replyTo: 'results-app1' })).toEqual({ ...aTry, replyTo: 'results-app1' });
  });

  it.each([
    ['minibatches-gpu', /replyTo "minibatches-gpu" is a pool's queue/],
    ['minibatches-gpu-poison', /replyTo "minibatches-gpu-poison" is a pool's queue/],
    ['minibatch-results-poison', /replyTo "minibatch-results-poison" is a poison queue/],
    ['Not_A_Queue', /replyTo "Not_A_Queue" is not a queue name/],
  ])(
    'refuses a try whose replyTo is %s: its worker would send its result where nobody reads it as one',
    (replyTo, why) => {
      expect(() => readPoolTry({ ...aTry, replyTo })).toThrow(why);
    },
  );

  it('refuses a result put on a pool queue: a worker would take it as a try', () => {
    expect(() => readPoolTry({ ...aTry, result })).toThrow(/not a pool try: it carries a result/);
  });
});

describe('readPoolResult', () => {
  it('takes a result, and refuses one whose replyTo is a pool queue', () => {
    expect(readPoolResult({ ...aTry, result }).result).toEqual(result);
    expect(() => readPoolResult({ ...aTry, replyTo: 'minibatches-gpu', result })).toThrow(/a pool's queue/);
  });
});
