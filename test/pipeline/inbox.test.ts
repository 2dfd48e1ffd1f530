import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { call } from '../support/devhost.js';
import { finish } from '../support/pipeline.js';
import {
  containerOf,
  drop,
  inboxNames,
  inboxState,
  listNames,
  outputOf,
  pipelineRuns,
  settledBatches,
  settledFiles,
  startInboxApp,
} from '../support/inbox.js';

const storage = () => inject('storage');
const names = inboxNames();
const tag = names.inbox.slice('inbox-'.length);
let host: DevHostProcess;

beforeAll(async () => {
  host = await startInboxApp(storage(), names);
});

afterAll(async () => {
  await host.kill();
});

async function publish(pipeline: string, inbox?: object): Promise<void> {
  const reply = await call(host.baseUrl, 'PUT', `/api/pipelines/${pipeline}`, {
    settings: { entry_script: 'echo.js', input: { container: 'unused', path: 'x/' }, mini_batch_size: '4' },
    ...(inbox ? { inbox } : {}),
  });
  expect(reply.status, reply.text).toBe(201);
}

const rows = (files: string[]) => files.map((f) => `${f}: ok`).sort();

// Each test waits for whole runs (start, plan, mini-batches, finalize, moves) on a shared machine.
describe('runs started by dropping files into the inbox', () => {
  it('makes two bursts separated by more than quiet_seconds into two runs, each file once, then moves them', async () => {
    const pipeline = `burst-${tag}`;
    await publish(pipeline, { quiet_seconds: 2 });
    const first = Array.from({ length: 15 }, (_, i) => `a ${i} ünï #${i} 100%.txt`);
    const second = Array.from({ length: 15 }, (_, i) => `b-${String(i).padStart(2, '0')}.txt`);
    await drop(storage(), names, pipeline, first);
    // The first burst's batch is cut before the second burst is dropped.
    await expect
      .poll(async () => (await inboxState(host, pipeline)).batches.length, { timeout: 60_000, interval: 200 })
      .toBe(1);
    await drop(storage(), names, pipeline, second);
    const batches = await settledBatches(host, pipeline, 2);
    expect(batches.map((b) => b.files)).toEqual([15, 15]);

    const runs = await pipelineRuns(host, pipeline);
    expect(runs).toHaveLength(2);
    const outputs = await Promise.all(runs.map((r) => outputOf(host, r.runId)));
    expect(outputs.flat().sort()).toEqual(rows([...first, ...second]));
    for (const run of runs) {
      expect(run.status).toBe('Completed');
      expect(run.source).toMatchObject({ kind: 'inbox', pipeline, files: 15 });
      expect(run.source.from <= run.source.to).toBe(true);
    }
    // Moved under inbox-done/<pipeline>/<runId>/, with their names; nothing left waiting.
    const done = await listNames(containerOf(storage(), names.done), `${pipeline}/`);
    const expected = batches.flatMap((b, i) =>
      (i === 0 ? first : second).map((f) => `${pipeline}/${b.runId ?? ''}/${f}`),
    );
    expect(done).toEqual(expected.sort());
    expect(await listNames(containerOf(storage(), names.inbox), `${pipeline}/`)).toEqual([]);
    expect((await inboxState(host, pipeline)).waiting).toBe(0);
  }, 180_000);

  it('adds no row for a duplicated event, before or after its batch was cut', async () => {
    const pipeline = `dup-${tag}`;
    await publish(pipeline, { quiet_seconds: 1, after_run: 'leave' });
    const files = ['x1.txt', 'x2.txt', 'x3.txt'];
    await drop(storage(), names, pipeline, files);
    await settledFiles(host, pipeline, 3);
    const deliverAgain = async (file: string) => {
      const reply = await call(host.baseUrl, 'POST', '/admin/functions/inboxBlobCreated', {
        input: `${names.inbox}/${pipeline}/${file}`,
      });
      expect(reply.status, reply.text).toBe(202);
    };
    // After the run: the files were left in place, and their events come again.
    await deliverAgain('x1.txt');
    await deliverAgain('x2.txt');
    await host.waitForLine(/x1\.txt was taken by a batch already: duplicate event ignored/);
    // Before the cut: a new file's event twice.
    await drop(storage(), names, pipeline, ['y.txt']);
    await deliverAgain('y.txt');
    await settledFiles(host, pipeline, 4);
    const runs = await pipelineRuns(host, pipeline);
    const outputs = await Promise.all(runs.map((r) => outputOf(host, r.runId)));
    expect(outputs.flat().sort()).toEqual(rows([...files, 'y.txt']));
    // Left in place, as after_run "leave" says.
    expect(await listNames(containerOf(storage(), names.inbox), `${pipeline}/`)).toEqual(
      [...files, 'y.txt'].map((f) => `${pipeline}/${f}`),
    );
  }, 180_000);

  it('cuts a drop larger than max_files into several runs', async () => {
    const pipeline = `many-${tag}`;
    await publish(pipeline, { quiet_seconds: 1, max_files: 4 });
    const files = Array.from({ length: 10 }, (_, i) => `m${i}.txt`);
    await drop(storage(), names, pipeline, files);
    const batches = await settledFiles(host, pipeline, 10);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    for (const b of batches) expect(b.files).toBeLessThanOrEqual(4);
    const runs = await pipelineRuns(host, pipeline);
    const outputs = await Promise.all(runs.map((r) => outputOf(host, r.runId)));
    expect(outputs.flat().sort()).toEqual(rows(files));
  }, 180_000);

  it('shows the files waiting and when their run starts, and starts it at once at max_files', async () => {
    const pipeline = `held-${tag}`;
    await publish(pipeline, { quiet_seconds: 3600, max_files: 3 });
    await drop(storage(), names, pipeline, ['h1.txt', 'h2.txt']);
    let state = await inboxState(host, pipeline);
    await vi.waitFor(
      async () => {
        state = await inboxState(host, pipeline);
        expect(state.waiting).toBe(2);
        expect(state.collector?.phase).toBe('waiting');
      },
      { timeout: 30_000, interval: 200 },
    );
    // About an hour after the last file: far from now, so nothing but max_files starts this run.
    expect(Date.parse(state.nextRunAt ?? '') - Date.now()).toBeGreaterThan(3000 * 1000);
    await drop(storage(), names, pipeline, ['h3.txt']);
    const [batch] = await settledFiles(host, pipeline, 3);
    expect(batch?.files).toBe(3);
    expect(await outputOf(host, batch?.runId ?? '')).toEqual(rows(['h1.txt', 'h2.txt', 'h3.txt']));
  }, 180_000);

  it('rejects drops for a pipeline that does not exist or has no inbox, with the reason beside them', async () => {
    const plain = `plain-${tag}`;
    await publish(plain);
    await drop(storage(), names, `nosuch-${tag}`, ['lost.txt']);
    await drop(storage(), names, plain, ['no-inbox.txt']);
    const rejected = containerOf(storage(), names.rejected);
    await expect
      .poll(
        async () => [
          ...(await listNames(rejected, `nosuch-${tag}/`)),
          ...(await listNames(rejected, `${plain}/`)),
        ],
        {
          timeout: 30_000,
          interval: 200,
        },
      )
      .toEqual([
        `nosuch-${tag}/lost.txt`,
        `nosuch-${tag}/lost.txt.reason.txt`,
        `${plain}/no-inbox.txt`,
        `${plain}/no-inbox.txt.reason.txt`,
      ]);
    const reason = async (name: string) =>
      (await rejected.getBlobClient(`${name}.reason.txt`).downloadToBuffer()).toString('utf8');
    expect(await reason(`nosuch-${tag}/lost.txt`)).toContain(`pipeline "nosuch-${tag}" does not exist`);
    expect(await reason(`${plain}/no-inbox.txt`)).toContain(`pipeline "${plain}" has no inbox`);
    expect((await rejected.getBlobClient(`nosuch-${tag}/lost.txt`).downloadToBuffer()).toString('utf8')).toBe(
      'lost.txt',
    );
    expect(await listNames(containerOf(storage(), names.inbox), `nosuch-${tag}/`)).toEqual([]);
    await host.waitForLine(/inbox: .*lost\.txt rejected/);
  }, 180_000);

  it('rejects a name too long to be moved to the done container after its run, saying how long a name may be', async () => {
    const pipeline = `long-${tag}`;
    await publish(pipeline, { quiet_seconds: 2 });
    const long = `${'n'.repeat(1001)}.txt`;
    await drop(storage(), names, pipeline, [long]);
    const rejected = containerOf(storage(), names.rejected);
    // Even its reason's name would pass 1,024 characters: both go under _unsafe-names/, by hash.
    const listed = async () => listNames(rejected, '_unsafe-names/');
    await expect
      .poll(async () => (await listed()).filter((n) => n.endsWith('.reason.txt')).length, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(1);
    const [reasonName] = (await listed()).filter((n) => n.endsWith('.reason.txt'));
    const reason = (await rejected.getBlobClient(reasonName ?? '').downloadToBuffer()).toString('utf8');
    const longest = 1024 - pipeline.length - 63 - 2;
    expect(reason).toContain(`"${pipeline}/${long}"`);
    expect(reason).toContain(`has ${long.length} characters`);
    expect(reason).toContain(`names under ${pipeline}/ may have at most ${longest}`);
    await expect.poll(async () => (await listed()).length, { timeout: 30_000, interval: 200 }).toBe(2);
    expect(await listNames(containerOf(storage(), names.inbox), `${pipeline}/`)).toEqual([]);
    expect((await inboxState(host, pipeline)).batches).toEqual([]);
  }, 120_000);

  it('rejects a name with a control character, and runs the files dropped beside it', async () => {
    const pipeline = `ctl-${tag}`;
    await publish(pipeline, { quiet_seconds: 2 });
    const good = ['c-1.txt', 'c-2.txt'];
    // XML cannot hold \u0001: Azurite's listing of the inbox once failed whole on it (a 500), so no drop ran.
    await drop(storage(), names, pipeline, [...good, 'bell\u0001.txt']);
    const [batch] = await settledBatches(host, pipeline, 1);
    expect(batch?.files).toBe(2);
    const [run] = await pipelineRuns(host, pipeline);
    expect(run?.status).toBe('Completed');
    expect((await outputOf(host, run?.runId ?? '')).sort()).toEqual(rows(good));
    const rejected = containerOf(storage(), names.rejected);
    await expect
      .poll(async () => (await listNames(rejected, '_unsafe-names/')).length, {
        timeout: 30_000,
        interval: 200,
      })
      .toBeGreaterThanOrEqual(2);
    const reasons = await Promise.all(
      (await listNames(rejected, '_unsafe-names/'))
        .filter((n) => n.endsWith('.reason.txt'))
        .map(async (n) => (await rejected.getBlobClient(n).downloadToBuffer()).toString('utf8')),
    );
    expect(reasons.some((r) => r.includes(`${pipeline}/bell\\u0001.txt`))).toBe(true);
  }, 120_000);

  it('refuses at once to resume a failed run whose files were moved, and resumes one whose files were left', async () => {
    const failing = (pipeline: string, afterRun: string) =>
      call(host.baseUrl, 'PUT', `/api/pipelines/${pipeline}`, {
        settings: {
          entry_script: 'fail_named.js',
          input: { container: 'unused', path: 'x/' },
          mini_batch_size: '1',
          error_threshold: 0,
          node_count: 1,
          process_count_per_node: 1,
        },
        inbox: { quiet_seconds: 1, after_run: afterRun },
      });
    const files = ['a.txt', 'bad-1.txt', 'c.txt'];
    const moved = `moved-${tag}`;
    const left = `left-${tag}`;
    expect((await failing(moved, 'move')).status).toBe(201);
    expect((await failing(left, 'leave')).status).toBe(201);
    await drop(storage(), names, moved, files);
    await drop(storage(), names, left, files);

    const [movedBatch] = await settledBatches(host, moved, 1);
    expect(movedBatch?.settled?.status).toBe('Failed');
    const refused = await call(host.baseUrl, 'POST', `/api/runs/${movedBatch?.runId ?? ''}/resume`, {
      error_threshold: -1,
    });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.text).toContain(`moved to ${names.done}/${moved}/${movedBatch?.runId ?? ''}/`);
    expect(refused.text).toContain('cannot be resumed');

    const [leftBatch] = await settledBatches(host, left, 1);
    expect(leftBatch?.settled?.status).toBe('Failed');
    const resumed = await call(host.baseUrl, 'POST', `/api/runs/${leftBatch?.runId ?? ''}/resume`, {
      error_threshold: -1,
    });
    expect(resumed.status, resumed.text).toBe(202);
    const done = await finish(host, (resumed.body as { runId: string }).runId);
    expect(done.view.status).toBe('Completed');
    expect(done.output.sort()).toEqual(rows(['a.txt', 'c.txt']));
    expect(done.errors.map((e) => e.item)).toEqual(['bad-1.txt']);
  }, 180_000);

  it('ignores zero-byte markers', async () => {
    const pipeline = `burst-${tag}`;
    await containerOf(storage(), names.inbox).getBlockBlobClient(`${pipeline}/folder/`).upload('', 0);
    await containerOf(storage(), names.inbox).getBlockBlobClient(`${pipeline}/empty.txt`).upload('', 0);
    await host.waitForLine(/empty\.txt ignored: an empty \(zero-byte\) marker/);
    expect((await inboxState(host, pipeline)).waiting).toBe(0);
  }, 180_000);
});
