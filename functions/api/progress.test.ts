import { describe, expect, it } from 'vitest';
import type { RunProgress } from '../../orchestrations/contracts.js';
import { progressClock, progressView } from './progress.js';

const run = (extra: Partial<RunProgress>): RunProgress => ({
  phase: 'running',
  startedAt: '2026-01-01T00:00:00.000Z',
  items: 5,
  miniBatches: 5,
  shards: 1,
  shardsDone: 0,
  done: { itemsSucceeded: 0, itemsFailed: 0, miniBatchesSucceeded: 0, miniBatchesFailed: 0, tries: 0 },
  inFlightShards: [],
  ...extra,
});
const now = new Date('2026-01-01T00:00:10.000Z');
const halfway = {
  itemsSucceeded: 118,
  itemsFailed: 2,
  miniBatchesSucceeded: 2,
  miniBatchesFailed: 0,
  tries: 2,
};

describe('progressView', () => {
  it('tells files by items', () => {
    const view = progressView(run({ items: 240, miniBatches: 4, done: halfway }), [], now);
    expect(view.percent).toBe(50);
    expect(view.items).toEqual({ total: 240, succeeded: 118, failed: 2, remaining: 120 });
    expect(view.etaSeconds).toBe(10);
  });

  it('tells a table by mini-batches: its rows are known only once read', () => {
    const view = progressView(run({ itemsCountedByTries: true, miniBatches: 4, done: halfway }), [], now);
    expect(view.percent).toBe(50);
    expect(view.items).toEqual({ total: 120, succeeded: 118, failed: 2, remaining: 0 });
    expect(view.itemsPerSecond).toBe(12);
    expect(view.etaSeconds).toBe(10);
  });
});

describe('progressClock', () => {
  it('tells an ended run at its end, so its elapsed time and rate stay as they were', () => {
    const ended = '2026-01-01T00:00:06.000Z';
    const later = new Date('2026-01-01T00:05:00.000Z');
    const view = progressView(run({ phase: 'done', done: halfway }), [], progressClock(true, ended, later));
    expect(view.elapsedSeconds).toBe(6);
    expect(view.itemsPerSecond).toBe(20);
  });

  it('tells a running run now', () => {
    expect(progressClock(false, '2026-01-01T00:00:06.000Z', now)).toBe(now);
  });
});
