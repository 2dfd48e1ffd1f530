import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { claimState } from '../../core/compute/claims.js';
import { decodeMessage, readPoolResult, type PoolResult } from '../../core/compute/protocol.js';
import { storage } from '../../core/storage/storage.js';
import { RESULTS_QUEUE, resultsQueue } from '../../core/config/pools.js';
import { errorMessage } from '../../core/errors.js';
import { shardInstanceId, tryResultEvent } from '../../orchestrations/names.js';

/** The instance is still there to take the event (it may not be waiting yet: durable keeps it). */
const WAITING = new Set<string>([
  df.OrchestrationRuntimeStatus.Running,
  df.OrchestrationRuntimeStatus.Pending,
]);

function read(message: unknown): PoolResult {
  return readPoolResult(typeof message === 'string' ? decodeMessage(message) : message);
}

/**
 * A pool worker's result (queue `minibatch-results`) raised on its shard's orchestration as the event
 * of that try (`tryResultEvent`: one name per mini-batch and attempt). A result nobody waits for any
 * more is never counted twice: one of an attempt given up, or for a shard that has ended, is dropped
 * here with a log line; a second copy while the shard runs is an event it no longer waits for.
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
  // A worker stores a try's result in its claim before sending it: a result whose claim says otherwise
  // is of an attempt its shard gave up, or not from a worker at all. It never reaches the shard (an
  // event nobody waits for would stay in the shard's history).
  const claim = await claimState(storage(), r);
  if (claim !== 'done') {
    context.log(
      `result of mini-batch ${r.index} (attempt ${r.attempt}) of run ${r.runId} ignored: its try is ${claim === 'abandoned' ? 'given up by its shard' : (claim ?? 'not taken by any worker')}`,
    );
    return;
  }
  const client = df.getClient(context);
  const id = shardInstanceId(r.runId, r.shard);
  const status = await client.getStatus(id).catch(() => undefined);
  if (!status || !WAITING.has(status.runtimeStatus)) {
    context.log(
      `result of mini-batch ${r.index} (attempt ${r.attempt}) of run ${r.runId} ignored: its shard is ${status ? status.runtimeStatus.toLowerCase() : 'unknown'}`,
    );
    return;
  }
  await client.raiseEvent(id, tryResultEvent(r.index, r.attempt), r.result);
}

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
