import type { QueueClient } from '@azure/storage-queue';
import { executeMiniBatch } from '../runner/execute.js';
import type { Storage } from '../storage/storage.js';
import { abandonUnlessAlive, type CheckOutcome } from './claims.js';
import { functionsCompute } from './functions.js';
import type { ComputeKind } from './kind.js';
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
    endRun: (runId) => functionsCompute.endRun(runId),
  };
}

const created = new Set<string>();

/** A queue of the pool protocol, created on first use in this process. */
export async function queueFor(storage: Storage, name: string): Promise<QueueClient> {
  const queue = storage.queues.getQueueClient(name);
  if (!created.has(queue.url)) {
    // In Azure the deployment creates the queues; locally the first try of a pool does.
    await queue.createIfNotExists();
    created.add(queue.url);
  }
  return queue;
}

/**
 * Puts one try on its pool's queue. Run twice (an activity is at-least-once), it puts two copies:
 * the try's claim lets only one worker run it, and a copy that comes later is dropped.
 */
export async function enqueueTry(storage: Storage, t: PoolTry & { queue: string }): Promise<void> {
  const message: PoolTry = {
    runId: t.runId,
    shard: t.shard,
    index: t.index,
    attempt: t.attempt,
    deadlineSeconds: t.deadlineSeconds,
  };
  // Kept until a worker takes it: a pool scaled to zero may take minutes to wake (-1: no expiry).
  await (await queueFor(storage, t.queue)).sendMessage(encodeMessage(message), { messageTimeToLive: -1 });
}

/** The try's timer fired without a result: gives it up unless its worker answered within its deadline. */
export function checkTry(storage: Storage, t: PoolTry): Promise<CheckOutcome> {
  return abandonUnlessAlive(storage, t, t.deadlineSeconds * 1000);
}
