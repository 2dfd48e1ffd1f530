import { describe, expect, it } from 'vitest';
import type { RunLimits, ShardFailures, ShardOutput } from './contracts.js';
import {
  addTotals,
  cancelReason,
  failedSoFar,
  failuresReported,
  noTotals,
  runStatus,
  shardEnded,
  shardLayout,
  stopToSend,
  verdict,
  type Told,
  type Totals,
} from './runDecisions.js';

const limits: RunLimits = {
  run_max_try: 3,
  node_count: 2,
  process_count_per_node: 2,
  error_threshold: -1,
  mini_batch_error_threshold: -1,
  allowed_failed_percent: 100,
  progress_update_timeout: null,
};

const totals = (over: Partial<Totals> = {}): Totals => ({ ...noTotals(), ...over });
const out = (shard: number, over: Partial<Totals> = {}, stopped?: string): ShardOutput => ({
  shard,
  totals: totals(over),
  ...(stopped ? { stopped } : {}),
});
const report = (shard: number, itemsFailed: number, miniBatchesFailed: number): ShardFailures => ({
  shard,
  itemsFailed,
  miniBatchesFailed,
});

describe('run decisions: layout', () => {
  it('keeps the same mini-batches in flight for the run, one shard or many', () => {
    // 2 nodes × 2 processes × 2 per process = 8 in flight for the run.
    expect(shardLayout(limits, 5)).toEqual({ concurrentShards: 2, maxInFlight: 4, reportFailures: false });
    expect(shardLayout(limits, 1)).toEqual({ concurrentShards: 1, maxInFlight: 8, reportFailures: false });
    expect(shardLayout({ ...limits, node_count: 3 }, 3).maxInFlight).toBe(Math.ceil(12 / 3));
  });

  it('keeps four per process in flight for a pool: two its worker holds, two waiting on its queue', () => {
    const pool = {
      kind: 'gpu',
      placement: 'queue',
      queue: 'minibatches-gpu',
      startTimeoutSeconds: 60,
    } as const;
    expect(shardLayout({ ...limits, compute: pool }, 1).maxInFlight).toBe(16);
    expect(shardLayout({ ...limits, compute: pool }, 5).maxInFlight).toBe(8);
  });

  it('shards side by side report failures only when a threshold can stop the run early', () => {
    expect(shardLayout({ ...limits, error_threshold: 0 }, 2).reportFailures).toBe(true);
    expect(shardLayout({ ...limits, mini_batch_error_threshold: 3 }, 2).reportFailures).toBe(true);
    expect(shardLayout({ ...limits, error_threshold: 0 }, 1).reportFailures).toBe(false);
    expect(shardLayout({ ...limits, allowed_failed_percent: 10 }, 2).reportFailures).toBe(false);
  });
});

describe('run decisions: failures of live shards', () => {
  it('adds the latest report of each running shard to the finished shards’ failures', () => {
    const live = new Map([
      [1, report(1, 2, 1)],
      [2, report(2, 3, 2)],
    ]);
    expect(failedSoFar(totals({ itemsFailed: 1, miniBatchesFailed: 1 }), live)).toEqual({
      itemsFailed: 6,
      miniBatchesFailed: 4,
    });
  });

  it('error_threshold is crossed by the sum over shards, not by one alone (equal is fine)', () => {
    const l = { ...limits, error_threshold: 4 };
    const live = new Map<number, ShardFailures>();
    expect(failuresReported(l, totals(), live, [0, 1], report(0, 2, 1))).toBeUndefined();
    expect(failuresReported(l, totals(), live, [0, 1], report(1, 2, 1))).toBeUndefined(); // 4: equal
    expect(failuresReported(l, totals(), live, [0, 1], report(1, 3, 2))).toBe(
      'error_threshold crossed: 5 failed items, more than the 4 allowed',
    );
  });

  it('mini_batch_error_threshold is crossed by failed mini-batches over shards, with finished ones', () => {
    const l = { ...limits, mini_batch_error_threshold: 2 };
    const live = new Map<number, ShardFailures>();
    const done = totals({ miniBatchesFailed: 1, itemsFailed: 1 });
    expect(failuresReported(l, done, live, [3], report(3, 1, 1))).toBeUndefined();
    expect(failuresReported(l, done, live, [3], report(3, 2, 2))).toBe(
      'mini_batch_error_threshold crossed: 3 failed mini-batches, more than the 2 allowed',
    );
  });

  it('a late report from a shard that already ended is not counted twice', () => {
    const l = { ...limits, error_threshold: 3 };
    const live = new Map<number, ShardFailures>();
    const done = totals({ itemsFailed: 3 });
    expect(failuresReported(l, done, live, [1], report(0, 3, 1))).toBeUndefined();
    expect(live.size).toBe(0);
  });

  it('-1 ignores failures', () => {
    expect(failuresReported(limits, totals(), new Map(), [0], report(0, 1000, 1000))).toBeUndefined();
  });
});

describe('run decisions: shards ending', () => {
  it('adds a finished shard’s totals and drops its live report', () => {
    const live = new Map([
      [0, report(0, 1, 1)],
      [1, report(1, 1, 1)],
    ]);
    const ended = shardEnded(limits, totals({ tries: 1 }), live, 0, {
      output: out(0, {
        itemsSucceeded: 3,
        itemsFailed: 1,
        miniBatchesFailed: 1,
        miniBatchesSucceeded: 1,
        tries: 2,
      }),
    });
    expect(ended).toEqual({
      done: { itemsSucceeded: 3, itemsFailed: 1, miniBatchesSucceeded: 1, miniBatchesFailed: 1, tries: 3 },
      finished: true,
      canceled: false,
    });
    expect([...live.keys()]).toEqual([1]);
  });

  it('a shard’s own stop reason becomes the run’s (fatal, progress_update_timeout)', () => {
    const timeout = 'progress_update_timeout crossed: no mini-batch finished for 5 s';
    expect(shardEnded(limits, totals(), new Map(), 0, { output: out(0, {}, timeout) }).stop).toBe(timeout);
    expect(shardEnded(limits, totals(), new Map(), 0, { output: out(0, {}, 'init() failed') }).stop).toBe(
      'init() failed',
    );
  });

  it('a finished shard can cross a threshold with the reports of those still running', () => {
    const l = { ...limits, error_threshold: 2 };
    const live = new Map([[1, report(1, 2, 1)]]);
    const ended = shardEnded(l, totals(), live, 0, {
      output: out(0, { itemsFailed: 1, miniBatchesFailed: 1 }),
    });
    expect(ended.stop).toBe('error_threshold crossed: 3 failed items, more than the 2 allowed');
  });

  it('a shard that failed stops the run, adding nothing', () => {
    const live = new Map([[0, report(0, 1, 1)]]);
    const done = totals({ itemsSucceeded: 4 });
    expect(shardEnded(limits, done, live, 0, { failed: 'boom' })).toEqual({
      done,
      finished: false,
      canceled: false,
      stop: 'shard 0 failed: boom',
    });
    expect(live.size).toBe(0);
  });

  it('a shard that ended canceled (its tries ended by the cancel) says so', () => {
    const output = { ...out(0, {}), canceled: true };
    expect(shardEnded(limits, totals(), new Map(), 0, { output }).canceled).toBe(true);
  });
});

describe('run decisions: telling shards to stop', () => {
  it('tells them once when stopping, and again when a cancel follows', () => {
    const told: Told = { shards: false, cancel: false };
    expect(stopToSend(told, 2, undefined, undefined)).toBeUndefined();
    expect(stopToSend(told, 2, 'threshold', undefined)).toEqual({ reason: 'threshold' });
    expect(stopToSend(told, 2, 'threshold', undefined)).toBeUndefined();
    expect(stopToSend(told, 2, 'threshold', 'canceled by request')).toEqual({
      reason: 'canceled by request',
      cancel: true,
    });
    expect(stopToSend(told, 2, 'threshold', 'canceled by request')).toBeUndefined();
  });

  it('tells no one when no shard is in flight', () => {
    const told: Told = { shards: false, cancel: false };
    expect(stopToSend(told, 0, 'threshold', 'c')).toBeUndefined();
    expect(told).toEqual({ shards: false, cancel: false });
  });

  it('a cancel first is sent as a cancel', () => {
    expect(stopToSend({ shards: false, cancel: false }, 1, 'bye', 'bye')).toEqual({
      reason: 'bye',
      cancel: true,
    });
  });

  it('a cancel without a reason says so', () => {
    expect(cancelReason(undefined)).toBe('canceled by request');
    expect(cancelReason({ reason: 'quota' })).toBe('quota');
  });
});

describe('run decisions: the verdict', () => {
  it('the first reason to stop wins', () => {
    expect(
      verdict({ ...limits, error_threshold: 0 }, totals({ itemsFailed: 9 }), 10, 'shard 1 failed: x'),
    ).toBe('shard 1 failed: x');
  });

  it('judges the thresholds on the exact totals at the end', () => {
    expect(
      verdict({ ...limits, error_threshold: 2 }, totals({ itemsFailed: 2 }), 10, undefined),
    ).toBeUndefined();
    expect(verdict({ ...limits, error_threshold: 2 }, totals({ itemsFailed: 3 }), 10, undefined)).toMatch(
      /^error_threshold crossed/,
    );
    expect(
      verdict({ ...limits, mini_batch_error_threshold: 0 }, totals({ miniBatchesFailed: 1 }), 10, undefined),
    ).toMatch(/^mini_batch_error_threshold crossed/);
  });

  it('allowed_failed_percent is judged over every mini-batch of the run (equal is fine)', () => {
    const l = { ...limits, allowed_failed_percent: 20 };
    expect(verdict(l, totals({ miniBatchesFailed: 2 }), 10, undefined)).toBeUndefined();
    expect(verdict(l, totals({ miniBatchesFailed: 3 }), 10, undefined)).toBe(
      'allowed_failed_percent crossed: 30.0% of mini-batches failed, more than the 20% allowed',
    );
    expect(
      verdict({ ...limits, allowed_failed_percent: 100 }, totals({ miniBatchesFailed: 10 }), 10, undefined),
    ).toBeUndefined();
    expect(verdict({ ...limits, allowed_failed_percent: 0 }, totals(), 0, undefined)).toBeUndefined();
  });

  it('error_threshold comes before mini_batch_error_threshold, and both before the percent', () => {
    const l = { ...limits, error_threshold: 0, mini_batch_error_threshold: 0, allowed_failed_percent: 0 };
    expect(verdict(l, totals({ itemsFailed: 1, miniBatchesFailed: 1 }), 1, undefined)).toMatch(
      /^error_threshold/,
    );
  });

  it('the status: Canceled, else Failed with a reason, else Completed', () => {
    expect(runStatus('c', 'c')).toBe('Canceled');
    expect(runStatus(undefined, 'x')).toBe('Failed');
    expect(runStatus(undefined, undefined)).toBe('Completed');
  });

  it('adds totals field by field', () => {
    expect(addTotals(totals({ tries: 1, itemsSucceeded: 2 }), totals({ tries: 3, itemsFailed: 1 }))).toEqual(
      totals({ tries: 4, itemsSucceeded: 2, itemsFailed: 1 }),
    );
  });
});
