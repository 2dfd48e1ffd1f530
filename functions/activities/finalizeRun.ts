import { finalizeRun } from '../../core/outputs/finalize.js';
import { storage } from '../../core/storage/storage.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

register(activities.finalize, (input) => finalizeRun(storage(), input));
