import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { errorMessage } from '../../core/errors.js';
import type { SignalInput } from '../../orchestrations/contracts.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/**
 * Raises an event on each instance. Best effort: an instance that has just ended takes no more
 * events, and a signal that does not arrive only delays a stop (the run's verdict never depends on it).
 */
async function signalInstances(input: SignalInput, context: InvocationContext): Promise<number> {
  const client = df.getClient(context);
  let delivered = 0;
  for (const id of input.instanceIds) {
    try {
      await client.raiseEvent(id, input.event, input.data);
      delivered++;
    } catch (err) {
      context.warn(`event '${input.event}' not delivered to ${id}: ${errorMessage(err)}`);
    }
  }
  return delivered;
}

register(activities.signal, signalInstances, { extraInputs: [df.input.durableClient()] });
