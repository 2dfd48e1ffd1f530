import { functionsCompute } from '../../core/compute/functions.js';
import { executeMiniBatchGroup } from '../../core/runner/execute-group.js';
import { storage } from '../../core/storage/storage.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/** The `activity` placement: the try runs here, on this instance's pool (compute `functions`). */
register(activities.miniBatch, (input) => functionsCompute.runTry(storage(), input));

/** Consecutive small mini-batches of one shard in one activity, each tried and counted on its own. */
register(activities.miniBatchGroup, (input) => executeMiniBatchGroup(storage(), input));

/** Returns how many items the lost mini-batch had, so the orchestrator can count them as failed. */
register(activities.recordLost, (input) => functionsCompute.recordLost(storage(), input));
