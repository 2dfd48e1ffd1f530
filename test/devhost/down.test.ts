import { describe, expect, inject, it } from 'vitest';
import { DurableEngine } from '../../devhost/durable/engine.js';
import { DurableStore } from '../../devhost/durable/store.js';
import { loadFunctionsLib } from '../../devhost/functionsLib.js';
import { Invoker } from '../../devhost/invoker.js';
import { createLogger } from '../../devhost/log.js';
import { Registry } from '../../devhost/registry.js';
import {
  call,
  fixtureApp,
  spawnDevHost,
  startOrchestration,
  uniqueNames,
  waitForInstance,
  type Status,
} from '../support/devhost.js';

/** An engine on the same task hub that has loaded nothing: what a client meets while the host is down or recovering. */
async function engineWithNothingLoaded(storage: string, hub: string): Promise<DurableEngine> {
  const log = createLogger('error', () => undefined);
  const store = await DurableStore.open(storage, hub);
  const invoker = new Invoker(loadFunctionsLib(fixtureApp), log, () => ({}));
  return new DurableEngine(store, new Registry(), invoker, log, {
    maxConcurrentActivityFunctions: 1,
    maxConcurrentOrchestratorFunctions: 1,
  });
}

describe('an instance across kill -9, while no host has it loaded', () => {
  it('keeps its last custom status, and the events and terminates sent meanwhile', async () => {
    const storage = inject('storage');
    const names = uniqueNames();
    const first = await spawnDevHost({ storage, names });
    const events = await startOrchestration(first, 'twoEvents');
    const race = await startOrchestration(first, 'race', 600_000);
    await first.waitForLine(new RegExp(`Functions\\.race' \\(Succeeded.*Instance=${race}`));
    await first.waitForLine(new RegExp(`Functions\\.twoEvents' \\(Succeeded.*Instance=${events}`));
    expect(
      (await call(first.baseUrl, 'POST', `/api/raise/${events}/a`, JSON.stringify('before'))).status,
    ).toBe(202);
    // The episode that took 'a' set the custom status; its runtime status stayed Running.
    await first.waitForLine(new RegExp(`Functions\\.twoEvents' \\(Succeeded.*Instance=${events}`), {
      count: 2,
    });
    await first.kill('SIGKILL');

    // Nothing has the instances loaded: messages must be kept for the host that loads them.
    const idle = await engineWithNothingLoaded(storage, names.hub);
    expect((await idle.getStatus(events))?.customStatus).toEqual({ stage: 'got a' });
    await idle.raiseEvent(events, 'b', 'while down');
    await idle.terminate(race, 'stopped while down');
    await expect(idle.raiseEvent('no-such-instance', 'b', null)).rejects.toThrow(/No instance/);

    const second = await spawnDevHost({ storage, names });
    try {
      const done: Status = await waitForInstance(second, events);
      expect(done.runtimeStatus).toBe('Completed');
      expect(done.output).toEqual(['before', 'while down']);
      expect(done.customStatus).toEqual({ stage: 'done' });
      const ended = await waitForInstance(second, race);
      expect(ended.runtimeStatus).toBe('Terminated');
      expect(ended.output).toBe('stopped while down');
      // A finished instance takes no more events: 410, and nothing is kept for it.
      const late = await call(
        second.baseUrl,
        'POST',
        `/runtime/webhooks/durabletask/instances/${events}/raiseEvent/b`,
        JSON.stringify('again'),
      );
      expect(late.status).toBe(410);
    } finally {
      await second.kill();
    }
  });
});
