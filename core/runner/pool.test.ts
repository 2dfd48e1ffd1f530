import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_LINE_CHARS, WorkerPool } from './pool.js';

const scripts = path.resolve(import.meta.dirname, '../../test/fixtures/scripts/dist');

function pool(
  script: string,
  size: number,
  args: Record<string, string> = {},
  onLog?: (workerIndex: number, level: string, text: string) => void,
  initTimeoutMs?: number,
): WorkerPool {
  return new WorkerPool({
    size,
    ...(initTimeoutMs === undefined ? {} : { initTimeoutMs }),
    ...(onLog ? { onLog } : {}),
    init: {
      scriptPath: path.join(scripts, script),
      scriptsRoot: scripts,
      runId: 'pool-test',
      arguments: args,
      sideInputs: {},
      outputDir: scripts,
      loggingLevel: 'WARNING',
      modelCache: scripts,
      models: {},
      executionProviders: ['cpu'],
    },
  });
}

let current: WorkerPool | undefined;
afterEach(async () => {
  await current?.shutdown(1_000);
  current = undefined;
});

describe('WorkerPool', () => {
  it('start() runs init() in every process before any try, and the tries find them started', async () => {
    const marks = await mkdtemp(path.join(os.tmpdir(), 'pool-start-'));
    try {
      const processes = pool('init_marks.js', 2, { marks });
      current = processes;
      await processes.start();
      const started = await readdir(marks);
      expect(started).toHaveLength(2);
      const files = Array.from({ length: 6 }, (_, i) => `/x/${i}.txt`);
      const outcomes = await Promise.all(
        files.map((f, i) => processes.run({ inputs: [f], miniBatchIndex: i }, 5_000)),
      );
      expect(outcomes.every((o) => o.ok)).toBe(true);
      // No process started again, none twice: init() ran once in each.
      expect((await readdir(marks)).sort()).toEqual(started.sort());
    } finally {
      await rm(marks, { recursive: true, force: true });
    }
  });

  it('runs mini-batches on its processes and returns their rows', async () => {
    current = pool('echo.js', 2);
    const outcomes = await Promise.all([
      current.run({ inputs: ['/x/a.txt'], miniBatchIndex: 0 }, 5_000),
      current.run({ inputs: ['/x/b.txt', '/x/c.txt'], miniBatchIndex: 1 }, 5_000),
    ]);
    expect(outcomes).toEqual([
      { ok: true, rows: ['a.txt: ok'], failures: [] },
      { ok: true, rows: ['b.txt: ok', 'c.txt: ok'], failures: [] },
    ]);
  });

  it('stops a process stuck past the timeout and serves the next try with a fresh one', async () => {
    current = pool('hang_on.js', 1);
    const stuck = await current.run({ inputs: ['/x/hang-1.txt'], miniBatchIndex: 0 }, 300);
    expect(stuck).toMatchObject({
      ok: false,
      kind: 'timeout',
      error: {
        message: 'run() did not return within 0.3 s (run_invocation_timeout); its worker process was stopped',
      },
    });
    expect(await current.run({ inputs: ['/x/good.txt'], miniBatchIndex: 1 }, 5_000)).toEqual({
      ok: true,
      rows: ['good.txt: ok'],
      failures: [],
    });
  });

  it('runs the tries handed to one process one after another, in order', async () => {
    const processes = pool('one_at_a_time.js', 2);
    current = processes;
    const files = Array.from({ length: 12 }, (_, i) => `/x/${i}.txt`);
    const outcomes = await Promise.all(
      files.map((f, i) => processes.run({ inputs: [f], miniBatchIndex: i }, 5_000)),
    );
    expect(outcomes).toEqual(
      files.map((f) => ({ ok: true, rows: [`${path.basename(f)}: ok`], failures: [] })),
    );
  });

  it('runs a try that waited behind one that timed out on the fresh process, not as a failure', async () => {
    current = pool('hang_on.js', 1);
    const [stuck, behind] = await Promise.all([
      current.run({ inputs: ['/x/hang-1.txt'], miniBatchIndex: 0 }, 300),
      current.run({ inputs: ['/x/good.txt'], miniBatchIndex: 1 }, 5_000),
    ]);
    expect(stuck).toMatchObject({ ok: false, kind: 'timeout' });
    expect(behind).toEqual({ ok: true, rows: ['good.txt: ok'], failures: [] });
  });

  it('runs a try that waited behind one that ended its process, and reports only that one', async () => {
    current = pool('one_at_a_time.js', 1);
    const [ended, behind] = await Promise.all([
      current.run({ inputs: ['/x/exit-1.txt'], miniBatchIndex: 0 }, 5_000),
      current.run({ inputs: ['/x/good.txt'], miniBatchIndex: 1 }, 5_000),
    ]);
    expect(ended).toMatchObject({
      ok: false,
      kind: 'crash',
      error: { message: 'the worker process exited (code 3)' },
    });
    expect(behind).toEqual({ ok: true, rows: ['good.txt: ok'], failures: [] });
  });

  it("names the scripts folder as <scripts> in a script's errors, never by its place on the host", async () => {
    current = pool('missing_import.js', 1);
    const outcome = await current.run({ inputs: ['/x/a.txt'], miniBatchIndex: 0 }, 5_000);
    expect(outcome).toMatchObject({
      ok: false,
      kind: 'init',
      error: {
        message:
          "init() failed: Cannot find module '<scripts>/not-deployed.js' imported from <scripts>/missing_import.js",
      },
    });
    expect(JSON.stringify(outcome)).not.toContain(scripts);
  });

  it('fails a script whose tableView is no view, naming what it exports: null as null, an object by its keys', async () => {
    for (const [script, shown] of [
      ['table_null_view.js', 'null'],
      ['table_object_view.js', 'an object with keys name'],
    ]) {
      current = pool(script ?? '', 1);
      const outcome = await current.run({ inputs: ['/x/a.txt'], miniBatchIndex: 0 }, 5_000);
      expect(outcome).toMatchObject({
        ok: false,
        kind: 'init',
        error: {
          message: `entry script ${script} exports tableView = ${shown}; it must be 'rows' (row objects, the default) or 'columns'`,
        },
      });
      await current.shutdown(1_000);
    }
  });

  it('ends a process whose init() does not return in time, counting it as init() failing, so the try fails saying so', async () => {
    current = pool('slow_init.js', 1, {}, undefined, 1_000);
    const outcome = await current.run({ inputs: ['/x/a.txt'], miniBatchIndex: 0 }, 60_000);
    expect(outcome).toMatchObject({ ok: false });
    const message = outcome.ok ? '' : outcome.error.message;
    expect(message).toMatch(/^init\(\) failed: it did not return within 1 s .*its process was ended/);
  });

  it('answers tries still waiting for a process when it shuts down', async () => {
    current = pool('hang_on.js', 1);
    const busy = current.run({ inputs: ['/x/hang-1.txt'], miniBatchIndex: 0 }, 60_000);
    const waiting = current.run({ inputs: ['/x/good.txt'], miniBatchIndex: 1 }, 60_000);
    await current.shutdown(100);
    expect(await waiting).toMatchObject({
      ok: false,
      kind: 'ended',
      error: { message: expect.stringContaining('shut down') as string },
    });
    expect(await busy).toMatchObject({ ok: false, kind: 'ended' });
  });

  it('keeps at most MAX_LINE_CHARS of a line the script prints or logs, and the host keeps going', async () => {
    const lines: string[] = [];
    const chars = 1_000_000;
    current = pool('long_line.js', 1, { chars: String(chars) }, (_, level, text) =>
      lines.push(`${level} ${text}`),
    );
    expect(await current.run({ inputs: ['/x/a.txt'], miniBatchIndex: 0 }, 30_000)).toEqual({
      ok: true,
      rows: ['a.txt: ok'],
      failures: [],
    });
    await current.shutdown(1_000);
    const cut = (c: string) =>
      `${c.repeat(MAX_LINE_CHARS)}… (line cut: ${chars - MAX_LINE_CHARS} more characters not kept)`;
    // Printed lines come through a pipe, logged ones through the IPC channel: in order within each only.
    // Shutdown waits for the pipe's last lines a second at most: on a loaded machine they may come later.
    await expect
      .poll(() => lines.filter((l) => l.startsWith('STDOUT')), { timeout: 15_000, interval: 50 })
      .toEqual([`STDOUT ${cut('x')}`, 'STDOUT after']);
    expect(lines.filter((l) => !l.startsWith('STDOUT'))).toEqual([`WARNING ${cut('y')}`]);
  });

  it("cuts a logged line in the script's process: the host is never sent more than MAX_LINE_CHARS of it", async () => {
    const chars = 20_000_000;
    current = pool('long_line.js', 1, { chars: String(chars) });
    await current.start();
    // What crosses the IPC channel, as the host receives it.
    const child = (current as unknown as { slots: { child: ChildProcess }[] }).slots[0]?.child;
    const sent: number[] = [];
    child?.on('message', (m: { type: string; text?: string }) => {
      if (m.type === 'log') sent.push(m.text?.length ?? 0);
    });
    expect(await current.run({ inputs: ['/x/a.txt'], miniBatchIndex: 0 }, 60_000)).toMatchObject({
      ok: true,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeLessThan(MAX_LINE_CHARS + 100);
  });

  it('never cuts a line between the halves of a surrogate pair (an emoji), printed or logged', async () => {
    const lines: string[] = [];
    current = pool('emoji_cut.js', 1, {}, (_, level, text) => lines.push(`${level} ${text}`));
    expect(await current.run({ inputs: ['/x/a.txt'], miniBatchIndex: 0 }, 5_000)).toMatchObject({ ok: true });
    await current.shutdown(1_000);
    const cut = `${'x'.repeat(MAX_LINE_CHARS - 1)}… (line cut: 11 more characters not kept)`;
    // Printed and logged lines come by different channels: either may be first.
    expect(lines.sort()).toEqual([`STDOUT ${cut}`, `WARNING ${cut}`]);
  });

  it('ends the processes a script started with its worker process: after a timeout, and at shutdown', async () => {
    const pids = await mkdtemp(path.join(os.tmpdir(), 'pool-spawns-'));
    /** Whether the process runs (a zombie has ended: only its parent's wait is missing). */
    const running = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    try {
      current = pool('spawns.js', 1, { pids });
      expect(await current.run({ inputs: ['/x/hang-1.txt'], miniBatchIndex: 0 }, 500)).toMatchObject({
        ok: false,
        kind: 'timeout',
      });
      expect(await current.run({ inputs: ['/x/good.txt'], miniBatchIndex: 1 }, 5_000)).toMatchObject({
        ok: true,
      });
      const timedOut = Number(await readFile(path.join(pids, 'hang-1.txt'), 'utf8'));
      const served = Number(await readFile(path.join(pids, 'good.txt'), 'utf8'));
      // The try that timed out: its process was stopped, and the sleep it started with it.
      await vi.waitFor(() => expect(running(timedOut)).toBe(false), { timeout: 5_000 });
      expect(running(served)).toBe(true);
      await current.shutdown(1_000);
      await vi.waitFor(() => expect(running(served)).toBe(false), { timeout: 5_000 });
    } finally {
      await rm(pids, { recursive: true, force: true });
    }
  });

  it('reports a thrown value whose reading throws as the try failing, not as a crash of its process', async () => {
    current = pool('throw_odd.js', 1);
    const cannotRead = (kind: string, why: string) => ({
      ok: false,
      kind: 'exception',
      error: {
        message: `the entry script threw ${kind}, which cannot be read as an error (reading it threw${why})`,
      },
    });
    expect(await current.run({ inputs: ['/x/null-prototype'], miniBatchIndex: 0 }, 5_000)).toEqual(
      cannotRead('[object Object]', ': Cannot convert object to primitive value'),
    );
    expect(await current.run({ inputs: ['/x/to-string'], miniBatchIndex: 1 }, 5_000)).toEqual(
      cannotRead('[object Object]', ': no string for you'),
    );
    expect(await current.run({ inputs: ['/x/message-getter'], miniBatchIndex: 2 }, 5_000)).toEqual(
      cannotRead('[object Error]', ': no message for you'),
    );
    expect(await current.run({ inputs: ['/x/fine'], miniBatchIndex: 3 }, 5_000)).toEqual({
      ok: true,
      rows: ['fine: ok'],
      failures: [],
    });
  });
});
