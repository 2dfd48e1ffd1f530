import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { claimTry, settleTry } from '../../core/compute/claims.js';
import { decodeMessage, encodeMessage, readPoolTry } from '../../core/compute/protocol.js';
import { runPaths } from '../../core/storage/layout.js';
import { storageFromEnv } from '../../core/storage/storage.js';
import type { DevHostProcess } from '../../devhost/process.js';
import type { WatchedProcess } from '../../devhost/lines.js';
import { spawnWorker } from '../../scripts/workers.js';
import { call, repoRoot, uniqueNames } from '../support/devhost.js';
import { finish, runToEnd, startApp, submit, uploadFiles } from '../support/pipeline.js';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';

const storage = () => inject('storage');
const tag = uniqueNames().hub.toLowerCase().slice(3);
/** One pool the tests start workers for, one that never has any. */
const pool = `p${tag}`;
const idle = `idle${tag}`;
const poisoned = `poison${tag}`;
const late = `late${tag}`;
const junk = `junk${tag}`;
/** Tests that hold a try with a gated script each have a pool: no other test's worker takes it. */
const terminated = `term${tag}`;
const canceled = `cancel${tag}`;
const fenced = `fence${tag}`;
const ahead = `ahead${tag}`;
const retiring = `retire${tag}`;
const ended = `ended${tag}`;
const shared = `shared${tag}`;
const grouped = `group${tag}`;
const groupCanceled = `gcancel${tag}`;
const copied = `copy${tag}`;
const carried = `carried${tag}`;
const pools = [
  pool,
  idle,
  poisoned,
  late,
  junk,
  terminated,
  canceled,
  fenced,
  ahead,
  retiring,
  ended,
  shared,
  grouped,
  groupCanceled,
  copied,
  carried,
].join(',');
const results = `results-${tag}`;
const container = `pool-${tag}`;
const scripts = path.join(repoRoot, 'test/fixtures/scripts/dist');
/** Short, so a try nobody takes fails quickly; long enough for a busy 2-core machine's heartbeats. */
const START_TIMEOUT = 15;
let host: DevHostProcess;
const workers: WatchedProcess[] = [];

const worker = async (env: Record<string, string> = {}, of = pool) => {
  const w = await spawnWorker({
    pool: of,
    storage: storage(),
    env: { PARALLEL_RUN_SCRIPTS: scripts, PARALLEL_RUN_POOLS: pools, ...env },
  });
  workers.push(w);
  return w;
};

const queues = () => QueueServiceClient.fromConnectionString(storage());

/** Mini-batches of one file, sixteen of them: grouped four to a message on one process (`triesPerActivity`). */
const sixteen = Array.from({ length: 16 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`);

beforeAll(async () => {
  host = await startApp(storage(), {
    env: {
      PARALLEL_RUN_POOLS: pools,
      PARALLEL_RUN_POOL_START_TIMEOUT: String(START_TIMEOUT),
      // Other test files' apps share this Azurite: each reads its own results.
      PARALLEL_RUN_RESULTS_QUEUE: results,
    },
  });
  await uploadFiles(storage(), container, 'few/', ['a.txt', 'b.txt', 'c.txt', 'crash.txt', 'd.txt']);
  await uploadFiles(storage(), container, 'many/', sixteen);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await host.kill();
});

describe('compute pools: settings', () => {
  it('refuses a pool the app does not have, listing the ones it has', async () => {
    const reply = await call(host.baseUrl, 'POST', '/api/runs', {
      entry_script: 'echo.js',
      input: { container, path: 'few/' },
      compute: 'a100',
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      error: {
        field: 'compute',
        message: `compute: "a100" is not a pool of this app: use "functions", ${pools
          .split(',')
          .map((p) => `"${p}"`)
          .join(', ')} (app setting PARALLEL_RUN_POOLS)`,
      },
    });
  });
});

describe('compute pools: a worker that cannot start says why', () => {
  it.each<[{ pool: string; env: Record<string, string>; args?: string[] }, number, RegExp]>([
    [{ pool: 'Bad_Name', env: {} }, 64, /--pool "Bad_Name" is not a pool name/],
    [{ pool: 'gpu', env: {}, args: ['--pool', 'gpu', '--bogus'] }, 64, /Unknown option '--bogus'/],
    [{ pool: 'gpu', env: {}, args: ['--pool'] }, 64, /Option '--pool <value>' argument missing/],
    [{ pool: 'gpu', env: {}, args: ['--pool', 'gpu', 'extra'] }, 64, /Unexpected argument 'extra'/],
    [
      { pool: 'gpu', env: { AzureWebJobsStorage: 'garbage' } },
      2,
      /storage setting AzureWebJobsStorage cannot be parsed as a connection string/,
    ],
    [
      { pool: 'gpu', env: { PARALLEL_RUN_POOLS: 'other' } },
      2,
      /pool "gpu" is not configured: PARALLEL_RUN_POOLS is "other"/,
    ],
    [
      { pool: 'gpu', env: { AzureWebJobsStorage: '' } },
      2,
      /storage is not configured: set AzureWebJobsStorage/,
    ],
    [
      { pool: 'gpu', env: { PARALLEL_RUN_EXECUTION_PROVIDERS: 'cuda,cpu' } },
      2,
      /asks for "cuda", but it cannot load here: .*PARALLEL_RUN_ALLOW_CPU_FALLBACK=true/,
    ],
  ])('%j', async (given, code, message) => {
    const w = await spawnWorker({
      pool: given.pool,
      storage: storage(),
      env: { PARALLEL_RUN_POOLS: 'gpu', ...given.env },
      ...(given.args ? { args: given.args } : {}),
      waitForStart: false,
    });
    expect(await w.exited).toBe(code);
    expect(w.lines.join('\n')).toMatch(message);
    expect(w.lines.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('says it cannot reach its queue, and never that it takes tries, when the storage key is wrong', async () => {
    const wrongKey = storage().replace(
      /AccountKey=[^;]+/,
      `AccountKey=${Buffer.from('not the key').toString('base64')}`,
    );
    const w = await spawnWorker({ pool: 'gpu', storage: wrongKey, waitForStart: false });
    expect(await w.exited).toBe(2);
    const said = w.lines.join('\n');
    expect(said).toMatch(
      /worker cannot start: cannot reach queue minibatches-gpu at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1: .*check AzureWebJobsStorage/,
    );
    expect(said).not.toMatch(/taking tries/);
    expect(said).not.toMatch(/\n\s+at /);
  });

  it('falls back to the CPU only when the configuration allows it', async () => {
    const w = await spawnWorker({
      pool: 'gpu',
      storage: storage(),
      env: {
        PARALLEL_RUN_POOLS: 'gpu',
        PARALLEL_RUN_EXECUTION_PROVIDERS: 'cuda,cpu',
        PARALLEL_RUN_ALLOW_CPU_FALLBACK: 'true',
      },
    });
    expect(w.lines.join('\n')).toMatch(/"cuda" cannot load .* so it is left out/);
    expect(w.lines.join('\n')).toMatch(/taking tries \(execution providers: cpu\)/);
    await w.kill();
  });
});

describe('compute pools: runs', () => {
  it('runs a pool run on a worker, with the same rows, errors and order as on functions; the script sees its providers', async () => {
    await worker({ PARALLEL_RUN_EXECUTION_PROVIDERS: 'cpu' });
    const settings = {
      entry_script: 'crash_on.js',
      input: { container, path: 'few/' },
      mini_batch_size: '1',
      run_max_try: 2,
      error_threshold: -1,
    };
    const onPool = await runToEnd(host, { ...settings, compute: pool });
    const onFunctions = await runToEnd(host, settings);
    expect(onPool.view.status).toBe('Completed');
    expect(onPool.output).toEqual(['a.txt: ok', 'b.txt: ok', 'c.txt: ok', 'd.txt: ok']);
    expect(onPool.output).toEqual(onFunctions.output);
    // The script that ends its own process fails its mini-batch on the pool as on functions, after both tries.
    expect(onPool.errors).toEqual([expect.objectContaining({ item: 'crash.txt', attempts: 2, kind: 'try' })]);
    expect(onFunctions.errors.map((e) => [e.item, e.attempts])).toEqual([['crash.txt', 2]]);
    const providers = await runToEnd(host, {
      entry_script: 'providers.js',
      input: { container, path: 'few/' },
      compute: pool,
    });
    expect(providers.output).toContain('a.txt: cpu');
  });

  it('hands small mini-batches out four to a message; a worker killed mid-group leaves it to another, every row once, in order', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'gate-')), 'open');
    const doomed = await worker({}, grouped);
    const runId = await submit(host, {
      entry_script: 'gated.js',
      arguments: ['--gate', gate],
      input: { container, path: 'many/' },
      mini_batch_size: '1',
      node_count: 1,
      process_count_per_node: 1,
      compute: grouped,
    });
    await waitFor(async () => (await claimsOf(runId)) > 0);
    await doomed.kill('SIGKILL');
    writeFileSync(gate, '');
    const survivor = await worker({}, grouped);
    const run = await finish(host, runId);
    expect(run.view.status, run.view.reason).toBe('Completed');
    expect(run.output).toEqual(sixteen.map((f) => `${f}: ok`));
    expect(run.errors).toEqual([]);
    expect(run.view.summary?.totals).toMatchObject({ items: 16, itemsSucceeded: 16, itemsFailed: 0 });
    // One claim per message, named by its first try: four groups of four, not sixteen tries (a
    // group given up while its worker was dead is retried one try at a time, under attempt 2).
    const firstTries = (await claimNames(runId))
      .map((n) => /^(\d+)-(\d+)\.json$/.exec(n))
      .filter((m) => m?.[2] === '1')
      .map((m) => Number(m?.[1]));
    expect(firstTries.sort((a, b) => a - b)).toEqual([0, 4, 8, 12]);
    // The worker still logs one line per try of a group.
    for (const f of [1, 2, 3])
      expect(
        survivor.lines.some((l) =>
          new RegExp(`try run=${runId} mini-batch=${f} attempt=\\d+ outcome=ok`).test(l),
        ),
      ).toBe(true);
  }, 120_000);

  it("writes none of a group's finished tries when its run is canceled under the group", async () => {
    const gates = mkdtempSync(path.join(tmpdir(), 'gates-'));
    const passed = (n: number) => existsSync(path.join(gates, `${sixteen[n] ?? ''}.passed`));
    // Four groups of four (as above), enqueued by activities that run at once: any of them may
    // reach the worker first. Whichever it is, its first two tries score at once and its third
    // waits at its gate; the worker (one process: one group at a time) holds no other group.
    for (const first of [0, 4, 8, 12])
      for (const n of [first, first + 1]) writeFileSync(path.join(gates, sixteen[n] ?? ''), '');
    const w = await worker({}, groupCanceled);
    const runId = await submit(host, {
      entry_script: 'gate.js',
      environment_variables: { GATE_DIR: gates },
      input: { container, path: 'many/' },
      mini_batch_size: '1',
      node_count: 1,
      process_count_per_node: 1,
      compute: groupCanceled,
    });
    // Polled with the event loop let run between checks: a check that does no I/O, awaited in a
    // loop, starved it, and the worker and host this process reads the output of stalled behind it.
    await expect
      .poll(() => [0, 4, 8, 12].find((first) => passed(first) && passed(first + 1)), {
        interval: 20,
        timeout: 60_000,
      })
      .toBeDefined();
    const first = [0, 4, 8, 12].find((f) => passed(f)) ?? -1;
    expect((await call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`)).status).toBe(202);
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Canceled');
    // The worker learns of the end at its next heartbeat and ends the group's waiting try: the two
    // it finished before are not written after the run's summary (they count as ended, as it did).
    await w.waitForLine(new RegExp(`try run=${runId} mini-batch=${first + 2} attempt=1 outcome=ended`));
    expect(
      w.lines.some((l) => l.includes(`try run=${runId} mini-batch=${first} attempt=1 outcome=ended`)),
    ).toBe(true);
    expect([0, 4, 8, 12].filter((f) => passed(f))).toEqual([first]);
    const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient('runs');
    const parts: string[] = [];
    for await (const b of runs.listBlobsFlat({ prefix: runPaths.partsPrefix(runId) })) parts.push(b.name);
    expect(parts).toEqual([]);
    expect(run.view.summary?.totals.itemsSucceeded).toBe(0);
  }, 120_000);

  it('fails a try no worker takes, in bounded time, saying so', async () => {
    const run = await runToEnd(host, {
      entry_script: 'echo.js',
      input: { container, path: 'few/a.txt' },
      compute: idle,
      run_max_try: 1,
    });
    expect(run.view.status).toBe('Failed');
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]?.error).toContain(
      `no worker of pool "${idle}" took mini-batch 0 (attempt 1) within ${START_TIMEOUT} s`,
    );
  });

  it('ends a run on a pool with no live worker after its first tries wait once, naming the pool, retrying none', async () => {
    const run = await runToEnd(host, {
      entry_script: 'echo.js',
      input: { container, path: 'few/' },
      mini_batch_size: '1',
      node_count: 1,
      process_count_per_node: 1,
      run_max_try: 3,
      compute: idle,
    });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toContain(`no worker of pool "${idle}" took mini-batch`);
    expect(run.view.reason).toContain(`within ${START_TIMEOUT} s`);
    // Only the tries in flight when the first was given up (node_count × process_count_per_node × 4):
    // none of them retried, no wave after them.
    const tries = run.view.summary?.totals.tries ?? 0;
    expect(tries).toBeGreaterThan(0);
    expect(tries).toBeLessThanOrEqual(4);
    expect(run.errors.filter((e) => e.kind === 'try').every((e) => e.attempts === 1)).toBe(true);
  });

  it('fails a try whose message was taken too many times, moving it to the poison queue', async () => {
    const runId = await submit(host, {
      entry_script: 'echo.js',
      input: { container, path: 'few/a.txt' },
      compute: poisoned,
      run_max_try: 1,
    });
    const queue = queues().getQueueClient(`minibatches-${poisoned}`);
    await queue.createIfNotExists();
    // Every worker that took it died under it: six deliveries, none finished.
    for (let taken = 0; taken < 6; taken++) {
      const m = await takeMessage(queue);
      await queue.updateMessage(m.messageId, m.popReceipt, undefined, 0);
    }
    const w = await worker({}, poisoned);
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Failed');
    expect(run.output).toEqual([]);
    expect(run.errors).toEqual([expect.objectContaining({ item: 'few/a.txt', kind: 'try', attempts: 1 })]);
    expect(run.errors[0]?.error).toMatch(/was taken 7 times by workers of pool .* and never finished/);
    const poison = await queues().getQueueClient(`minibatches-${poisoned}-poison`).peekMessages();
    expect(poison.peekedMessageItems).toHaveLength(1);
    expect(w.lines.join('\n')).toMatch(new RegExp(`try run=${runId} mini-batch=0 attempt=1 outcome=failed`));
  });

  it("counts the deliveries a try's earlier copies carried: one take past the limit poisons it", async () => {
    const runId = await submit(host, {
      entry_script: 'echo.js',
      input: { container, path: 'few/b.txt' },
      compute: carried,
      run_max_try: 1,
    });
    const queue = queues().getQueueClient(`minibatches-${carried}`);
    await queue.createIfNotExists();
    // The shard's message, put back as a copy found busy after five deliveries would be (its holders died).
    const message = await takeMessage(queue);
    const t = readPoolTry(decodeMessage(message.messageText));
    await queue.sendMessage(encodeMessage({ ...t, deliveries: 5 }));
    await queue.deleteMessage(message.messageId, message.popReceipt);
    await worker({}, carried);
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Failed');
    expect(run.errors).toEqual([expect.objectContaining({ item: 'few/b.txt', kind: 'try', attempts: 1 })]);
    expect(run.errors[0]?.error).toMatch(/was taken 6 times by workers of pool/);
  });

  it('ignores a result for an attempt its shard gave up, and a duplicate result, counting each try once', async () => {
    const runId = await submit(host, {
      entry_script: 'echo.js',
      input: { container, path: 'few/b.txt' },
      compute: late,
      run_max_try: 2,
    });
    // A worker took attempt 1 and died under it; its shard gives it up (as after the worker's
    // silence, which is retried: a try nobody took while no worker was alive would end the run).
    const queue = queues().getQueueClient(`minibatches-${late}`);
    await queue.createIfNotExists();
    await waitFor(async () => (await queue.peekMessages()).peekedMessageItems.length >= 1);
    const store = storageFromEnv({ AzureWebJobsStorage: storage() });
    const first = { runId, shard: 0, index: 0, attempt: 1, deadlineSeconds: START_TIMEOUT };
    expect(await claimTry(store, first, 'a-worker-that-died', START_TIMEOUT * 1000)).toHaveProperty('taken');
    expect(await settleTry(store, first, 0, () => Promise.resolve(false))).toEqual({
      alive: false,
      why: 'silent',
    });
    // Its shard sees it given up when its timer fires, and attempt 2 goes on the queue.
    await waitFor(
      async () => (await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length >= 2,
    );
    const resultsQueue = queues().getQueueClient(results);
    const fake = (attempt: number) =>
      encodeMessage({
        runId,
        shard: 0,
        index: 0,
        attempt,
        deadlineSeconds: START_TIMEOUT,
        result: succeeded(attempt),
      });
    await resultsQueue.sendMessage(fake(1));
    // Raised on the shard as the event of attempt 1, which it no longer waits for: never counted.
    await waitFor(async () => (await resultsQueue.getProperties()).approximateMessagesCount === 0);
    const w = await worker({}, late);
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['b.txt: ok']);
    expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 1, itemsFailed: 0, tries: 2 });
    // The given-up attempt's message is dropped by the worker, not run.
    await w.waitForLine(
      new RegExp(`try run=${runId} mini-batch=0 attempt=1 outcome=dropped \\(given up by its shard\\)`),
    );
    expect(w.lines.filter((l) => l.includes(`try run=${runId} `) && l.includes('outcome=ok'))).toHaveLength(
      1,
    );
    // A copy of the counted result, after the shard completed: the shard refuses it, and the results
    // function takes it off the queue as handled.
    await resultsQueue.sendMessage(fake(2));
    await waitFor(async () => (await resultsQueue.getProperties()).approximateMessagesCount === 0);
    // Handled, not failed five times over into the poison queue.
    expect(await poisonedResults()).toBe(0);
    const again = await finish(host, runId);
    expect(again.output).toEqual(['b.txt: ok']);
    expect(again.view.summary?.totals).toEqual(run.view.summary?.totals);
  });

  it('on SIGTERM takes no more tries, lets the running one finish, and exits', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'gate-')), 'open');
    const w = await worker({}, terminated);
    const runId = await submit(host, {
      entry_script: 'gated.js',
      arguments: ['--gate', gate],
      input: { container, path: 'few/a.txt' },
      compute: terminated,
    });
    await waitFor(async () => (await claimsOf(runId)) > 0);
    const exiting = w.kill('SIGTERM');
    await w.waitForLine(/SIGTERM: taking no more tries; 1 running get \d+ s to finish/);
    writeFileSync(gate, '');
    expect(await exiting).toBe(0);
    expect(w.lines.join('\n')).toMatch(new RegExp(`try run=${runId} mini-batch=0 attempt=1 outcome=ok`));
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['a.txt: ok']);
  });

  it('ends a try running on a worker when its run is canceled', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'gate-')), 'never-opened');
    const w = await worker({}, canceled);
    const runId = await submit(host, {
      entry_script: 'gated.js',
      arguments: ['--gate', gate],
      input: { container, path: 'few/a.txt' },
      compute: canceled,
    });
    await waitFor(async () => (await claimsOf(runId)) > 0);
    const cancel = await call(host.baseUrl, 'POST', `/api/runs/${runId}/cancel`);
    expect(cancel.status).toBe(202);
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Canceled');
    await w.waitForLine(new RegExp(`try run=${runId} mini-batch=0 attempt=1 outcome=ended`));
    expect(run.output).toEqual([]);
  });

  it('drops queue messages that are not tries or results, or name no run, saying so', async () => {
    const w = await worker({}, junk);
    const tries = queues().getQueueClient(`minibatches-${junk}`);
    await tries.createIfNotExists();
    await tries.sendMessage(Buffer.from('not json').toString('base64'));
    await tries.sendMessage(
      encodeMessage({ runId: 'no-such-run', shard: 0, index: 0, attempt: 1, deadlineSeconds: 60 }),
    );
    await tries.sendMessage(Buffer.from(JSON.stringify({ runId: '../x', index: -1 })).toString('base64'));
    await w.waitForLine(/dropped message .*: not a JSON message/);
    await w.waitForLine(/dropped message .*: run 'no-such-run' does not exist/);
    await w.waitForLine(/dropped message .*: not a pool try: expected/);
    // A try whose result would go to a pool's queue (its worker would take the result as a try and
    // send it back there, forever), or a result put on a pool's queue: neither is a try.
    const looping = { runId: 'no-such-run', shard: 0, index: 0, attempt: 1, deadlineSeconds: 30 };
    await tries.sendMessage(encodeMessage({ ...looping, replyTo: `minibatches-${junk}` }));
    await tries.sendMessage(encodeMessage({ ...looping, replyTo: results, result: succeeded(1) }));
    await w.waitForLine(
      new RegExp(`dropped message .*: not a pool try: its replyTo "minibatches-${junk}" is a pool's queue`),
    );
    await w.waitForLine(/dropped message .*: not a pool try: it carries a result/);
    await waitFor(async () => (await tries.getProperties()).approximateMessagesCount === 0);
    const resultsQueue = queues().getQueueClient(results);
    await resultsQueue.sendMessage(Buffer.from(JSON.stringify({ hello: 'world' })).toString('base64'));
    await host.waitForLine(new RegExp(`dropped a message on ${results}: not a pool try`));
    // A finished try's result whose shard does not exist (its run's records purged meanwhile): logged
    // and taken off the queue, not retried into the poison queue.
    const result = succeeded(1);
    const claim = JSON.stringify({ state: 'done', worker: 'w', at: new Date().toISOString(), result });
    const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient('runs');
    await runs.createIfNotExists();
    await runs.getBlockBlobClient(runPaths.claim('purged-run', 0, 1)).upload(claim, claim.length);
    await resultsQueue.sendMessage(
      encodeMessage({ runId: 'purged-run', shard: 0, index: 0, attempt: 1, deadlineSeconds: 60, result }),
    );
    await host.waitForLine(
      /mini-batch 0 \(attempt 1\) of run purged-run ignored: its shard .* does not exist/,
    );
    await waitFor(async () => (await resultsQueue.getProperties()).approximateMessagesCount === 0);
    expect(await poisonedResults()).toBe(0);
  });

  it('sends a copy of a held try back as a fresh message each time it finds the try busy, so copies never count towards poisoning', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'gate-')), 'open');
    const w = await worker({}, copied);
    const runId = await submit(host, {
      entry_script: 'gated.js',
      arguments: ['--gate', gate],
      input: { container, path: 'few/a.txt' },
      node_count: 1,
      process_count_per_node: 1,
      compute: copied,
      run_max_try: 1,
    });
    await waitFor(async () => (await claimsOf(runId)) > 0);
    // A copy of the try's message, as an activity's retry enqueues one, while the worker holds the try.
    const copy = { runId, shard: 0, index: 0, attempt: 1, deadlineSeconds: START_TIMEOUT, replyTo: results };
    await queues().getQueueClient(`minibatches-${copied}`).sendMessage(encodeMessage(copy));
    const busy = new RegExp(`try run=${runId} mini-batch=0 attempt=1 outcome=busy \\(delivery (\\d+)`, 'g');
    const seen = () => [...w.lines.join('\n').matchAll(busy)].map((m) => m[1]);
    await expect.poll(() => seen().length, { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    // Hidden again instead, the copy's second look would be its second delivery, and so on.
    expect(new Set(seen())).toEqual(new Set(['1']));
    writeFileSync(gate, '');
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['a.txt: ok']);
    expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 1, tries: 1 });
  });

  it('holds two tries per script process: the next is taken while the first still scores', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'gate-')), 'open');
    await worker({}, ahead);
    const runId = await submit(host, {
      entry_script: 'gated.js',
      arguments: ['--gate', gate],
      input: { container, path: 'few/' },
      mini_batch_size: '1',
      node_count: 1,
      process_count_per_node: 1,
      compute: ahead,
    });
    // One process, its script held by the gate: a second try is claimed behind it, no third.
    await waitFor(async () => (await claimsOf(runId)) === 2);
    writeFileSync(gate, '');
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['a.txt: ok', 'b.txt: ok', 'c.txt: ok', 'crash.txt: ok', 'd.txt: ok']);
    expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 5, tries: 5 });
  });

  it('writes nothing for a try given up while it ran; the next attempt writes its row once', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'gate-')), 'open');
    const w = await worker({}, fenced);
    const runId = await submit(host, {
      entry_script: 'gated.js',
      arguments: ['--gate', gate],
      input: { container, path: 'few/c.txt' },
      compute: fenced,
      run_max_try: 2,
    });
    await waitFor(async () => (await claimsOf(runId)) > 0);
    // The shard gives attempt 1 up (as after its worker's silence) while the script still holds it.
    const store = storageFromEnv({ AzureWebJobsStorage: storage() });
    const t = { runId, shard: 0, index: 0, attempt: 1, deadlineSeconds: START_TIMEOUT };
    expect(await settleTry(store, t, 0, () => Promise.resolve(false))).toEqual({
      alive: false,
      why: 'silent',
    });
    writeFileSync(gate, '');
    await w.waitForLine(
      new RegExp(
        `try run=${runId} mini-batch=0 attempt=1 outcome=dropped \\(given up by its shard while it ran\\)`,
      ),
    );
    const run = await finish(host, runId);
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(['c.txt: ok']);
    expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 1, itemsFailed: 0, tries: 2 });
  });

  it("drops a try of a run that has ended, leaving the run's parts as they were", async () => {
    const first = await worker({}, ended);
    const done = await runToEnd(host, {
      entry_script: 'echo.js',
      input: { container, path: 'few/' },
      mini_batch_size: '1',
      compute: ended,
    });
    expect(done.view.status).toBe('Completed');
    const runId = done.view.runId;
    expect(await first.kill('SIGTERM')).toBe(0);
    const parts = await partVersions(runId);
    expect(parts.size).toBeGreaterThan(0);
    // A message left on the queue, or forged, minutes later: an attempt no shard waits for.
    const queue = queues().getQueueClient(`minibatches-${ended}`);
    const claims = await claimsOf(runId);
    await queue.sendMessage(
      encodeMessage({
        runId,
        shard: 0,
        index: 0,
        attempt: 2,
        deadlineSeconds: START_TIMEOUT,
        replyTo: results,
      }),
    );
    const second = await worker({}, ended);
    await second.waitForLine(
      new RegExp(`try run=${runId} mini-batch=0 attempt=2 outcome=dropped \\(its run has ended\\)`),
    );
    expect(await partVersions(runId)).toEqual(parts);
    // Not even claimed.
    expect(await claimsOf(runId)).toBe(claims);
    // An attempt no shard hands out (past run_max_try): dropped before anything else is looked at.
    await queue.sendMessage(
      encodeMessage({
        runId,
        shard: 0,
        index: 0,
        attempt: 99,
        deadlineSeconds: START_TIMEOUT,
        replyTo: results,
      }),
    );
    await second.waitForLine(
      new RegExp(
        `try run=${runId} mini-batch=0 attempt=99 outcome=dropped \\(attempt 99 is beyond the run's run_max_try 3\\)`,
      ),
    );
    expect(await claimsOf(runId)).toBe(claims);
  });

  it("keeps a worker's downloads when another worker on the same machine stops", async () => {
    // Both workers' scratch space in one folder, as /dev/shm is on one machine.
    const scratch = mkdtempSync(path.join(tmpdir(), 'scratch-'));
    const gates = mkdtempSync(path.join(tmpdir(), 'gates-'));
    const env = { PARALLEL_RUN_TEMP: scratch };
    const stopping = await worker(env, shared);
    const staying = await worker(env, shared);
    const files = ['a.txt', 'b.txt', 'c.txt', 'crash.txt', 'd.txt'];
    const runId = await submit(host, {
      entry_script: 'gate_read.js',
      environment_variables: { GATE_DIR: gates },
      input: { container, path: 'few/' },
      mini_batch_size: '1',
      node_count: 2,
      process_count_per_node: 1,
      run_max_try: 1,
      compute: shared,
    });
    // Each worker holds two tries (one scoring, one downloaded behind it), all held by the gates.
    await waitFor(async () => (await claimsOf(runId)) === 4);
    const id = /worker (\S+) of pool/.exec(stopping.lines.join('\n'))?.[1];
    const itsTries = (await claimHolders(runId)).filter((c) => c.worker === id).map((c) => c.index);
    expect(itsTries).toHaveLength(2);
    const exiting = stopping.kill('SIGTERM');
    await stopping.waitForLine(/SIGTERM: taking no more tries; 2 running get \d+ s to finish/);
    for (const index of itsTries) writeFileSync(path.join(gates, files[index] ?? ''), '');
    // It finished its tries and shut its script processes down, removing its scratch folders.
    expect(await exiting).toBe(0);
    expect(stopping.lines.join('\n')).toMatch(/worker \S+ stopped/);
    // The other worker's tries read their downloads only now.
    for (const file of files) writeFileSync(path.join(gates, file), '');
    const run = await finish(host, runId);
    expect(run.errors).toEqual([]);
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(files.map((f) => `${f}: ${f}`));
    expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 5, tries: 5 });
    expect(
      staying.lines.filter((l) => l.includes(`try run=${runId} `) && l.includes('outcome=ok')),
    ).toHaveLength(5 - itsTries.length);
  });

  it("shuts an ended run's script processes down when the next run comes, not minutes later", async () => {
    await worker({}, retiring);
    const settings = { entry_script: 'chatty.js', compute: retiring, process_count_per_node: 1 };
    const first = await runToEnd(host, { ...settings, input: { container, path: 'few/a.txt' } });
    expect(first.view.status).toBe('Completed');
    const second = await runToEnd(host, { ...settings, input: { container, path: 'few/b.txt' } });
    expect(second.view.status).toBe('Completed');
    // The first run's pool is shut down once the second run's first try comes: its shutdown() runs,
    // and what it printed reaches the first run's user.log (the idle sweep would take 2 minutes).
    const log = BlobServiceClient.fromConnectionString(storage())
      .getContainerClient('runs')
      .getBlobClient(first.view.summary?.logs.script ?? '');
    const text = () => log.downloadToBuffer().then(String, () => '');
    await waitFor(async () => (await text()).includes('STDOUT: shutdown: bye'));
  });
});

/** Result messages the app's results function failed on five times (its queue trigger's poison queue). */
async function poisonedResults(): Promise<number> {
  const poison = queues().getQueueClient(`${results}-poison`);
  return (await poison.exists()) ? ((await poison.getProperties()).approximateMessagesCount ?? 0) : 0;
}

/** What a worker sends for a clean try of mini-batch 0 with one item. */
function succeeded(attempt: number) {
  return { index: 0, attempt, ok: true, final: true, inputs: 1, succeeded: 1, failedItems: 0, durationMs: 1 };
}

async function claimsOf(runId: string): Promise<number> {
  const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient('runs');
  let n = 0;
  for await (const b of runs.listBlobsFlat({ prefix: `${runId}/pool/` })) if (b.name) n++;
  return n;
}

/** The run's claim blobs, by name (`<index>-<attempt>.json`). */
async function claimNames(runId: string): Promise<string[]> {
  const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient('runs');
  const names: string[] = [];
  for await (const b of runs.listBlobsFlat({ prefix: `${runId}/pool/` }))
    names.push(b.name.slice(`${runId}/pool/`.length));
  return names;
}

/** Which worker holds each try of the run (its claim), by mini-batch. */
async function claimHolders(runId: string): Promise<{ index: number; worker: string }[]> {
  const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient('runs');
  const holders: { index: number; worker: string }[] = [];
  for await (const b of runs.listBlobsFlat({ prefix: `${runId}/pool/` })) {
    const claim = JSON.parse(String(await runs.getBlobClient(b.name).downloadToBuffer())) as {
      worker?: string;
    };
    const index = Number(/pool\/(\d+)-\d+\.json$/.exec(b.name)?.[1]);
    holders.push({ index, worker: claim.worker ?? '' });
  }
  return holders;
}

/** Each part of the run with its ETag and last write: a part written again has others. */
async function partVersions(runId: string): Promise<Map<string, string>> {
  const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient('runs');
  const parts = new Map<string, string>();
  for await (const b of runs.listBlobsFlat({ prefix: `${runId}/parts/` }))
    parts.set(b.name, `${b.properties.etag} ${b.properties.lastModified.toISOString()}`);
  return parts;
}

/** The next message on `queue`, hidden for a minute: waits (polling the queue) until there is one. */
async function takeMessage(queue: QueueClient): Promise<DequeuedMessageItem> {
  let taken: DequeuedMessageItem | undefined;
  await waitFor(async () => {
    [taken] = (await queue.receiveMessages({ visibilityTimeout: 60 })).receivedMessageItems;
    return taken !== undefined;
  });
  if (!taken) throw new Error('no message');
  return taken;
}

/** Polls `check` until it holds (no fixed sleeps: each poll is a storage round trip). */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
  }
}
