import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import type { RunView } from '../../functions/api/runs.js';
import { call, repoRoot, uniqueNames } from '../support/devhost.js';
import { finish, runToEnd, startApp, submit, uploadFiles } from '../support/pipeline.js';

/**
 * Entry scripts run in worker processes the host can always end: a timeout inside native code, a
 * script that eats memory, or one that never starts must cost that try or that run, never the host.
 */
const storage = () => inject('storage');
const container = `iso-${uniqueNames().hub.toLowerCase()}`;
const MEMORY_LIMIT_MB = 150;
const model = path.join(repoRoot, 'samples/mnist/model/mnist.onnx');
let host: DevHostProcess;
let hostExited = false;

const files = Array.from({ length: 30 }, (_, i) => `good-${i}.txt`);
const base = {
  input: { container, path: 'in/' },
  output_action: 'append_row',
  mini_batch_size: '1',
  node_count: 1,
  process_count_per_node: 2,
};

beforeAll(async () => {
  await uploadFiles(storage(), container, 'in/', [...files, 'hog-native-1.txt', 'hog-heap-1.txt']);
  host = await startApp(storage(), { env: { PARALLEL_RUN_WORKER_MEMORY_MB: String(MEMORY_LIMIT_MB) } });
  void host.exited.then(() => (hostExited = true));
});

afterAll(async () => {
  await host.kill();
});

describe('entry scripts in worker processes', () => {
  it('survives 20 runs in a row whose run_invocation_timeout expires inside onnxruntime session.run', async () => {
    for (let i = 0; i < 20; i++) {
      const run = await runToEnd(host, {
        ...base,
        entry_script: 'onnx_spin.js',
        arguments: ['--model', model],
        input: { container, path: 'in/', names: ['good-0.txt'] },
        process_count_per_node: 1,
        run_invocation_timeout: 0.2,
        run_max_try: 1,
      });
      expect(run.view.status).toBe('Failed');
      expect(run.errors).toEqual([
        expect.objectContaining({
          item: 'good-0.txt',
          error: expect.stringContaining('run_invocation_timeout') as string,
        }),
      ]);
    }
    expect(hostExited).toBe(false);
    const after = await runToEnd(host, {
      ...base,
      entry_script: 'echo.js',
      input: { ...base.input, names: ['good-1.txt'] },
    });
    expect(after.output).toEqual(['good-1.txt: ok']);
  });

  it('fails a try that goes over the memory limit, naming the limit and how to raise it', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'hog.js',
      input: {
        container,
        path: 'in/',
        names: ['good-0.txt', 'hog-native-1.txt', 'hog-heap-1.txt', 'good-1.txt'],
      },
      run_max_try: 1,
    });
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['good-0.txt: ok', 'good-1.txt: ok']);
    expect(run.errors.map((e) => e.item).sort()).toEqual(['hog-heap-1.txt', 'hog-native-1.txt']);
    for (const line of run.errors) {
      expect(line.error).toContain(`memory limit of ${MEMORY_LIMIT_MB} MB`);
      expect(line.error).toContain('PARALLEL_RUN_WORKER_MEMORY_MB');
    }
    expect(hostExited).toBe(false);
  });

  it('stops a run early when init() keeps failing, with the first init() error as its reason', async () => {
    const run = await runToEnd(host, { ...base, entry_script: 'init_fails.js', run_max_try: 3 });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toContain('init() failed in 3 worker processes in a row');
    expect(run.view.reason).toContain('Protobuf parsing failed');
    // 30 mini-batches × 3 tries without giving up; a handful with it.
    expect(run.view.summary?.totals.tries).toBeLessThan(10);
  });

  it('fails a run at once, without retries, when its script turns out not to export run()', async () => {
    const run = await runToEnd(host, { ...base, entry_script: 'reexports_only.js', run_max_try: 3 });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toContain('does not export a run(miniBatch, ctx) function');
    expect(run.errors.length).toBeGreaterThan(0);
    expect(run.errors.every((e) => e.attempts === 1)).toBe(true);
  });

  it('refuses at submit a script whose source shows no run(), without running it', async () => {
    const reply = await call(host.baseUrl, 'POST', '/api/runs', { ...base, entry_script: 'no_run.js' });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      error: {
        field: 'entry_script',
        message: expect.stringContaining('does not export a run(miniBatch, ctx)') as string,
      },
    });
  });

  it('cancels a run whose script is stuck in init() at once', async () => {
    const runId = await submit(host, { ...base, entry_script: 'slow_init.js' });
    await host.waitForLine(new RegExp(`\\[${runId}\\].*slow init started`));
    const reply = await call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`);
    expect(reply.status).toBe(202);
    expect((await finish(host, runId)).view.status).toBe('Canceled');
  });
});

describe('a cancel on a host whose activity slots are all held by hung tries', () => {
  it('ends the run at once, and frees the host for the next run', async () => {
    const hung = Array.from({ length: 12 }, (_, i) => `hang-${i}.txt`);
    await uploadFiles(storage(), container, 'hung/', hung);
    // 2 × 2 × 2 = 8 mini-batches in flight: every activity slot of the host (host.json).
    const runId = await submit(host, {
      ...base,
      entry_script: 'hang_on.js',
      input: { container, path: 'hung/' },
      node_count: 2,
      run_invocation_timeout: 600,
    });
    await expect
      .poll(
        async () =>
          ((await call(host.baseUrl, 'GET', `/api/runs/${runId}`)).body as RunView).progress?.miniBatches
            .inFlight,
        {
          timeout: 30_000,
          interval: 200,
        },
      )
      .toBe(8);
    expect((await call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`)).status).toBe(202);
    expect((await finish(host, runId)).view.status).toBe('Canceled');
    const next = await runToEnd(host, {
      ...base,
      entry_script: 'echo.js',
      input: { ...base.input, names: ['good-2.txt'] },
    });
    expect(next.output).toEqual(['good-2.txt: ok']);
  });
});

describe('worker processes of a host killed with -9', () => {
  it('end with it, even when they never yield', async () => {
    const doomed = await startApp(storage(), {
      env: { PARALLEL_RUN_WORKER_MEMORY_MB: String(MEMORY_LIMIT_MB) },
    });
    const runId = await submit(doomed, { ...base, entry_script: 'slow_init.js', process_count_per_node: 1 });
    const line = await doomed.waitForLine(new RegExp(`\\[${runId}\\].*slow init started in process (\\d+)`));
    const pid = Number(/in process (\d+)/.exec(line)?.[1]);
    expect(running(pid)).toBe(true);
    await doomed.kill('SIGKILL');
    await expect.poll(() => running(pid), { timeout: 10_000, interval: 100 }).toBe(false);
  });
});

/** Whether a process is alive: a zombie (ended, not yet reaped by its new parent) is not. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
