import { describe, expect, it } from 'vitest';
import type { BatchRecord } from '../core/inbox/records.js';
import { mayBeFull, stepAfter, timeToRenew, WAKES_PER_GENERATION } from './inboxDecisions.js';

const batch = (over: Partial<BatchRecord> = {}): BatchRecord => ({
  pipeline: 'mnist',
  batch: 4,
  runId: 'mnist-inbox-20260101-000000-abcdef',
  files: 12,
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-01T00:00:05.000Z',
  cutTime: '2026-01-01T00:00:15.000Z',
  manifest: { container: 'inbox-state', path: 'mnist/batches/000000004/files.jsonl' },
  ...over,
});

describe('the inbox collector', () => {
  it('starts the batch a look cut, and moves on without a run when every file was a duplicate', () => {
    expect(stepAfter({ waiting: 3, cut: batch() })).toEqual({
      kind: 'startBatch',
      runId: 'mnist-inbox-20260101-000000-abcdef',
    });
    const noRun = batch({ files: 0 });
    delete noRun.runId;
    expect(stepAfter({ waiting: 0, cut: noRun })).toEqual({ kind: 'nextBatch' });
  });

  it('waits until the files are due, or idles when none waits', () => {
    expect(stepAfter({ waiting: 5, nextRunAt: '2026-01-01T00:00:20.000Z', maxFiles: 8 })).toEqual({
      kind: 'waitUntil',
      at: '2026-01-01T00:00:20.000Z',
      waiting: 5,
      maxFiles: 8,
    });
    expect(stepAfter({ waiting: 0 })).toEqual({ kind: 'idle' });
  });

  it('looks again before its time once the wakes may have brought max_files', () => {
    const step = { kind: 'waitUntil', at: '2026-01-01T00:00:20.000Z', waiting: 5, maxFiles: 8 } as const;
    expect(mayBeFull(step, 2)).toBe(false);
    expect(mayBeFull(step, 3)).toBe(true);
  });

  it('continues as new after a bounded number of wakes, so its history stays small', () => {
    expect(timeToRenew(WAKES_PER_GENERATION - 1)).toBe(false);
    expect(timeToRenew(WAKES_PER_GENERATION)).toBe(true);
  });
});
