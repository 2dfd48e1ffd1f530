import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  call,
  spawnDevHost,
  startOrchestration,
  waitForInstance,
  type DevHostProcess,
  type Status,
} from '../support/devhost.js';

let host: DevHostProcess;

beforeAll(async () => {
  host = await spawnDevHost({ storage: inject('storage') });
});

afterAll(async () => {
  await host.kill();
});

async function run(name: string, input?: unknown, history = false): Promise<Status> {
  const id = await startOrchestration(host, name, input);
  return waitForInstance(host, id, history);
}

function scheduled(status: Status, type: string): { id: number; name?: string }[] {
  return (status.historyEvents ?? [])
    .filter((e) => e.EventType === type)
    .map((e) => ({ id: e.EventId, ...(e.FunctionName ? { name: e.FunctionName } : {}) }));
}

describe('orchestrations on the real durable-functions library', () => {
  it('runs activities in sequence and passes string inputs through', async () => {
    const status = await run('helloSequence');
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual(['Hello Tokyo', 'Hello Seattle', 'Hello London']);
  });

  it('fans out with Task.all and fans in', async () => {
    const status = await run('fanOut', 60);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(60 * 61);
  });

  it('retries a failing activity with the task ids the library expects', async () => {
    const status = await run('retrying', { key: 'retry-ok', failTimes: 2, attempts: 3 }, true);
    expect(status.output).toEqual({ ok: true, attempt: 3, after: 42 });
    // attempt 0 → retry timer 1 → attempt 2 → timer 3 → attempt 4 succeeds → the next activity is 5.
    expect(scheduled(status, 'TaskScheduled')).toEqual([
      { id: 0, name: 'flaky' },
      { id: 2, name: 'flaky' },
      { id: 4, name: 'flaky' },
      { id: 5, name: 'double' },
    ]);
    expect(scheduled(status, 'TimerCreated').map((t) => t.id)).toEqual([1, 3]);
  });

  it('fails a retried task with TaskFailedError after the last attempt', async () => {
    const status = await run('retrying', { key: 'retry-exhausted', failTimes: 10, attempts: 3 }, true);
    expect(status.output).toEqual({ ok: false, isTaskFailedError: true, message: 'Error: flaky failure 3' });
    expect(scheduled(status, 'TaskScheduled').map((t) => t.id)).toEqual([0, 2, 4]);
    // Two back-off timers, then the dummy timer DTFx waits on after the last failure.
    expect(scheduled(status, 'TimerCreated').map((t) => t.id)).toEqual([1, 3, 5]);
  });

  it('keeps ids straight when retries interleave with other tasks in Task.all', async () => {
    const status = await run('parallelRetries', 'interleaved');
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual([{ attempt: 3 }, 10, { attempt: 2 }, 12]);
  });

  it('runs at most maxConcurrentActivityFunctions activities at once', async () => {
    // The fixture's host.json allows 4.
    expect((await run('probeConcurrency')).output).toBe(4);
  });

  it("delivers an activity's failure as df.TaskFailedError with its message and task name", async () => {
    const status = await run('catchFailure');
    expect(status.output).toEqual({ isTaskFailedError: true, message: 'Error: kaboom', taskName: 'explode' });
  });

  it('fails the instance when the orchestrator does not catch', async () => {
    const status = await run('unhandledFailure');
    expect(status.runtimeStatus).toBe('Failed');
    expect(status.output).toBe("Orchestrator function 'unhandledFailure' failed: Error: unhandled boom");
  });

  it('fails a call to an activity that is not registered, naming it', async () => {
    const status = await run('callsMissingActivity');
    expect(status.output).toContain("The function 'noSuchActivity' doesn't exist");
  });

  it('lets a timer win a Task.any race', async () => {
    const status = await run('race', 200);
    expect(status.output).toEqual({ outcome: 'timeout', after: 8, timerCanceled: false });
  });

  it('lets an event win a Task.any race and cancels the timer', async () => {
    const id = await startOrchestration(host, 'race', 600_000);
    await host.waitForLine(new RegExp(`Functions\\.race' \\(Succeeded.*Instance=${id}`));
    const raised = await call(host.baseUrl, 'POST', `/api/raise/${id}/approve`, { by: 'test' });
    expect(raised.status).toBe(202);
    const status = await waitForInstance(host, id);
    expect(status.output).toEqual({ outcome: 'approved:{"by":"test"}', after: 8, timerCanceled: true });
  });

  it('waits for external events in order and publishes custom status', async () => {
    const id = await startOrchestration(host, 'twoEvents');
    await host.waitForLine(new RegExp(`Functions\\.twoEvents' \\(Succeeded.*Instance=${id}`));
    const waiting = await call(host.baseUrl, 'GET', `/api/status/${id}`);
    expect((waiting.body as Status).customStatus).toEqual({ stage: 'waiting' });
    // An event raised before it is awaited is kept until the orchestrator asks for it.
    await call(host.baseUrl, 'POST', `/api/raise/${id}/b`, JSON.stringify('second'));
    await call(host.baseUrl, 'POST', `/api/raise/${id}/a`, JSON.stringify('first'));
    const status = await waitForInstance(host, id);
    expect(status.output).toEqual(['first', 'second']);
    expect(status.customStatus).toEqual({ stage: 'done' });
  });

  it('runs a durable timer', async () => {
    expect((await run('timerThenDone')).output).toBe('done');
  });

  it('runs sub-orchestrations, with retries and their failures', async () => {
    const status = await run('parent', 3);
    expect(status.output).toEqual({
      doubled: [2, 4, 6],
      childError: expect.stringContaining(
        "Orchestrator function 'failingChild' failed: Error: child boom",
      ) as string,
      parentOfChild: null,
    });
    const child = await waitForInstance(host, `${status.instanceId}-child-1`);
    expect(child.runtimeStatus).toBe('Completed');
    expect(child.output).toBe(4);
  });

  it('continues as new until done', async () => {
    const status = await run('counter', { i: 0, until: 3 });
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(3);
    expect(status.input).toEqual({ i: 3, until: 3 });
  });

  it('terminates a running instance, then refuses events for it', async () => {
    const id = await startOrchestration(host, 'twoEvents');
    await host.waitForLine(new RegExp(`Functions\\.twoEvents' \\(Succeeded.*Instance=${id}`));
    expect((await call(host.baseUrl, 'POST', `/api/terminate/${id}?reason=enough`)).status).toBe(202);
    const status = await waitForInstance(host, id);
    expect(status.runtimeStatus).toBe('Terminated');
    expect(status.output).toBe('enough');
    const late = await call(
      host.baseUrl,
      'POST',
      `/runtime/webhooks/durabletask/instances/${id}/raiseEvent/a`,
      '1',
    );
    expect(late.status).toBe(410);
  });

  it('lists instances by status and purges one', async () => {
    const id = await startOrchestration(host, 'helloSequence');
    await waitForInstance(host, id);
    const completed = (await call(host.baseUrl, 'GET', '/api/list?status=Completed')).body as {
      instanceId: string;
    }[];
    expect(completed.map((s) => s.instanceId)).toContain(id);
    const all = (await call(host.baseUrl, 'GET', '/api/list')).body as { instanceId: string }[];
    expect(all.length).toBeGreaterThanOrEqual(completed.length);
    expect((await call(host.baseUrl, 'DELETE', `/api/purge/${id}`)).body).toEqual({ deleted: 1 });
    expect((await call(host.baseUrl, 'GET', `/runtime/webhooks/durabletask/instances/${id}`)).status).toBe(
      404,
    );
  });

  it('gives createCheckStatusResponse URLs that work against the devhost', async () => {
    const started = await call(host.baseUrl, 'POST', '/api/start/helloSequence');
    expect(started.status).toBe(202);
    const links = started.body as { id: string; statusQueryGetUri: string };
    expect(started.headers.get('location')).toBe(links.statusQueryGetUri);
    await waitForInstance(host, links.id);
    const status = await fetch(links.statusQueryGetUri);
    expect(status.status).toBe(200);
    expect(((await status.json()) as Status).runtimeStatus).toBe('Completed');
  });
});

describe('durable HTTP API, bad input', () => {
  it('refuses to start an orchestration that is not registered', async () => {
    const reply = await call(host.baseUrl, 'POST', '/runtime/webhooks/durabletask/orchestrators/nope');
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      error: {
        code: 'BAD_REQUEST',
        message: "The function 'nope' doesn't exist, is disabled, or is not an orchestrator function.",
      },
    });
  });

  it('refuses malformed JSON with a message, not a stack', async () => {
    const reply = await call(
      host.baseUrl,
      'POST',
      '/runtime/webhooks/durabletask/orchestrators/fanOut',
      '{"n": ',
    );
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('The request body is not valid JSON');
    expect(reply.text).not.toMatch(/\bat .+\.js:\d+/);
  });

  it('refuses a body nested too deeply to store, and keeps serving', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const reply = await call(
      host.baseUrl,
      'POST',
      '/runtime/webhooks/durabletask/orchestrators/fanOut',
      deep,
    );
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('nests too deeply');
    const again = await call(host.baseUrl, 'POST', '/runtime/webhooks/durabletask/orchestrators/nope');
    expect(again.status).toBe(400);
  });

  it('refuses a second start of a running instance id', async () => {
    const first = await call(
      host.baseUrl,
      'POST',
      '/runtime/webhooks/durabletask/orchestrators/twoEvents/dup-1',
    );
    expect(first.status).toBe(202);
    const second = await call(
      host.baseUrl,
      'POST',
      '/runtime/webhooks/durabletask/orchestrators/twoEvents/dup-1',
    );
    expect(second.status).toBe(409);
    expect(second.text).toContain("An instance with ID 'dup-1' already exists");
  });

  it('answers 404 for unknown instances and invalid ids', async () => {
    expect(
      (await call(host.baseUrl, 'GET', '/runtime/webhooks/durabletask/instances/unknown-id')).status,
    ).toBe(404);
    const bad = await call(
      host.baseUrl,
      'POST',
      '/runtime/webhooks/durabletask/orchestrators/fanOut/a%23b',
      '1',
    );
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("instance id 'a#b' is not valid");
  });
});
