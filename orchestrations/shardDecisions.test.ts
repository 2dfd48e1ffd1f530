import { describe, expect, it } from 'vitest';
import type { MiniBatchResult } from '../core/outputs/records.js';
import { triesPerActivity, type RunLimits } from './contracts.js';
import {
  countResult,
  deadlinePassed,
  firstTries,
  hasWork,
  isReused,
  lostResult,
  maySchedule,
  newShardTally,
  progressDeadline,
  shardOutput,
  startingTally,
  stopTaken,
  resultsOfTries,
  takeGroup,
  tryEnded,
} from './shardDecisions.js';

const limits: RunLimits = {
  run_max_try: 3,
  node_count: 1,
  process_count_per_node: 1,
  error_threshold: -1,
  mini_batch_error_threshold: -1,
  allowed_failed_percent: 100,
  progress_update_timeout: null,
};

function input(over: Partial<RunLimits> = {}, prior = { items: 0, miniBatches: 0 }, reportFailures = false) {
  return {
    limits: { ...limits, ...over },
    priorFailedItems: prior.items,
    priorFailedMiniBatches: prior.miniBatches,
    reportFailures,
  };
}

function result(over: Partial<MiniBatchResult> = {}): MiniBatchResult {
  return {
    index: 0,
    attempt: 1,
    ok: true,
    final: true,
    inputs: 4,
    succeeded: 4,
    failedItems: 0,
    durationMs: 1,
    ...over,
  };
}

const failedResult = (failedItems: number, over: Partial<MiniBatchResult> = {}) =>
  result({ ok: false, succeeded: 4 - failedItems, failedItems, ...over });

describe('shard decisions: scheduling', () => {
  it('lists the first try of each mini-batch of the shard', () => {
    expect(firstTries({ shard: 2, first: 10, count: 3 })).toEqual([
      { index: 10, attempt: 1 },
      { index: 11, attempt: 1 },
      { index: 12, attempt: 1 },
    ]);
  });

  it("skips a resume's kept mini-batches (bit i of the shard's bitmap) and counts them as succeeded", () => {
    // Bits 0, 2 and 9 of a 10-mini-batch shard: bytes 0b101, 0b10.
    const shard = {
      shard: 1,
      first: 10,
      count: 10,
      reused: { bitmap: Buffer.from([0b101, 0b10]).toString('base64'), miniBatches: 3, items: 12 },
    };
    expect([...Array(10).keys()].filter((i) => isReused(shard, i))).toEqual([0, 2, 9]);
    expect(firstTries(shard).map((w) => w.index)).toEqual([11, 13, 14, 15, 16, 17, 18]);
    expect(startingTally(shard).totals).toEqual({
      itemsSucceeded: 12,
      itemsFailed: 0,
      miniBatchesSucceeded: 3,
      miniBatchesFailed: 0,
      tries: 0,
    });
    expect(startingTally({ shard: 0, first: 0, count: 2 })).toEqual(newShardTally());
  });

  it('schedules up to maxInFlight, and nothing once stopped; drains what is in flight', () => {
    const tally = newShardTally();
    expect(maySchedule(tally, 1, 2)).toBe(true);
    expect(maySchedule(tally, 2, 2)).toBe(false);
    expect(hasWork(tally, 0, 1)).toBe(true);
    tally.stopped = 'x';
    expect(maySchedule(tally, 0, 2)).toBe(false);
    expect(hasWork(tally, 0, 5)).toBe(false);
    expect(hasWork(tally, 1, 5)).toBe(true);
  });
});

describe('shard decisions: run_max_try and lost tries', () => {
  it('retries a try whose activity failed until run_max_try, then records the mini-batch lost', () => {
    const tally = newShardTally();
    expect(tryEnded(tally, input(), { index: 5, attempt: 1 }, { failed: true })).toEqual({
      kind: 'retry',
      work: { index: 5, attempt: 2 },
    });
    expect(tryEnded(tally, input(), { index: 5, attempt: 2 }, { failed: true })).toEqual({
      kind: 'retry',
      work: { index: 5, attempt: 3 },
    });
    expect(tryEnded(tally, input(), { index: 5, attempt: 3 }, { failed: true })).toEqual({ kind: 'lost' });
    expect(tally.totals.tries).toBe(3);
    expect(tally.totals.miniBatchesFailed).toBe(0);
  });

  it('with run_max_try 1, a failed activity is lost at once', () => {
    const tally = newShardTally();
    expect(tryEnded(tally, input({ run_max_try: 1 }), { index: 0, attempt: 1 }, { failed: true })).toEqual({
      kind: 'lost',
    });
  });

  it('does not retry a try that failed fatally (no worker of its pool alive): it is lost, and stops the shard with its reason', () => {
    const tally = newShardTally();
    const why = 'no worker of pool "gpu" took mini-batch 5 (attempt 1) within 30 s';
    const decision = tryEnded(tally, input(), { index: 5, attempt: 1 }, { failed: true, fatal: why });
    expect(decision).toEqual({ kind: 'lost', fatal: why });
    const lost = lostResult({ index: 5, attempt: 1 }, 2, why);
    expect(countResult(tally, input(), { index: 5, attempt: 1 }, lost)).toMatchObject({ kind: 'counted' });
    expect(tally.stopped).toBe(why);
    expect(tally.totals).toMatchObject({ tries: 1, itemsFailed: 2, miniBatchesFailed: 1 });
  });

  it('counts a lost mini-batch as failed with all its items', () => {
    const tally = newShardTally();
    const lost = lostResult({ index: 7, attempt: 3 }, 6);
    expect(lost).toMatchObject({
      index: 7,
      attempt: 3,
      ok: false,
      final: true,
      inputs: 6,
      succeeded: 0,
      failedItems: 6,
    });
    expect(countResult(tally, input(), { index: 7, attempt: 3 }, lost)).toEqual({
      kind: 'counted',
      report: false,
    });
    expect(tally.totals).toMatchObject({ itemsFailed: 6, miniBatchesFailed: 1, itemsSucceeded: 0 });
  });

  it('tries again after a result that is not final, without counting its items', () => {
    const tally = newShardTally();
    const next = tryEnded(
      tally,
      input(),
      { index: 3, attempt: 1 },
      { result: failedResult(4, { final: false }) },
    );
    expect(next).toEqual({ kind: 'retry', work: { index: 3, attempt: 2 } });
    expect(tally.totals).toEqual({
      itemsSucceeded: 0,
      itemsFailed: 0,
      miniBatchesSucceeded: 0,
      miniBatchesFailed: 0,
      tries: 1,
    });
  });
});

describe('shard decisions: counting results', () => {
  it('counts a mini-batch that returned every row as succeeded', () => {
    const tally = newShardTally();
    expect(tryEnded(tally, input(), { index: 0, attempt: 1 }, { result: result() })).toEqual({
      kind: 'counted',
      report: false,
    });
    expect(tally.totals).toEqual({
      itemsSucceeded: 4,
      itemsFailed: 0,
      miniBatchesSucceeded: 1,
      miniBatchesFailed: 0,
      tries: 1,
    });
    expect(tally.stopped).toBeUndefined();
  });

  it('counts a mini-batch that ran but failed some items as a failed mini-batch', () => {
    const tally = newShardTally();
    countResult(tally, input(), { index: 0, attempt: 1 }, result({ ok: true, succeeded: 3, failedItems: 1 }));
    expect(tally.totals).toMatchObject({
      itemsSucceeded: 3,
      itemsFailed: 1,
      miniBatchesFailed: 1,
      miniBatchesSucceeded: 0,
    });
  });

  it('reports a failed mini-batch to the run when siblings run, until the run has told it to stop', () => {
    const tally = newShardTally();
    const reporting = input({}, undefined, true);
    expect(countResult(tally, reporting, { index: 0, attempt: 1 }, result())).toEqual({
      kind: 'counted',
      report: false,
    });
    expect(countResult(tally, reporting, { index: 1, attempt: 1 }, failedResult(1))).toEqual({
      kind: 'counted',
      report: true,
    });
    stopTaken(tally, { reason: 'a sibling failed' });
    expect(countResult(tally, reporting, { index: 2, attempt: 1 }, failedResult(1))).toEqual({
      kind: 'counted',
      report: false,
    });
    expect(countResult(tally, input(), { index: 3, attempt: 1 }, failedResult(1))).toEqual({
      kind: 'counted',
      report: false,
    });
  });

  it('stops on a fatal result, keeping the first reason', () => {
    const tally = newShardTally();
    countResult(tally, input(), { index: 0, attempt: 1 }, failedResult(4, { fatal: 'init() failed' }));
    expect(tally.stopped).toBe('init() failed');
    countResult(tally, input(), { index: 1, attempt: 1 }, failedResult(4, { fatal: 'later' }));
    expect(tally.stopped).toBe('init() failed');
  });
  it('ends the shard as canceled on a try the cancel ended, counting nothing', () => {
    const tally = newShardTally();
    const ended = { ...failedResult(0), ended: true as const };
    expect(countResult(tally, input(), { index: 0, attempt: 1 }, ended)).toEqual({ kind: 'canceled' });
    expect(tally.canceled).toBe(true);
    expect(tally.totals).toMatchObject({ itemsFailed: 0, miniBatchesFailed: 0 });
  });
});

describe('shard decisions: thresholds (a count over the threshold stops; equal is fine; -1 ignores)', () => {
  it('error_threshold counts failed items, with those of finished shards', () => {
    const tally = newShardTally();
    const i = input({ error_threshold: 5 }, { items: 2, miniBatches: 1 });
    countResult(tally, i, { index: 0, attempt: 1 }, failedResult(3));
    expect(tally.stopped).toBeUndefined(); // 2 + 3 = 5: equal is fine
    countResult(tally, i, { index: 1, attempt: 1 }, failedResult(1));
    expect(tally.stopped).toBe('error_threshold crossed: 6 failed items, more than the 5 allowed');
  });

  it('error_threshold 0 stops on the first failed item', () => {
    const tally = newShardTally();
    countResult(tally, input({ error_threshold: 0 }), { index: 0, attempt: 1 }, failedResult(1));
    expect(tally.stopped).toMatch(/^error_threshold crossed: 1 failed items/);
  });

  it('mini_batch_error_threshold counts failed mini-batches', () => {
    const tally = newShardTally();
    const i = input({ mini_batch_error_threshold: 1 }, { items: 0, miniBatches: 1 });
    countResult(tally, i, { index: 0, attempt: 1 }, result());
    expect(tally.stopped).toBeUndefined();
    countResult(tally, i, { index: 1, attempt: 1 }, failedResult(1));
    expect(tally.stopped).toBe(
      'mini_batch_error_threshold crossed: 2 failed mini-batches, more than the 1 allowed',
    );
  });

  it('-1 ignores both thresholds', () => {
    const tally = newShardTally();
    for (let i = 0; i < 10; i++) countResult(tally, input(), { index: i, attempt: 1 }, failedResult(4));
    expect(tally.stopped).toBeUndefined();
    expect(tally.totals.itemsFailed).toBe(40);
  });
});

describe('shard decisions: stop, cancel and progress_update_timeout', () => {
  it('a stop from the run keeps the shard draining; a cancel ends it at once', () => {
    const tally = newShardTally();
    expect(stopTaken(tally, { reason: 'error_threshold crossed' })).toBe('drain');
    expect(tally).toMatchObject({ stopped: 'error_threshold crossed', told: true, canceled: false });
    expect(stopTaken(tally, { reason: 'canceled by request', cancel: true })).toBe('end');
    expect(tally).toMatchObject({ stopped: 'error_threshold crossed', canceled: true });
    expect(shardOutput(3, tally)).toEqual({
      shard: 3,
      totals: tally.totals,
      stopped: 'error_threshold crossed',
      canceled: true,
    });
  });

  it('a cancel first is the reason', () => {
    const tally = newShardTally();
    expect(stopTaken(tally, { reason: 'user said so', cancel: true })).toBe('end');
    expect(shardOutput(0, tally)).toEqual({
      shard: 0,
      totals: tally.totals,
      stopped: 'user said so',
      canceled: true,
    });
  });

  it('arms the progress timer progress_update_timeout seconds after the last progress', () => {
    expect(progressDeadline(new Date('2024-01-01T00:00:00Z'), 90).toISOString()).toBe(
      '2024-01-01T00:01:30.000Z',
    );
  });

  it('stops when no try ended since the timer was armed, and re-arms otherwise', () => {
    const tally = newShardTally();
    tryEnded(tally, input(), { index: 0, attempt: 1 }, { result: result() });
    expect(deadlinePassed(tally, { progress_update_timeout: 30 }, 0)).toBe(false);
    expect(tally.stopped).toBeUndefined();
    expect(deadlinePassed(tally, { progress_update_timeout: 30 }, 1)).toBe(true);
    expect(tally.stopped).toBe('progress_update_timeout crossed: no mini-batch finished for 30 s');
  });

  it('a shard that ran to its end has no stop reason', () => {
    expect(shardOutput(1, newShardTally())).toEqual({
      shard: 1,
      totals: { itemsSucceeded: 0, itemsFailed: 0, miniBatchesSucceeded: 0, miniBatchesFailed: 0, tries: 0 },
    });
  });
});

describe('groups of tries', () => {
  it('hands out consecutive mini-batches together, up to the limit, whatever their attempts', () => {
    const pending = [
      { index: 4, attempt: 2 },
      { index: 5, attempt: 1 },
      { index: 6, attempt: 1 },
      { index: 7, attempt: 1 },
    ];
    expect(takeGroup(pending, 3)).toEqual([
      { index: 4, attempt: 2 },
      { index: 5, attempt: 1 },
      { index: 6, attempt: 1 },
    ]);
    expect(pending).toEqual([{ index: 7, attempt: 1 }]);
  });

  it('stops a group at a gap in the indexes, and takes one try when groups are off', () => {
    const pending = [
      { index: 2, attempt: 2 },
      { index: 9, attempt: 1 },
      { index: 10, attempt: 1 },
    ];
    expect(takeGroup(pending, 20)).toEqual([{ index: 2, attempt: 2 }]);
    expect(takeGroup(pending, 1)).toEqual([{ index: 9, attempt: 1 }]);
    expect(takeGroup(pending, 20)).toEqual([{ index: 10, attempt: 1 }]);
    expect(takeGroup(pending, 20)).toEqual([]);
  });

  it('hands a retry out alone where retries go alone (pools), ending a group before one', () => {
    const pending = [
      { index: 2, attempt: 2 },
      { index: 3, attempt: 1 },
      { index: 4, attempt: 1 },
      { index: 5, attempt: 3 },
      { index: 6, attempt: 1 },
    ];
    expect(takeGroup(pending, 20, true)).toEqual([{ index: 2, attempt: 2 }]);
    expect(takeGroup(pending, 20, true)).toEqual([
      { index: 3, attempt: 1 },
      { index: 4, attempt: 1 },
    ]);
    expect(takeGroup(pending, 20, true)).toEqual([{ index: 5, attempt: 3 }]);
    expect(takeGroup(pending, 20, true)).toEqual([{ index: 6, attempt: 1 }]);
  });

  it('groups only small file mini-batches, and only in runs big enough', () => {
    const run = {
      placement: 'activity' as const,
      miniBatchFiles: 5,
      miniBatches: 2000,
      inFlight: 8,
      progressUpdateTimeout: null,
      runInvocationTimeout: 60,
    };
    expect(triesPerActivity(run)).toBe(20);
    expect(triesPerActivity({ ...run, miniBatchFiles: 1 })).toBe(25);
    expect(triesPerActivity({ ...run, miniBatchFiles: 100 })).toBe(1);
    expect(triesPerActivity({ ...run, miniBatchFiles: 60 })).toBe(1);
    expect(triesPerActivity({ ...run, miniBatchFiles: undefined })).toBe(1);
    expect(triesPerActivity({ ...run, progressUpdateTimeout: 30 })).toBe(1);
    // A hung try would hold its group's finished neighbours back for longer than a minute.
    expect(triesPerActivity({ ...run, runInvocationTimeout: 600 })).toBe(1);
    // 120 mini-batches, 8 in flight: groups of 3 keep 4 groups per slot.
    expect(triesPerActivity({ ...run, miniBatches: 120 })).toBe(3);
    expect(triesPerActivity({ ...run, miniBatches: 12 })).toBe(1);
  });

  it('groups pool messages up to 400 items, one group per message in flight at least', () => {
    // The tuned MNIST run on a pool: 100 mini-batches of 100 images, 16 messages in flight.
    const pool = {
      placement: 'queue' as const,
      miniBatchFiles: 100,
      miniBatches: 100,
      inFlight: 16,
      progressUpdateTimeout: null,
      runInvocationTimeout: 60,
    };
    expect(triesPerActivity(pool)).toBe(4);
    expect(triesPerActivity({ ...pool, miniBatchFiles: 5, miniBatches: 2000 })).toBe(25);
    expect(triesPerActivity({ ...pool, miniBatchFiles: 300 })).toBe(1);
    expect(triesPerActivity({ ...pool, miniBatches: 40 })).toBe(2);
    expect(triesPerActivity({ ...pool, miniBatches: 20 })).toBe(1);
    expect(triesPerActivity({ ...pool, progressUpdateTimeout: 30 })).toBe(1);
  });
});

describe('resultsOfTries', () => {
  const w4 = { index: 4, attempt: 1 };
  const w5 = { index: 5, attempt: 2 };
  const w6 = { index: 6, attempt: 1 };
  const works = [w4, w5, w6];
  const ok = (w: { index: number; attempt: number }) => ({
    ...w,
    ok: true,
    final: true,
    inputs: 1,
    succeeded: 1,
    failedItems: 0,
    durationMs: 1,
  });

  it("matches a group's results to its tries in order; the tries it stopped before go back untried", () => {
    expect(resultsOfTries(works, [ok(w4), ok(w5)])).toEqual({
      tries: [
        { work: w4, end: { result: ok(w4) } },
        { work: w5, end: { result: ok(w5) } },
      ],
      untried: [w6],
    });
  });

  it("never counts another try's result for a try: from there on its tries fail, to be retried", () => {
    const ended = resultsOfTries(works, [ok(w4), ok(w6)]);
    expect(ended.untried).toEqual([]);
    expect(ended.tries.map((t) => t.work)).toEqual([w4, w5, w6]);
    expect(ended.tries[0]?.end).toEqual({ result: ok(w4) });
    expect(ended.tries[1]?.end).toEqual({
      failed: true,
      error: "the result received for mini-batch 5 (attempt 2) is another try's (mini-batch 6, attempt 1)",
    });
    expect(resultsOfTries([w5], ok({ index: 5, attempt: 1 })).tries[0]?.end).toMatchObject({ failed: true });
  });
});
