import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunOutput } from '../../orchestrations/contracts.js';
import type { Scenario } from '../fixtures/stub-app/src/stubs.js';
import { call, repoRoot, spawnDevHost, waitForInstance, type DevHostProcess } from '../support/devhost.js';

/**
 * The real parallelRun and parallelRunShard orchestrators on the devhost, over stub activities
 * scripted by each test's scenario (test/fixtures/stub-app): retries, lost tries, thresholds across
 * shards, a fatal result and progress_update_timeout, with no storage work behind them.
 */
let host: DevHostProcess;
let next = 0;

beforeAll(async () => {
  host = await spawnDevHost({
    storage: inject('storage'),
    app: path.join(repoRoot, 'test/fixtures/stub-app'),
  });
});

afterAll(async () => {
  await host.kill();
});

async function run(
  scenario: Scenario,
): Promise<{ out: RunOutput; tries: { index: number; attempt: number }[] }> {
  const runId = `stub-${process.pid}-${next++}`;
  const started = await call(host.baseUrl, 'POST', `/api/stub-runs/${runId}`, scenario);
  expect(started.status).toBe(202);
  const status = await waitForInstance(host, runId);
  expect(status.runtimeStatus).toBe('Completed');
  const tries = (await call(host.baseUrl, 'GET', `/api/stub-runs/${runId}`)).body as {
    index: number;
    attempt: number;
  }[];
  return { out: status.output as RunOutput, tries };
}

describe('parallelRun over stub activities', () => {
  it('allow_reuse: a run whose fingerprint found a Completed run plans and tries nothing', async () => {
    const { out, tries } = await run({ miniBatches: 4, reusedFrom: 'earlier-run' });
    expect(out).toMatchObject({ status: 'Completed', reusedFrom: 'earlier-run' });
    expect(out.totals.tries).toBe(0);
    expect(tries).toEqual([]);
  });

  it('a resume tries only the mini-batches it does not keep, in every shard, and counts the kept ones as succeeded', async () => {
    const { out, tries } = await run({
      miniBatches: 12,
      shardSize: 5,
      reused: [0, 1, 3, 5, 6, 7, 8, 9],
      limits: { node_count: 2 },
      tries: { 4: { failedItems: 1 } },
    });
    expect(tries.map((t) => t.index).sort((a, b) => a - b)).toEqual([2, 4, 10, 11]);
    expect(out.totals).toEqual({
      items: 24,
      miniBatches: 12,
      itemsSucceeded: 23,
      itemsFailed: 1,
      miniBatchesSucceeded: 11,
      miniBatchesFailed: 1,
      tries: 4,
    });
  });

  it('runs every mini-batch of every shard once and completes', async () => {
    const { out, tries } = await run({ miniBatches: 6, shardSize: 2, limits: { node_count: 2 } });
    expect(out.status).toBe('Completed');
    expect(out.totals).toEqual({
      items: 12,
      miniBatches: 6,
      itemsSucceeded: 12,
      itemsFailed: 0,
      miniBatchesSucceeded: 6,
      miniBatchesFailed: 0,
      tries: 6,
    });
    expect(tries.map((t) => t.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('retries failed tries up to run_max_try, and counts a mini-batch whose every activity failed as lost', async () => {
    const { out, tries } = await run({
      miniBatches: 4,
      limits: { run_max_try: 3 },
      tries: {
        1: { scriptError: true, untilAttempt: 2 },
        2: { activityThrows: true },
        3: { scriptError: true },
      },
    });
    expect(out.status).toBe('Completed');
    const attempts = (i: number) => tries.filter((t) => t.index === i).map((t) => t.attempt);
    expect(attempts(0)).toEqual([1]);
    expect(attempts(1)).toEqual([1, 2, 3]);
    expect(attempts(2)).toEqual([1, 2, 3]);
    expect(attempts(3)).toEqual([1, 2, 3]);
    expect(out.totals).toMatchObject({ itemsSucceeded: 4, itemsFailed: 4, miniBatchesFailed: 2, tries: 10 });
  });

  it('fails on error_threshold crossed by the failures of shards side by side', async () => {
    const { out } = await run({
      miniBatches: 8,
      shardSize: 4,
      limits: { node_count: 2, error_threshold: 2 },
      // 2 failed items in shard 0 and 1 in shard 1: neither crosses alone.
      tries: { 0: { failedItems: 2 }, 4: { failedItems: 1 } },
    });
    expect(out.status).toBe('Failed');
    expect(out.reason).toBe('error_threshold crossed: 3 failed items, more than the 2 allowed');
  });

  it('fails on mini_batch_error_threshold, and completes when the count only equals it', async () => {
    const failing = { 0: { failedItems: 1 }, 1: { failedItems: 1 } };
    const equal = await run({ miniBatches: 4, limits: { mini_batch_error_threshold: 2 }, tries: failing });
    expect(equal.out.status).toBe('Completed');
    const over = await run({ miniBatches: 4, limits: { mini_batch_error_threshold: 1 }, tries: failing });
    expect(over.out.status).toBe('Failed');
    expect(over.out.reason).toMatch(/^mini_batch_error_threshold crossed: 2 failed mini-batches/);
  });

  it('judges allowed_failed_percent once every mini-batch has run', async () => {
    const { out } = await run({
      miniBatches: 4,
      limits: { allowed_failed_percent: 20 },
      tries: { 3: { failedItems: 1 } },
    });
    expect(out.status).toBe('Failed');
    expect(out.reason).toBe(
      'allowed_failed_percent crossed: 25.0% of mini-batches failed, more than the 20% allowed',
    );
    expect(out.totals.miniBatchesSucceeded + out.totals.miniBatchesFailed).toBe(4);
  });

  it('stops scheduling on a fatal result', async () => {
    const { out, tries } = await run({ miniBatches: 20, tries: { 0: { fatal: 'init() failed: no model' } } });
    expect(out.status).toBe('Failed');
    expect(out.reason).toBe('init() failed: no model');
    // 1 node × 1 process × 2 in flight: only the mini-batches already handed out ran.
    expect(tries.length).toBeLessThanOrEqual(3);
  });

  it('fails on progress_update_timeout when no mini-batch finishes in time', async () => {
    const { out } = await run({
      miniBatches: 2,
      limits: { progress_update_timeout: 1 },
      tries: { 0: { delayMs: 4_000 }, 1: { delayMs: 4_000 } },
    });
    expect(out.status).toBe('Failed');
    expect(out.reason).toBe('progress_update_timeout crossed: no mini-batch finished for 1 s');
    expect(out.totals.tries).toBe(0);
  });
});
