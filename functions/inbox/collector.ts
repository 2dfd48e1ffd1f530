import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { firstBatchToLook } from '../../core/inbox/batches.js';
import { errorMessage } from '../../core/errors.js';
import { inboxContainers } from '../../core/storage/layout.js';
import { storage } from '../../core/storage/storage.js';
import { collectorInstanceId, events, orchestrators } from '../../orchestrations/names.js';
import type { BatchRef } from '../../orchestrations/activities.js';

const LIVE: readonly df.OrchestrationRuntimeStatus[] = [
  df.OrchestrationRuntimeStatus.Running,
  df.OrchestrationRuntimeStatus.Pending,
  df.OrchestrationRuntimeStatus.ContinuedAsNew,
];

/** The instance's status, or undefined when there is none. */
export async function statusOrNone(
  client: df.DurableClient,
  instanceId: string,
): Promise<df.DurableOrchestrationStatus | undefined> {
  try {
    return await client.getStatus(instanceId);
  } catch (err) {
    // The client has no error type for "no such instance", only this message.
    if (errorMessage(err).includes('replied with HTTP 404')) return undefined;
    throw err;
  }
}

async function isLive(client: df.DurableClient, instanceId: string): Promise<boolean> {
  const status = await statusOrNone(client, instanceId);
  return status !== undefined && LIVE.includes(status.runtimeStatus);
}

/**
 * Tells the pipeline's collector that a file is pending, starting the collector when it does not
 * run (never started, or failed). Concurrent drops race to start it: one start wins, the others find
 * it running and wake it. The pending record is in storage before this is called, and a collector
 * reads storage when it starts, so a wake that goes nowhere loses nothing. Throws when the collector
 * could be neither woken nor started: the trigger then fails and its event comes again.
 */
export async function wakeCollector(
  client: df.DurableClient,
  context: InvocationContext,
  pipeline: string,
): Promise<void> {
  const id = collectorInstanceId(pipeline);
  for (let attempt = 0; attempt < 3; attempt++) {
    // Raised first (the common case: the collector runs); the client takes "not running" (410) as
    // success and throws on 404, so the status read after it says whether it was taken.
    await client.raiseEvent(id, events.inboxWake, null).catch(() => undefined);
    if (await isLive(client, id)) return;
    const input: BatchRef = {
      pipeline,
      batch: await firstBatchToLook(storage(), inboxContainers(), pipeline),
    };
    try {
      await client.startNew(orchestrators.inboxCollector, { instanceId: id, input });
      context.log(`inbox collector for pipeline "${pipeline}" started at batch ${input.batch}`);
      return;
    } catch (err) {
      // Another drop started it first: wake that one on the next turn.
      context.log(`inbox collector for "${pipeline}" was started elsewhere: ${errorMessage(err)}`);
    }
  }
  throw new Error(`the inbox collector for pipeline "${pipeline}" could not be woken or started`);
}
