import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { containers } from '../storage/layout.js';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import {
  claimTry,
  dropBeacon,
  finishClaim,
  poolHasLiveWorker,
  renewClaim,
  settleTry,
  touchBeacon,
} from './claims.js';
import type { MiniBatchResult } from '../outputs/records.js';
import type { PoolTry } from './protocol.js';

let storage: Storage;
const noWorker = () => Promise.resolve(false);
/** The shard's check with a deadline of an hour, or at once (every claim silent); no worker alive. */
const abandonUnlessAlive = (t: PoolTry, staleMs: number) => settleTry(storage, t, staleMs, noWorker);
const HOUR = 3_600_000;

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  await storage.blobs.getContainerClient(containers.runs).createIfNotExists();
});

/** A try of a run of its own, so tests never see each other's claims. */
const aTry = (attempt = 1): PoolTry => ({
  runId: `claims-${randomBytes(4).toString('hex')}`,
  shard: 0,
  index: 7,
  attempt,
  deadlineSeconds: 60,
});

/** Staleness limits: an hour (every claim is fresh), or none (every claim is silent, as a dead worker's). */
const STALE_AT_ONCE = 0;

describe('pool try claims (real Azurite)', () => {
  it('a try is either given up or taken, never both, however the two race', async () => {
    for (let round = 0; round < 20; round++) {
      const t = aTry();
      const [taken, check] = await Promise.all([
        claimTry(storage, t, 'worker-a', HOUR),
        abandonUnlessAlive(t, HOUR),
      ]);
      const workerWon = 'taken' in taken;
      expect(check.alive, `round ${round}`).toBe(workerWon);
      if (!workerWon) expect(taken).toEqual({ skip: 'abandoned' });
    }
  });

  it('two workers with one message delivered twice: one runs it, the other is told it is busy', async () => {
    const t = aTry();
    const [a, b] = await Promise.all([claimTry(storage, t, 'a', HOUR), claimTry(storage, t, 'b', HOUR)]);
    expect([a, b].filter((c) => 'taken' in c)).toHaveLength(1);
    expect([a, b].filter((c) => 'skip' in c)).toEqual([
      { skip: 'busy', lapsesInMs: expect.any(Number) as number },
    ]);
  });

  it('a silent claim is taken over by another worker; the first then loses it and may not write', async () => {
    const t = aTry();
    const first = await claimTry(storage, t, 'dead', HOUR);
    if (!('taken' in first)) throw new Error('first claim not taken');
    const second = await claimTry(storage, t, 'alive', STALE_AT_ONCE);
    if (!('taken' in second)) throw new Error('stale claim not taken over');
    expect(await renewClaim(first.taken)).toBe(false);
    expect(await renewClaim(second.taken)).toBe(true);
    // The shard sees a live worker, then (its heartbeat older than the deadline) gives the try up.
    expect(await abandonUnlessAlive(t, HOUR)).toEqual({ alive: true });
    expect(await abandonUnlessAlive(t, STALE_AT_ONCE)).toEqual({ alive: false, why: 'silent' });
    expect(await renewClaim(second.taken)).toBe(false);
    expect(await claimTry(storage, t, 'late', HOUR)).toEqual({ skip: 'abandoned' });
  });

  it('a finished try keeps its result: the shard gets it, and a copy of its message sends it again', async () => {
    const t = aTry(2);
    const claim = await claimTry(storage, t, 'w', HOUR);
    if (!('taken' in claim)) throw new Error('not taken');
    const result: MiniBatchResult = {
      index: t.index,
      attempt: t.attempt,
      ok: true,
      final: true,
      inputs: 3,
      succeeded: 3,
      failedItems: 0,
      durationMs: 5,
    };
    expect(await finishClaim(claim.taken, result)).toBe(true);
    expect(await abandonUnlessAlive(t, STALE_AT_ONCE)).toEqual({ alive: true, result });
    expect(await claimTry(storage, t, 'other', STALE_AT_ONCE)).toEqual({ finished: result });
  });

  it('a worker whose claim was given up cannot finish it', async () => {
    const t = aTry();
    const claim = await claimTry(storage, t, 'slow', HOUR);
    if (!('taken' in claim)) throw new Error('not taken');
    expect(await abandonUnlessAlive(t, STALE_AT_ONCE)).toEqual({ alive: false, why: 'silent' });
    const result = {
      index: t.index,
      attempt: 1,
      ok: true,
      final: true,
      inputs: 1,
      succeeded: 1,
      failedItems: 0,
      durationMs: 1,
    };
    expect(await finishClaim(claim.taken, result)).toBe(false);
  });

  it('a try nobody took yet waits while a worker of its pool is alive, and is given up once none is', async () => {
    const pool = `beacon-${randomBytes(3).toString('hex')}`;
    const t = aTry();
    const alive = () => poolHasLiveWorker(storage, pool, HOUR);
    expect(await alive()).toBe(false);
    await touchBeacon(storage, pool, 'w1');
    expect(await settleTry(storage, t, HOUR, alive)).toEqual({ alive: true });
    expect(await poolHasLiveWorker(storage, pool, STALE_AT_ONCE)).toBe(false);
    await dropBeacon(storage, pool, 'w1');
    expect(await settleTry(storage, t, HOUR, alive)).toEqual({ alive: false, why: 'never-taken' });
    // The shard forcing it (giving up whatever the claim says) does not wait for live workers.
    const forced = aTry();
    await touchBeacon(storage, pool, 'w2');
    expect(await settleTry(storage, forced, STALE_AT_ONCE, alive)).toEqual({
      alive: false,
      why: 'never-taken',
    });
  });

  it('a try nobody took is given up as never taken, and stays given up', async () => {
    const t = aTry();
    expect(await abandonUnlessAlive(t, HOUR)).toEqual({ alive: false, why: 'never-taken' });
    expect(await abandonUnlessAlive(t, HOUR)).toEqual({ alive: false, why: 'never-taken' });
    expect(await claimTry(storage, t, 'w', STALE_AT_ONCE)).toEqual({ skip: 'abandoned' });
  });
});
