import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { lookAtInbox, readBatch } from '../../core/inbox/batches.js';
import type { BatchRecord } from '../../core/inbox/records.js';
import { prepareInboxRun } from '../../core/inbox/run.js';
import { rejectBatch, settleBatch } from '../../core/inbox/settle.js';
import { errorMessage, NotFoundError, ParallelRunError } from '../../core/errors.js';
import { inboxContainers } from '../../core/storage/layout.js';
import { storage } from '../../core/storage/storage.js';
import { register, type BatchRef } from '../../orchestrations/activities.js';
import { activities, inboxBatchInstanceId, orchestrators } from '../../orchestrations/names.js';
import { statusOrNone } from './collector.js';

async function batchOf(ref: BatchRef): Promise<BatchRecord> {
  const batch = await readBatch(storage(), inboxContainers(), ref.pipeline, ref.batch);
  if (!batch) throw new NotFoundError(`inbox batch ${ref.batch} of pipeline "${ref.pipeline}" was never cut`);
  return batch;
}

register(activities.lookAtInbox, async (ref, context) => {
  const look = await lookAtInbox(storage(), inboxContainers(), ref.pipeline, ref.batch);
  if (look.cut && look.cut.files > 0)
    context.log(
      `inbox batch ${ref.batch} of "${ref.pipeline}": ${look.cut.files} file(s), run ${look.cut.runId ?? '-'}`,
    );
  return look;
});

/** Once per batch: an instance that exists (running or ended), or a batch already settled, is not started again. */
async function startInboxBatch(ref: BatchRef, context: InvocationContext): Promise<string> {
  const batch = await batchOf(ref);
  if (batch.runId === undefined || batch.settled) return '';
  const client = df.getClient(context);
  const id = inboxBatchInstanceId(batch.runId);
  if (await statusOrNone(client, id)) return id;
  try {
    await client.startNew(orchestrators.inboxBatch, {
      instanceId: id,
      input: { ...ref, runId: batch.runId },
    });
  } catch (err) {
    // Started by an earlier try of this activity between the check and here: that one runs it.
    if (!(await statusOrNone(client, id))) throw err;
    context.log(`inbox batch ${id} was started already: ${errorMessage(err)}`);
  }
  return id;
}

register(activities.startInboxBatch, startInboxBatch, { extraInputs: [df.input.durableClient()] });

register(activities.prepareInboxRun, async (ref, context) => {
  const batch = await batchOf(ref);
  try {
    const run = await prepareInboxRun(storage(), inboxContainers(), batch);
    return { runId: run.runId };
  } catch (err) {
    // Settings that no longer validate (a script removed, a model gone): said, not retried.
    if (!(err instanceof ParallelRunError)) throw err;
    context.warn(`inbox batch ${ref.batch} of "${ref.pipeline}" cannot start its run: ${err.message}`);
    return { refused: err.message };
  }
});

register(activities.settleInboxBatch, async (input, context) => {
  const batch = await batchOf(input);
  const done = input.refused
    ? await rejectBatch(storage(), inboxContainers(), batch, input.end.reason ?? input.end.status)
    : await settleBatch(storage(), inboxContainers(), batch, input.end);
  context.log(
    `inbox batch ${input.batch} of "${input.pipeline}" settled: run ${done.runId ?? '-'} ${input.end.status}, ${done.files} file(s) ${done.settled?.after_run === 'leave' ? 'left in place' : 'moved'}`,
  );
  return done.files;
});
