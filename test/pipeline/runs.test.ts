import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import type { RunView } from '../../functions/api/runs.js';
import { call, uniqueNames } from '../support/devhost.js';
import { finish, runToEnd, startApp, submit, uploadFiles } from '../support/pipeline.js';

const storage = () => inject('storage');
const container = `data-${uniqueNames().hub.toLowerCase()}`;
let host: DevHostProcess;
/** The host's scratch space (PARALLEL_RUN_TEMP), to check that runs leave nothing there. */
const scratch = mkdtempSync(path.join(os.tmpdir(), 'parallel-run-test-'));

const good = Array.from({ length: 8 }, (_, i) => `good-${i}.txt`);
const base = {
  input: { container, path: 'mixed/' },
  output_action: 'append_row',
  mini_batch_size: '1',
  node_count: 1,
  process_count_per_node: 2,
};

/** One mini-batch per file: 250 make shard 0 (a shard's most), 10 shard 1; two bad files lead each. */
const twoShards = {
  shard0: ['bad-0a.txt', 'bad-0b.txt', ...Array.from({ length: 248 }, (_, i) => `good-${i}.txt`)],
  shard1: ['bad-1a.txt', 'bad-1b.txt', ...Array.from({ length: 8 }, (_, i) => `good-${248 + i}.txt`)],
};

beforeAll(async () => {
  await uploadFiles(storage(), container, 'mixed/', [
    ...good,
    'bad-a.txt',
    'bad-b.txt',
    'hang-1.txt',
    'skip-1.txt',
  ]);
  await uploadFiles(storage(), container, 'clean/', good);
  await uploadFiles(storage(), container, 'wide/', [...twoShards.shard0, ...twoShards.shard1]);
  host = await startApp(storage(), { env: { PARALLEL_RUN_TEMP: scratch } });
});

afterAll(async () => {
  await host.kill();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a run end to end on the devhost', () => {
  it('keeps the input order in the output and shows its totals', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'echo.js',
      input: { container, path: 'clean/' },
      mini_batch_size: '3',
      append_row_file_name: 'rows.txt',
    });
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual([...good].sort().map((n) => `${n}: ok`));
    expect(run.statuses.errors).toBe(200);
    expect(run.errors).toEqual([]);
    expect(run.view.summary?.totals).toMatchObject({
      items: 8,
      miniBatches: 3,
      itemsSucceeded: 8,
      itemsFailed: 0,
    });
    expect(run.view.summary?.output?.blob).toBe(`${run.view.runId}/rows.txt`);
    const head = await call(host.baseUrl, 'GET', `/api/runs/${run.view.runId}/output?head=2`);
    expect(head.text).toBe('good-0.txt: ok\ngood-1.txt: ok\n');
    // A misspelled parameter is refused, not ignored (the whole output would come back).
    const misspelled = await call(host.baseUrl, 'GET', `/api/runs/${run.view.runId}/output?hed=2`);
    expect(misspelled.status).toBe(400);
    expect((misspelled.body as { error: { field: string } }).error.field).toBe('hed');
    // Downloads, side inputs and the script's scratch folder go when the run ends; the model cache stays.
    expect(readdirSync(path.join(scratch, 'parallel-run')).filter((n) => n !== 'models')).toEqual([]);
  });

  it('says why a summary_only run has no output: its output_action, and where its results are', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'echo.js',
      input: { container, path: 'clean/' },
      output_action: 'summary_only',
    });
    expect(run.view.status).toBe('Completed');
    expect(run.view.summary?.totals).toMatchObject({ items: 8, itemsSucceeded: 8 });
    expect(run.statuses.output).toBe(404);
    const out = await call(host.baseUrl, 'GET', `/api/runs/${run.view.runId}/output`);
    const body = JSON.parse(out.text) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.message).toMatch(/output_action is "summary_only", which writes no output file/);
  });

  it("keeps what the script prints and logs in the run's user.log, shutdown() included", async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'chatty.js',
      input: { container, path: 'clean/', names: ['good-0.txt'] },
      process_count_per_node: 1,
    });
    expect(run.view.status).toBe('Completed');
    const log = (
      await BlobServiceClient.fromConnectionString(storage())
        .getContainerClient('runs')
        .getBlobClient(run.view.summary?.logs.script ?? '')
        .downloadToBuffer()
    ).toString('utf8');
    const lines = log.split('\n').map((l) => l.replace(/^\S+ /, ''));
    for (const line of [
      'worker 0 STDOUT: init: model ready',
      'worker 0 STDOUT: scoring good-0.txt',
      'worker 0 STDERR: careful: stderr too',
      'worker 0 INFO: through the logger',
      'worker 0 STDOUT: shutdown: bye',
    ])
      expect(lines).toContain(line);
  });

  it('starts every process of the pool while the run is planned, each running init() once', async () => {
    const marks = mkdtempSync(path.join(os.tmpdir(), 'parallel-run-marks-'));
    try {
      // One mini-batch: no second try ever asks for a second process. Its run() waits until both ran init().
      const run = await runToEnd(host, {
        ...base,
        entry_script: 'init_marks.js',
        arguments: ['--marks', marks, '--wait_for', '2'],
        input: { container, path: 'clean/', names: ['good-0.txt'] },
        process_count_per_node: 2,
      });
      expect(run.view.status).toBe('Completed');
      expect(readdirSync(marks)).toHaveLength(2);
    } finally {
      rmSync(marks, { recursive: true, force: true });
    }
  });

  it('hands side inputs to init(): a single file and a folder (its folder markers left out)', async () => {
    const client = BlobServiceClient.fromConnectionString(storage()).getContainerClient(container);
    const labels = good.map((n, i) => `${n} ${i % 2 ? 'odd' : 'even'}`).join('\n');
    await client.getBlockBlobClient('side/labels.txt').upload(labels, labels.length);
    await client.getBlockBlobClient('extra/nested/note.txt').upload('from-folder', 11);
    // A folder marker, as a hierarchical-namespace account lists one: not a file to download.
    await client.getBlockBlobClient('extra/nested/').upload('', 0);
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'side_lookup.js',
      input: { container, path: 'clean/' },
      side_inputs: {
        labels: { container, path: 'side/labels.txt' },
        extra: { container, path: 'extra/' },
      },
    });
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(good.map((n, i) => `${n}: ${i % 2 ? 'odd' : 'even'} from-folder`));
  });

  it('fails only the mini-batches whose script throws, naming their files in errors.jsonl', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'throw_bad.js',
      input: { container, path: 'mixed/', glob: '{bad,good}*' },
      run_max_try: 2,
    });
    expect(run.view.status).toBe('Completed');
    expect(run.output).toHaveLength(8);
    expect(run.errors.map((e) => e.item).sort()).toEqual(['bad-a.txt', 'bad-b.txt']);
    for (const e of run.errors) {
      expect(e).toMatchObject({ attempts: 2, kind: 'try', error: `cannot score ${e.item}` });
      expect(e.stack).toContain('throw_bad.js');
    }
  });

  it('stops a run() that hangs past run_invocation_timeout, retries, then fails that file', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'hang_on.js',
      input: { container, path: 'mixed/', names: ['good-0.txt', 'hang-1.txt', 'good-1.txt'] },
      run_invocation_timeout: 1,
      run_max_try: 2,
    });
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['good-0.txt: ok', 'good-1.txt: ok']);
    expect(run.errors).toEqual([
      expect.objectContaining({
        item: 'hang-1.txt',
        attempts: 2,
        kind: 'try',
        error: expect.stringContaining('run() did not return within 1 s') as string,
      }),
    ]);
  });

  it('fails the run when no mini-batch finishes for progress_update_timeout seconds', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'hang_on.js',
      input: { container, path: 'mixed/', names: ['good-0.txt', 'good-1.txt', 'hang-1.txt'] },
      process_count_per_node: 1,
      run_invocation_timeout: 600,
      // Long enough for the pool to start on a slow machine: the good files count as progress.
      progress_update_timeout: 2,
    });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toBe('progress_update_timeout crossed: no mini-batch finished for 2 s');
    expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 2, itemsFailed: 0 });
    expect(run.statuses.output).toBe(404);
  });

  it('rejects a run() that returns more rows than inputs', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'too_many.js',
      input: { container, path: 'clean/' },
      run_max_try: 1,
    });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toContain('no result to append');
    expect(run.errors.map((e) => e.item)).toEqual(good);
    expect(run.errors[0]?.error).toBe(
      'run() returned 2 rows for 1 input items; at most one row per input item is allowed',
    );
  });

  it('rejects a run() that does not return a list, saying what it returned', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'not_list.js',
      input: { container, path: 'clean/', names: ['good-0.txt'] },
      run_max_try: 1,
    });
    expect(run.view.status).toBe('Failed');
    expect(run.errors).toEqual([
      expect.objectContaining({
        item: 'good-0.txt',
        error: expect.stringContaining(
          'run() returned an object with keys rows; it must return a list',
        ) as string,
      }),
    ]);
  });

  it('fails files that vanished after planning as missing, without a run() for a mini-batch of none', async () => {
    // A run() would fail the try here (not_list.js returns no list): the items must end as missing.
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'not_list.js',
      input: { container, path: 'clean/', names: ['gone-1.txt', 'gone-2.txt'] },
      mini_batch_size: '2',
      run_max_try: 1,
    });
    expect(run.view.status).toBe('Failed');
    expect(run.errors.map(({ item, kind, error }) => ({ item, kind, error }))).toEqual(
      ['gone-1.txt', 'gone-2.txt'].map((item) => ({
        item,
        kind: 'missing',
        error: `blob ${container}/clean/${item} does not exist (named in input.names, or deleted since the run was planned)`,
      })),
    );
  });

  it('records failures the script names, and unnamed missing rows as unknown', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'fail_named.js',
      input: { container, path: 'mixed/', names: ['good-0.txt', 'bad-a.txt', 'skip-1.txt'] },
      mini_batch_size: '3',
    });
    expect(run.output).toEqual(['good-0.txt: ok']);
    expect(run.errors).toEqual([
      expect.objectContaining({ item: 'bad-a.txt', kind: 'named', error: 'unreadable: bad-a.txt' }),
      expect.objectContaining({
        item: 'skip-1.txt',
        kind: 'unknown',
        error:
          'run() returned 1 rows for 3 inputs and none for this item; name failures with ctx.fail(item, reason)',
      }),
    ]);
    expect(run.view.summary?.totals).toMatchObject({
      itemsSucceeded: 1,
      itemsFailed: 2,
      miniBatchesFailed: 1,
    });
  });
});

describe('thresholds', () => {
  const threeBad = {
    ...base,
    entry_script: 'fail_named.js',
    process_count_per_node: 1,
    input: {
      container,
      path: 'mixed/',
      names: ['bad-a.txt', 'good-0.txt', 'bad-b.txt', 'good-1.txt', 'skip-1.txt', 'good-2.txt'],
    },
  };

  it('completes when failed items equal error_threshold', async () => {
    const run = await runToEnd(host, { ...threeBad, error_threshold: 3 });
    expect(run.view.status).toBe('Completed');
    expect(run.errors).toHaveLength(3);
  });

  it('fails the run as soon as failed items exceed error_threshold, with the reason', async () => {
    const run = await runToEnd(host, { ...threeBad, error_threshold: 2 });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toBe('error_threshold crossed: 3 failed items, more than the 2 allowed');
    // A failed run publishes no output.
    expect(run.statuses.output).toBe(404);
  });

  it('fails on mini_batch_error_threshold and on allowed_failed_percent', async () => {
    const batches = await runToEnd(host, { ...threeBad, mini_batch_error_threshold: 1 });
    expect(batches.view.status).toBe('Failed');
    expect(batches.view.reason).toBe(
      'mini_batch_error_threshold crossed: 2 failed mini-batches, more than the 1 allowed',
    );
    const percent = await runToEnd(host, { ...threeBad, allowed_failed_percent: 40 });
    expect(percent.view.status).toBe('Failed');
    expect(percent.view.reason).toBe(
      'allowed_failed_percent crossed: 50.0% of mini-batches failed, more than the 40% allowed',
    );
  });
});

describe('thresholds across shards', () => {
  it('stops every shard once their failures together exceed error_threshold', async () => {
    const names = [...twoShards.shard0, ...twoShards.shard1];
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'fail_named.js',
      input: { container, path: 'wide/', names },
      node_count: 2,
      process_count_per_node: 1,
      error_threshold: 3,
    });
    expect(run.view.status).toBe('Failed');
    // Each shard alone saw 2 failures, within the threshold: only their sum crosses it.
    expect(run.view.reason).toBe('error_threshold crossed: 4 failed items, more than the 3 allowed');
    expect(run.errors.map((e) => e.item).sort()).toEqual([
      'bad-0a.txt',
      'bad-0b.txt',
      'bad-1a.txt',
      'bad-1b.txt',
    ]);
    const totals = run.view.summary?.totals;
    expect(totals?.miniBatches).toBe(names.length);
    // Shard 0 was told to stop: it did not go on through its 250 mini-batches.
    expect((totals?.miniBatchesSucceeded ?? 0) + (totals?.miniBatchesFailed ?? 0)).toBeLessThan(names.length);
  });
});

describe('cancel', () => {
  it('lists a running run with the progress its own view shows, not only what its shards reported to it', async () => {
    const gates = mkdtempSync(path.join(os.tmpdir(), 'gates-'));
    const runId = await submit(host, {
      ...base,
      entry_script: 'gate.js',
      environment_variables: { GATE_DIR: gates },
      input: { container, path: 'clean/' },
      process_count_per_node: 1,
    });
    // Every file but the last scores; the last waits at its gate, so the run stays Running.
    for (const file of good.slice(0, -1)) writeFileSync(path.join(gates, file), '');
    const own = async () =>
      ((await call(host.baseUrl, 'GET', `/api/runs/${runId}`)).body as RunView).progress;
    await expect
      .poll(async () => (await own())?.items.succeeded, { timeout: 60_000, interval: 200 })
      .toBe(good.length - 1);
    const listed = ((await call(host.baseUrl, 'GET', '/api/runs')).body as { runs: RunView[] }).runs.find(
      (r) => r.runId === runId,
    );
    expect(listed?.status).toBe('Running');
    expect(listed?.progress?.items.succeeded).toBe(good.length - 1);
    writeFileSync(path.join(gates, good.at(-1) ?? ''), '');
    expect((await finish(host, runId)).view.status).toBe('Completed');
    rmSync(gates, { recursive: true, force: true });
  });

  it('lists runs by state, pipeline and count, and refuses a filter it does not know', async () => {
    const done = await runToEnd(host, {
      ...base,
      entry_script: 'echo.js',
      input: { container, path: 'clean/' },
    });
    const runs = async (query: string) => {
      const reply = await call(host.baseUrl, 'GET', `/api/runs${query}`);
      expect(reply.status).toBe(200);
      return (reply.body as { runs: RunView[] }).runs;
    };
    const completed = await runs('?status=completed');
    expect(completed.map((r) => r.runId)).toContain(done.view.runId);
    expect(new Set(completed.map((r) => r.status))).toEqual(new Set(['Completed']));
    expect((await runs('?status=Running,Pending')).map((r) => r.runId)).not.toContain(done.view.runId);
    expect(await runs('?top=1')).toHaveLength(1);
    expect(await runs('?pipeline=no-such-pipeline')).toEqual([]);
    for (const [query, field] of [
      ['?status=bogus', 'status'],
      ['?top=0', 'top'],
      ['?top=1.5', 'top'],
      ['?staus=Failed', 'staus'],
      ['?pipeline=..%2f', 'pipeline'],
      ['?pipeline=', 'pipeline'],
    ] as const) {
      const refused = await call(host.baseUrl, 'GET', `/api/runs${query}`);
      expect(refused.status, query).toBe(400);
      expect((refused.body as { error: { field: string } }).error.field, query).toBe(field);
    }
  });

  it('cancels a running run and says so in its summary', async () => {
    const runId = await submit(host, {
      ...base,
      entry_script: 'hang_on.js',
      input: { container, path: 'mixed/', names: ['hang-1.txt'] },
      run_invocation_timeout: 600,
    });
    await host.waitForLine(new RegExp(`Executed 'Functions.parallelRun' \\(Succeeded.*Instance=${runId}`));
    const canceled = await call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`);
    expect(canceled.status).toBe(202);
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Canceled');
    expect(run.view.summary?.status).toBe('Canceled');
    expect((await call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`)).status).toBe(409);
  });
});

describe('bad requests', () => {
  const post = (body: unknown) => call(host.baseUrl, 'POST', '/api/runs', body);
  const error = async (body: unknown) =>
    (await post(body)).body as { error: { code: string; message: string; field?: string } };

  it('names the setting, the value and what is allowed', async () => {
    const reply = await post({ ...base, entry_script: 'echo.js', mini_batch_size: '0', miniBatchSize: 4 });
    expect(reply.status).toBe(400);
    const body = reply.body as { error: { code: string; issues: { field: string; message: string }[] } };
    expect(body.error.code).toBe('INVALID_SETTINGS');
    expect(body.error.issues.map((i) => i.field).sort()).toEqual(['miniBatchSize', 'mini_batch_size']);
    expect(JSON.stringify(body)).toContain('mini_batch_size');
    expect(JSON.stringify(body)).toContain('did you mean');
  });

  it('refuses a body that is not JSON', async () => {
    const reply = await call(host.baseUrl, 'POST', '/api/runs', '{"entry_script": ');
    expect(reply.status).toBe(400);
    expect((reply.body as { error: { message: string } }).error.message).toContain('not valid JSON');
  });

  it('refuses scripts that are not deployed or outside the scripts folder', async () => {
    const missing = (await error({ ...base, entry_script: 'nope.js' })).error;
    expect(missing).toMatchObject({
      field: 'entry_script',
      message: expect.stringContaining("entry_script 'nope.js' is not deployed") as string,
    });
    // Where the folder is, by its setting: never the host's own path on disk.
    expect(missing.message).toContain('PARALLEL_RUN_SCRIPTS');
    expect(missing.message).not.toContain(path.sep + 'fixtures' + path.sep);
    expect((await error({ ...base, entry_script: '../../etc/passwd.js' })).error.field).toBe('entry_script');
  });

  it('refuses a model that is not registered, a missing container and an empty path', async () => {
    expect((await error({ ...base, entry_script: 'echo.js', models: ['nomodel:3'] })).error).toMatchObject({
      code: 'MODEL_NOT_FOUND',
      field: 'models',
    });
    expect(
      (await error({ ...base, entry_script: 'echo.js', input: { container: 'no-such-container', path: '' } }))
        .error,
    ).toMatchObject({
      field: 'input.container',
      message: "input.container: container 'no-such-container' does not exist",
    });
    expect(
      (await error({ ...base, entry_script: 'echo.js', input: { container, path: 'nothing-here/' } })).error,
    ).toMatchObject({ code: 'EMPTY_DATASET' });
  });

  it('answers 404 for an unknown run', async () => {
    const reply = await call(host.baseUrl, 'GET', '/api/runs/no-such-run');
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ error: { code: 'NOT_FOUND', message: "run 'no-such-run' does not exist" } });
  });
});
