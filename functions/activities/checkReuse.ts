import { loadRun } from '../../core/runs/record.js';
import { checkReuse } from '../../core/runner/reuse-check.js';
import { storage } from '../../core/storage/storage.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/** Before planning: the run's fingerprint, and whether an earlier Completed run is reused (ids only go back). */
register(activities.checkReuse, async ({ runId }) => {
  const store = storage();
  return checkReuse(store, await loadRun(store, runId));
});
