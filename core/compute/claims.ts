import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { containers, runPaths } from '../storage/layout.js';
import { readVersionedJson, writeVersionedJson, type WriteCondition } from '../storage/versioned-json.js';
import type { Storage } from '../storage/storage.js';
import type { PoolOutcome, PoolTry } from './protocol.js';

/**
 * Who runs one try of a pool run: a small blob per try (`runs/<runId>/pool/<index>-<attempt>.json`)
 * written only with conditions, so that taking it (a worker) and giving it up (the shard, when no
 * worker answered in time) can never both win. A worker holds its claim by rewriting it (a heartbeat)
 * with the ETag it last saw; the shard gives up only a try nobody took while no worker of the pool
 * was alive, or one whose worker has been silent for the pool's start timeout. A worker whose claim
 * was given up learns it at its next heartbeat, and at the latest just before it would write the
 * try's rows: it then writes nothing. A finished try's claim keeps its result, so a result message
 * that never arrives (or a worker killed before sending it) costs a timer, never the result.
 */
type ClaimState = 'running' | 'abandoned' | 'done';

interface ClaimBody {
  state: ClaimState;
  worker?: string;
  at: string;
  /** `done`: the try's result (a group's: its results), as sent to the shard. */
  result?: PoolOutcome;
}

/** A claim a worker holds: rewrite it with `renewClaim` to keep it. */
export interface HeldClaim {
  readonly blob: BlockBlobClient;
  readonly worker: string;
  etag: string;
}

export type ClaimOutcome =
  | { taken: HeldClaim }
  /** A copy of the message of a try that finished: its result, to send again. */
  | { finished: PoolOutcome }
  /** The shard gave the try up. */
  | { skip: 'abandoned' }
  /** A live worker runs it: its claim lapses in `lapsesInMs` if that worker stays silent. */
  | { skip: 'busy'; lapsesInMs: number };

export type CheckOutcome =
  | { alive: true }
  /** The try finished: its result (the message carrying it was lost, or is still on its way). */
  | { alive: true; result: PoolOutcome }
  /** never-taken: no worker took it, and none of the pool was alive; silent: its worker stopped answering. */
  | { alive: false; why: 'never-taken' | 'silent' };

function runsContainer(storage: Storage): ContainerClient {
  return storage.blobs.getContainerClient(containers.runs);
}

function claimBlob(storage: Storage, t: PoolTry): BlockBlobClient {
  return runsContainer(storage).getBlockBlobClient(runPaths.claim(t.runId, t.index, t.attempt));
}

/** Writes the claim if `condition` holds: its new ETag, or undefined when another writer got there first. */
const write = (blob: BlockBlobClient, body: ClaimBody, condition: WriteCondition) =>
  writeVersionedJson(blob, body, condition);

const read = (blob: BlockBlobClient) => readVersionedJson<ClaimBody>(blob);

const now = () => new Date().toISOString();

/** Where a try's claim stands: `done` once its worker stored its result; undefined when nobody took it. */
export async function claimState(storage: Storage, t: PoolTry): Promise<ClaimState | undefined> {
  return (await read(claimBlob(storage, t)))?.body.state;
}

/** A worker takes a try it dequeued: a new claim, or the claim of a worker silent for `staleAfterMs`. */
export async function claimTry(
  storage: Storage,
  t: PoolTry,
  worker: string,
  staleAfterMs: number,
): Promise<ClaimOutcome> {
  const blob = claimBlob(storage, t);
  const running: ClaimBody = { state: 'running', worker, at: now() };
  for (let round = 0; round < 3; round++) {
    const created = await write(blob, running, { ifNoneMatch: '*' });
    if (created) return { taken: { blob, worker, etag: created } };
    const seen = await read(blob);
    if (!seen) continue;
    if (seen.body.state === 'done' && seen.body.result) return { finished: seen.body.result };
    if (seen.body.state !== 'running') return { skip: 'abandoned' };
    if (seen.ageMs < staleAfterMs) return { skip: 'busy', lapsesInMs: staleAfterMs - seen.ageMs };
    const taken = await write(blob, running, { ifMatch: seen.etag });
    if (taken) return { taken: { blob, worker, etag: taken } };
  }
  return { skip: 'busy', lapsesInMs: staleAfterMs };
}

/** The worker's heartbeat: false when its claim was given up (or taken over) meanwhile. */
export async function renewClaim(claim: HeldClaim): Promise<boolean> {
  const etag = await write(
    claim.blob,
    { state: 'running', worker: claim.worker, at: now() },
    { ifMatch: claim.etag },
  );
  if (!etag) return false;
  claim.etag = etag;
  return true;
}

/**
 * The try ran: its result goes into the claim before it is sent, so it survives the message. False
 * when the claim was given up meanwhile (the worker was silent for the whole start timeout).
 */
export async function finishClaim(claim: HeldClaim, result: PoolOutcome): Promise<boolean> {
  const etag = await write(
    claim.blob,
    { state: 'done', worker: claim.worker, at: now(), result },
    { ifMatch: claim.etag },
  );
  if (etag) claim.etag = etag;
  return etag !== undefined;
}

/**
 * The shard's timer fired without a result (or the shard is giving the try up: `staleAfterMs` 0):
 * returns the result if the try finished; gives the try up unless a worker holds it and answered
 * within `staleAfterMs`, or — nobody took it yet — some worker of the pool is alive (`poolAlive`:
 * the try waits behind others). Once given up, no worker can take or finish it.
 */
export async function settleTry(
  storage: Storage,
  t: PoolTry,
  staleAfterMs: number,
  poolAlive: () => Promise<boolean>,
): Promise<CheckOutcome> {
  const blob = claimBlob(storage, t);
  const abandoned: ClaimBody = { state: 'abandoned', at: now() };
  for (let round = 0; round < 3; round++) {
    const seen = await read(blob);
    if (!seen) {
      if (staleAfterMs > 0 && (await poolAlive())) return { alive: true };
      if (await write(blob, abandoned, { ifNoneMatch: '*' })) return { alive: false, why: 'never-taken' };
      continue;
    }
    const { body } = seen;
    if (body.state === 'done' && body.result) return { alive: true, result: body.result };
    if (body.state === 'abandoned') return { alive: false, why: body.worker ? 'silent' : 'never-taken' };
    if (staleAfterMs > 0 && seen.ageMs < staleAfterMs) return { alive: true };
    if (await write(blob, { ...abandoned, worker: body.worker ?? '' }, { ifMatch: seen.etag })) {
      return { alive: false, why: 'silent' };
    }
  }
  return { alive: true };
}

/** Where a pool's workers say they are alive (a blob each, rewritten while they poll). */
const beaconPrefix = (pool: string) => `_pools/${pool}/`;

/** A worker of `pool` is alive: it polls its queue. */
export async function touchBeacon(storage: Storage, pool: string, worker: string): Promise<void> {
  const text = now();
  await runsContainer(storage)
    .getBlockBlobClient(`${beaconPrefix(pool)}${worker}`)
    .upload(text, text.length);
}

/** A worker that stops cleanly says so at once. */
export async function dropBeacon(storage: Storage, pool: string, worker: string): Promise<void> {
  await runsContainer(storage)
    .getBlockBlobClient(`${beaconPrefix(pool)}${worker}`)
    .deleteIfExists();
}

/** Whether some worker of `pool` said it was alive within `withinMs` (by the storage service's clock). */
export async function poolHasLiveWorker(storage: Storage, pool: string, withinMs: number): Promise<boolean> {
  const runs = runsContainer(storage);
  let serverNow: Date | undefined;
  for await (const page of runs.listBlobsFlat({ prefix: beaconPrefix(pool) }).byPage({ maxPageSize: 500 })) {
    serverNow ??= page.date ?? new Date();
    for (const b of page.segment.blobItems) {
      if (serverNow.getTime() - b.properties.lastModified.getTime() < withinMs) return true;
    }
  }
  return false;
}
