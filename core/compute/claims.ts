import { RestError, type BlockBlobClient } from '@azure/storage-blob';
import { containers, runPaths } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import type { PoolTry } from './protocol.js';

/**
 * Who runs one try of a pool run: a small blob per try (`runs/<runId>/pool/<index>-<attempt>.json`)
 * written only with conditions, so that taking it (a worker) and giving it up (the shard, when no
 * worker answered in time) can never both win. A worker holds its claim by rewriting it (a heartbeat)
 * with the ETag it last saw; the shard gives up only a try nobody took, or one whose heartbeat is older
 * than the pool's start timeout. A worker whose claim was given up learns it at its next heartbeat,
 * and at the latest just before it would write the try's rows: it then writes nothing.
 */
type ClaimState = 'running' | 'abandoned' | 'done';

interface ClaimBody {
  state: ClaimState;
  worker?: string;
  at: string;
}

/** A claim a worker holds: rewrite it with `renewClaim` to keep it. */
export interface HeldClaim {
  readonly blob: BlockBlobClient;
  readonly worker: string;
  etag: string;
}

export type ClaimOutcome =
  | { taken: HeldClaim }
  /** abandoned: the shard gave the try up; done: it finished before; busy: a live worker runs it. */
  | { skip: 'abandoned' | 'done' | 'busy' };

export type CheckOutcome =
  | { alive: true }
  /** never-taken: no worker took it; silent: the worker that took it stopped answering. */
  | { alive: false; why: 'never-taken' | 'silent' };

function claimBlob(storage: Storage, t: PoolTry): BlockBlobClient {
  return storage.blobs
    .getContainerClient(containers.runs)
    .getBlockBlobClient(runPaths.claim(t.runId, t.index, t.attempt));
}

function statusOf(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : undefined;
}

/** Writes the claim if `condition` holds: its new ETag, or undefined when another writer got there first. */
async function write(
  blob: BlockBlobClient,
  body: ClaimBody,
  condition: { ifNoneMatch: '*' } | { ifMatch: string },
): Promise<string | undefined> {
  const text = JSON.stringify(body);
  try {
    const res = await blob.upload(text, Buffer.byteLength(text), {
      conditions: condition,
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    return res.etag;
  } catch (err) {
    const status = statusOf(err);
    if (status === 409 || status === 412) return undefined;
    throw err;
  }
}

async function read(
  blob: BlockBlobClient,
): Promise<{ body: ClaimBody; etag: string; modified: Date } | undefined> {
  try {
    const res = await blob.download();
    const chunks: Buffer[] = [];
    for await (const c of res.readableStreamBody ?? []) chunks.push(c as Buffer);
    return {
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ClaimBody,
      etag: res.etag ?? '',
      modified: res.lastModified ?? new Date(0),
    };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

const now = () => new Date().toISOString();

/** A worker takes a try it dequeued: a new claim, or the claim of a worker that stopped answering. */
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
    if (seen.body.state !== 'running') return { skip: seen.body.state };
    if (Date.now() - seen.modified.getTime() < staleAfterMs) return { skip: 'busy' };
    const taken = await write(blob, running, { ifMatch: seen.etag });
    if (taken) return { taken: { blob, worker, etag: taken } };
  }
  return { skip: 'busy' };
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

/** The try's result is sent: a copy of its message delivered again is dropped. */
export async function finishClaim(claim: HeldClaim): Promise<void> {
  await write(claim.blob, { state: 'done', worker: claim.worker, at: now() }, { ifMatch: claim.etag });
}

/**
 * The shard's timer fired without a result: gives the try up unless a worker holds it and answered
 * within `staleAfterMs`. Once given up, no worker can take or finish it.
 */
export async function abandonUnlessAlive(
  storage: Storage,
  t: PoolTry,
  staleAfterMs: number,
): Promise<CheckOutcome> {
  const blob = claimBlob(storage, t);
  const abandoned: ClaimBody = { state: 'abandoned', at: now() };
  for (let round = 0; round < 3; round++) {
    if (await write(blob, abandoned, { ifNoneMatch: '*' })) return { alive: false, why: 'never-taken' };
    const seen = await read(blob);
    if (!seen) continue;
    if (seen.body.state === 'abandoned')
      return { alive: false, why: seen.body.worker ? 'silent' : 'never-taken' };
    // Finished: its result is on its way to the shard.
    if (seen.body.state === 'done') return { alive: true };
    if (Date.now() - seen.modified.getTime() < staleAfterMs) return { alive: true };
    if (await write(blob, { ...abandoned, worker: seen.body.worker ?? '' }, { ifMatch: seen.etag })) {
      return { alive: false, why: 'silent' };
    }
  }
  return { alive: true };
}
