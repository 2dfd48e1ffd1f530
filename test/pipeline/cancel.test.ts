import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DurableEngine } from '../../devhost/durable/engine.js';
import { DurableStore } from '../../devhost/durable/store.js';
import { loadFunctionsLib } from '../../devhost/functionsLib.js';
import { Invoker } from '../../devhost/invoker.js';
import { createLogger } from '../../devhost/log.js';
import type { DevHostProcess } from '../../devhost/process.js';
import { Registry } from '../../devhost/registry.js';
import type { RunView } from '../../functions/api/runs.js';
import type { CancelRun, ShardOutput } from '../../orchestrations/contracts.js';
import { events } from '../../orchestrations/names.js';
import { call, repoRoot, uniqueNames } from '../support/devhost.js';
import { finish, startApp, submit, uploadFiles } from '../support/pipeline.js';

/** 50 mini-batches of one file: the first 10 score at once, every later one spins until its process ends. */
const good = Array.from({ length: 10 }, (_, i) => `a-${String(i).padStart(2, '0')}.txt`);
const hang = Array.from({ length: 40 }, (_, i) => `hang-${String(i).padStart(2, '0')}.txt`);

const view = async (host: DevHostProcess, runId: string) =>
  (await call(host.baseUrl, 'GET', `/api/runs/${runId}`)).body as RunView;
const cancel = (host: DevHostProcess, runId: string) =>
  call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`);

describe('a run killed -9 at 20 %, then restarted', () => {
  const { hub } = uniqueNames();
  let second: DevHostProcess | undefined;
  let runId = '';

  beforeAll(async () => {
    const storage = inject('storage');
    const container = `cancel-${hub.toLowerCase()}`;
    await uploadFiles(storage, container, 'in/', [...good, ...hang]);
    const first = await startApp(storage, { hub });
    runId = await submit(first, {
      entry_script: 'hang_on.js',
      input: { container, path: 'in/' },
      mini_batch_size: '1',
      node_count: 1,
      process_count_per_node: 1,
      run_invocation_timeout: 600,
    });
    // The shard has counted the 10 that can end; the run cannot go further on its own.
    await vi.waitFor(async () => expect((await view(first, runId)).progress?.items.succeeded).toBe(10), {
      timeout: 60_000,
      interval: 200,
    });
    await first.kill('SIGKILL');
    second = await startApp(storage, { hub });
  });

  afterAll(async () => {
    await second?.kill();
  });

  it('shows its last progress at once after the restart', async () => {
    const host = second as DevHostProcess;
    const now = await view(host, runId);
    expect(now.status).toBe('Running');
    expect(now.phase).toBe('running');
    expect(now.progress?.items).toEqual({ total: 50, succeeded: 10, failed: 0, remaining: 40 });
    expect(now.progress?.miniBatches).toMatchObject({ total: 50, succeeded: 10, inFlight: 2 });
  });

  it('cancels right after the restart: every shard ends, the summary counts what was done', async () => {
    const host = second as DevHostProcess;
    const first = await cancel(host, runId);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ runId, status: 'Canceling' });
    // A second cancel at the same moment: the same answer, nothing more happens.
    const again = await cancel(host, runId);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ runId, status: 'Canceling' });

    const run = await finish(host, runId);
    expect(run.view.status).toBe('Canceled');
    expect(run.view.reason).toBe('canceled by request');
    expect(run.view.summary?.status).toBe('Canceled');
    expect(run.view.summary?.totals).toMatchObject({
      items: 50,
      miniBatches: 50,
      itemsSucceeded: 10,
      itemsFailed: 0,
      miniBatchesSucceeded: 10,
      miniBatchesFailed: 0,
    });
    expect(run.statuses.output).toBe(404);
    expect(run.errors).toEqual([]);

    // The shard ended on the cancel, with the 10 it had done: it did not go on calling run().
    const shard = await call(
      host.baseUrl,
      'GET',
      `/runtime/webhooks/durabletask/instances/${encodeURIComponent(`${runId}:shard-0`)}?waitForCompletionSeconds=30`,
    );
    const status = shard.body as { runtimeStatus: string; output: ShardOutput };
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toMatchObject({ canceled: true, totals: { miniBatchesSucceeded: 10 } });

    const late = await cancel(host, runId);
    expect(late.status).toBe(409);
    expect(late.text).toContain(`run '${runId}' is already Canceled`);
  });
});

describe('a cancel sent while the host is down', () => {
  it('is taken when the run resumes: it ends Canceled, not Completed', async () => {
    const storage = inject('storage');
    const { hub } = uniqueNames();
    const container = `cancel-${hub.toLowerCase()}`;
    await uploadFiles(storage, container, 'in/', hang.slice(0, 4));
    const first = await startApp(storage, { hub });
    const runId = await submit(first, {
      entry_script: 'hang_on.js',
      input: { container, path: 'in/' },
      mini_batch_size: '1',
      process_count_per_node: 1,
      run_invocation_timeout: 600,
    });
    // Wherever the run is now (pending, planning, running), nothing of it can end by itself.
    await first.kill('SIGKILL');
    const log = createLogger('error', () => undefined);
    const idle = new DurableEngine(
      await DurableStore.open(storage, hub),
      new Registry(),
      new Invoker(loadFunctionsLib(repoRoot), log, () => ({})),
      log,
      { maxConcurrentActivityFunctions: 1, maxConcurrentOrchestratorFunctions: 1 },
    );
    // What the status API's cancel sends, arriving before any host has the run loaded again.
    await idle.raiseEvent(runId, events.cancel, { reason: 'canceled by request' } satisfies CancelRun);

    const second = await startApp(storage, { hub });
    try {
      const run = await finish(second, runId);
      expect(run.view.status).toBe('Canceled');
      expect(run.view.summary?.status).toBe('Canceled');
      expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 0, itemsFailed: 0 });
    } finally {
      await second.kill();
    }
  });
});

describe('a run terminated through the durable API', () => {
  it('has its orphan shards stopped and a Canceled summary written by a cancel, which answers 409', async () => {
    const storage = inject('storage');
    const { hub } = uniqueNames();
    const container = `cancel-${hub.toLowerCase()}`;
    await uploadFiles(storage, container, 'in/', hang.slice(0, 4));
    const host = await startApp(storage, { hub });
    try {
      const runId = await submit(host, {
        entry_script: 'hang_on.js',
        input: { container, path: 'in/' },
        mini_batch_size: '1',
        process_count_per_node: 1,
        run_invocation_timeout: 600,
      });
      await vi.waitFor(async () => expect((await view(host, runId)).phase).toBe('running'), {
        timeout: 60_000,
        interval: 200,
      });
      const api = `/runtime/webhooks/durabletask/instances`;
      expect((await call(host.baseUrl, 'POST', `${api}/${runId}/terminate?reason=admin`)).status).toBe(202);
      await call(host.baseUrl, 'GET', `${api}/${runId}?waitForCompletionSeconds=30`);
      // Durable Functions leaves sub-orchestrations running when their parent is terminated.
      const shardId = encodeURIComponent(`${runId}:shard-0`);
      expect((await call(host.baseUrl, 'GET', `${api}/${shardId}`)).status).toBe(202);

      const late = await cancel(host, runId);
      expect(late.status).toBe(409);
      expect(late.text).toContain(`run '${runId}' is already Canceled`);
      const shard = await call(host.baseUrl, 'GET', `${api}/${shardId}?waitForCompletionSeconds=30`);
      expect(shard.body).toMatchObject({ runtimeStatus: 'Completed', output: { canceled: true } });
      const ended = await view(host, runId);
      expect(ended.status).toBe('Canceled');
      expect(ended.summary).toMatchObject({ status: 'Canceled', reason: 'admin' });
    } finally {
      await host.kill();
    }
  });
});
