import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { decodeMessage, readPoolResult, type PoolResult } from '../../core/compute/protocol.js';
import { RESULTS_QUEUE, resultsQueue } from '../../core/config/pools.js';
import { errorMessage } from '../../core/errors.js';
import { events, poolTryInstanceId } from '../../orchestrations/names.js';

/** The instance is still there to take the event (it may not be waiting yet: durable keeps it). */
const WAITING = new Set<string>([
  df.OrchestrationRuntimeStatus.Running,
  df.OrchestrationRuntimeStatus.Pending,
]);

function read(message: unknown): PoolResult {
  return readPoolResult(typeof message === 'string' ? decodeMessage(message) : message);
}

/**
 * A pool worker's result (queue `minibatch-results`) raised as the `tryResult` event on its pool try's
 * orchestration. A result nobody waits for any more (a duplicate message, or an attempt the shard gave
 * up) finds its instance ended, and is dropped with a log line: nothing is counted twice.
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
  const id = poolTryInstanceId(r.runId, r.shard, r.index, r.attempt);
  const status = await client.getStatus(id).catch(() => undefined);
  if (!status || !WAITING.has(status.runtimeStatus)) {
    context.log(
      `result of mini-batch ${r.index} (attempt ${r.attempt}) of run ${r.runId} ignored: its try is ${status ? status.runtimeStatus.toLowerCase() : 'unknown'}`,
    );
    return;
  }
  await client.raiseEvent(id, events.tryResult, r.result);
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
