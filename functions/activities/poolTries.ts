import { checkTry, enqueueTry } from '../../core/compute/pool.js';
import { storage } from '../../core/storage/storage.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/** A pool run's try onto its pool's queue (orchestrations/poolTry.ts). */
register(activities.enqueueTry, async (input) => {
  await enqueueTry(storage(), input);
  return true as const;
});

/** No result in time: give the try up unless its worker still answers. */
register(activities.checkTry, (input) => checkTry(storage(), input));
