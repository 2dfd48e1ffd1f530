import * as df from 'durable-functions';
import { executeMiniBatch, recordLostMiniBatch, type MiniBatchInput } from '../../core/runner/execute.js';
import { miniBatchItems } from '../../core/runner/runs.js';
import { activities } from '../../orchestrations/names.js';

df.app.activity(activities.miniBatch, { handler: (input: MiniBatchInput) => executeMiniBatch(input) });

/** Returns how many items the lost mini-batch had, so the orchestrator can count them as failed. */
df.app.activity(activities.recordLost, {
  handler: async (input: MiniBatchInput & { error: string }) => {
    await recordLostMiniBatch(input);
    return (await miniBatchItems(input.runId, input.shard, input.index)).length;
  },
});
