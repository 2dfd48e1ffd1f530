import { describe, expect, it } from 'vitest';
import { boundedResult, encodeMessage, readPoolResult, readPoolTry } from './protocol.js';

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

  it('carries the deliveries its earlier copies counted, a whole number; none is the same as 0', () => {
    expect(readPoolTry({ ...aTry, deliveries: 3 })).toEqual({ ...aTry, deliveries: 3 });
    expect(readPoolTry({ ...aTry, deliveries: 0 })).toEqual(aTry);
    for (const deliveries of [-1, 1.5, '3', null])
      expect(() => readPoolTry({ ...aTry, deliveries })).toThrow(/not a pool try/);
  });

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

describe('a group of tries in one message', () => {
  const tries = [
    { index: 4, attempt: 1 },
    { index: 5, attempt: 2 },
    { index: 6, attempt: 1 },
  ];
  const group = { ...aTry, index: 4, attempt: 1, tries };
  const of = (t: { index: number; attempt: number }) => ({ ...result, ...t });

  it('carries its tries, the first being its own index and attempt', () => {
    expect(readPoolTry(group).tries).toEqual(tries);
  });

  it.each([
    ['a first try that is not the message’s', { ...group, index: 5 }],
    ['one try', { ...group, tries: tries.slice(0, 1) }],
    ['a mini-batch twice', { ...group, tries: [...tries, { index: 5, attempt: 3 }] }],
    ['a gap', { ...group, tries: [tries[0], { index: 6, attempt: 1 }] }],
    ['a try that is not one', { ...group, tries: [...tries, { index: -1, attempt: 1 }] }],
    ['too many', { ...group, tries: Array.from({ length: 26 }, (_, i) => ({ index: 4 + i, attempt: 1 })) }],
    ['not a list', { ...group, tries: 'all' }],
  ])('refuses %s', (_, message) => {
    expect(() => readPoolTry(message)).toThrow(/its tries must be 2 to 25/);
  });

  it('takes the results of a prefix of its tries, each checked against its own try', () => {
    expect(readPoolResult({ ...group, result: tries.slice(0, 2).map(of) }).result).toEqual(
      tries.slice(0, 2).map(of),
    );
    expect(() => readPoolResult({ ...group, result: of(tries[0] ?? aTry) })).toThrow(
      /a list of 1 to 3 results/,
    );
    expect(() => readPoolResult({ ...group, result: [] })).toThrow(/a list of 1 to 3 results/);
    expect(() => readPoolResult({ ...group, result: [...tries, ...tries].map(of) })).toThrow(
      /a list of 1 to 3/,
    );
    expect(() =>
      readPoolResult({ ...group, result: [tries[1], tries[0]].map((t) => of(t ?? aTry)) }),
    ).toThrow(/mini-batch 4, attempt 1/);
  });

  it('keeps a group of 25 results with long errors within a queue message (64 KB)', () => {
    const results = Array.from({ length: 25 }, (_, i) => ({
      ...of({ index: i, attempt: 1 }),
      ok: false,
      error: `cannot score ${i}: ${'x'.repeat(3_000)}`,
      fatal: 'y'.repeat(3_000),
    }));
    const group25 = { ...aTry, tries: results.map((r) => ({ index: r.index, attempt: r.attempt })) };
    const bounded = boundedResult(results);
    expect(encodeMessage({ ...group25, result: bounded }).length).toBeLessThan(64 * 1024);
    expect(Array.isArray(bounded) && bounded[3]?.error).toMatch(
      /^cannot score 3: x+… \(cut; errors\.jsonl has it whole\)$/,
    );
    expect(readPoolResult({ ...group25, result: bounded }).result).toHaveLength(25);
  });
});
