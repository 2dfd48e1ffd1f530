import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { decodeMessage, readPoolResult, type PoolResult } from '../../core/compute/protocol.js';
import { RESULTS_QUEUE, resultsQueue } from '../../core/config/pools.js';
import { errorMessage } from '../../core/errors.js';
import { shardInstanceId, tryResultEvent } from '../../orchestrations/names.js';

function read(message: unknown): PoolResult {
  return readPoolResult(typeof message === 'string' ? decodeMessage(message) : message);
}

/**
 * A pool worker's result (queue `minibatch-results`) raised on its shard's orchestration as the event
 * of that try (`tryResultEvent`: one name per mini-batch and attempt). A result nobody waits for any
 * more is never counted: one for a shard that has ended is refused by it; one of an attempt its shard
 * gave up, or a second copy while the shard runs, is an event it no longer waits for. A worker sends
 * only results its claim kept (core/compute/claims.ts `finishClaim`), so such events are rare; they
 * are not screened here by reading the claim, which cost a storage read per try (bench/pool.ts).
 */
async function poolResult(message: unknown, context: InvocationContext): Promise<void> {
  let r: PoolResult;
  try {
    r = read(message);
  } catch (err) {
    // Retrying cannot fix a message that is not a result.
    context.warn(`dropped a message on ${queueName()}: ${errorMessage(err)}`);
    return;
  }
  // Raised without asking for the shard's status first (a status read per try): an instance that
  // has ended answers 410 to an event, which the client takes as done, and keeps nothing of it.
  const id = shardInstanceId(r.runId, r.shard);
  try {
    await df.getClient(context).raiseEvent(id, tryResultEvent(r.index, r.attempt), r.result);
  } catch (err) {
    // Its run's records were purged meanwhile: retrying cannot bring the shard back.
    if (!NO_INSTANCE.test(errorMessage(err))) throw err;
    context.log(
      `result of mini-batch ${r.index} (attempt ${r.attempt}) of run ${r.runId} ignored: its shard ${id} does not exist`,
    );
  }
}

/** How the Durable client says an instance does not exist (HTTP 404). */
const NO_INSTANCE = /^No instance with ID '.*' found\.$/;

/** The app's results queue; a bad setting is reported by the runs it fails (enqueuePoolTry), not here. */
function queueName(): string {
  try {
    return resultsQueue();
  } catch {
    return RESULTS_QUEUE;
  }
}

app.storageQueue('poolResult', {
  queueName: queueName(),
  connection: 'AzureWebJobsStorage',
  extraInputs: [df.input.durableClient()],
  handler: poolResult,
});
