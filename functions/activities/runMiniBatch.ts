import { executeMiniBatch, recordLostMiniBatch } from '../../core/runner/execute.js';
import { miniBatchItems } from '../../core/runner/runs.js';
import { storage } from '../../core/storage/storage.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

register(activities.miniBatch, (input) => executeMiniBatch(storage(), input));

/** Returns how many items the lost mini-batch had, so the orchestrator can count them as failed. */
register(activities.recordLost, async (input) => {
  await recordLostMiniBatch(storage(), input);
  return (await miniBatchItems(storage(), input.runId, input.shard, input.index)).length;
});
