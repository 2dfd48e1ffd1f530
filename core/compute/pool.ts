import { RestError, type QueueClient } from '@azure/storage-queue';
import { executeMiniBatch } from '../runner/execute.js';
import { resultsQueue } from '../config/pools.js';
import type { Storage } from '../storage/storage.js';
import { poolHasLiveWorker, settleTry, type CheckOutcome } from './claims.js';
import { functionsCompute } from './functions.js';
import type { ComputeKind, ComputePlacement } from './kind.js';
import { encodeMessage, type PoolTry } from './protocol.js';

/**
 * Compute `<pool>`: tries run in a pool's workers (worker/, Container Apps replicas in Azure), fed
 * through the queue `minibatches-<pool>` (README, "GPU pools"). The worker runs the same
 * `executeMiniBatch` as the Functions path; this app only enqueues tries and checks on them.
 */
export function poolCompute(pool: string): ComputeKind {
  return {
    kind: pool,
    placement: 'queue',
    runTry: (storage, input) => executeMiniBatch(storage, input),
    // A lost pool try is recorded by this app, as for the Functions path: same names, same record.
    recordLost: (storage, input) => functionsCompute.recordLost(storage, input),
    // Its replicas start on the queue's first messages (KEDA), not on this app's word.
    prepare: () => Promise.resolve(),
    endRun: (runId) => functionsCompute.endRun(runId),
  };
}

/** The kind that runs a placement's tries. */
export function computeKindOf(placement: ComputePlacement): ComputeKind {
  return placement.placement === 'activity' ? functionsCompute : poolCompute(placement.kind);
}

const created = new Set<string>();

/** A queue of the pool protocol, created on first use in this process. */
export async function queueFor(storage: Storage, name: string): Promise<QueueClient> {
  const queue = storage.queues.getQueueClient(name);
  if (!created.has(queue.url)) {
    // In Azure the deployment creates the queues, and a worker may not (403): it uses them as they are.
    // Locally the first use does.
    await queue.createIfNotExists().catch((err: unknown) => {
      if (!(err instanceof RestError && err.statusCode === 403)) throw err;
    });
    created.add(queue.url);
  }
  return queue;
}

/**
 * Puts one try (or a group of tries) on its pool's queue. Run twice (an activity is at-least-once), it puts two copies:
 * the try's claim lets only one worker run it, and a copy that comes later is dropped.
 */
export async function enqueueTry(storage: Storage, t: PoolTry & { queue: string }): Promise<void> {
  const message: PoolTry = {
    runId: t.runId,
    shard: t.shard,
    index: t.index,
    attempt: t.attempt,
    deadlineSeconds: t.deadlineSeconds,
    replyTo: resultsQueue(),
    ...(t.tries ? { tries: t.tries } : {}),
  };
  // Kept until a worker takes it: a pool scaled to zero may take minutes to wake (-1: no expiry).
  await (await queueFor(storage, t.queue)).sendMessage(encodeMessage(message), { messageTimeToLive: -1 });
}

/**
 * The try's timer fired without a result: its result if it finished; otherwise it is given up unless
 * its worker answered within its deadline, or — nobody took it yet — a worker of its pool is alive
 * (the try waits behind others). `force`: the shard is giving the try up whatever its claim says
 * (its orchestration could not go on), unless it finished.
 */
export function checkTry(
  storage: Storage,
  t: PoolTry & { pool: string; force?: boolean },
): Promise<CheckOutcome> {
  const deadlineMs = t.deadlineSeconds * 1000;
  return settleTry(storage, t, t.force ? 0 : deadlineMs, () =>
    poolHasLiveWorker(storage, t.pool, deadlineMs),
  );
}
