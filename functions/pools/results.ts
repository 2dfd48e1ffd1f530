import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { decodeMessage, readPoolResult, type PoolResult } from '../../core/compute/protocol.js';
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
 * more is never counted twice: one for a shard that has ended is dropped here with a log line; one
 * for an attempt its running shard gave up, or a second copy, is an event the shard never waits for.
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
