import { finalizeRun } from '../../core/outputs/finalize.js';
import { endRun } from '../../core/runner/pools.js';
import { storage } from '../../core/storage/storage.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

register(activities.finalize, async (input) => {
  // First: a canceled run's tries still in flight here end now, before what they wrote is counted.
  await endRun(input.runId);
  return finalizeRun(storage(), input);
});
