import * as df from 'durable-functions';
import { finalizeRun, type FinalizeInput } from '../../core/outputs/finalize.js';
import { activities } from '../../orchestrations/names.js';

df.app.activity(activities.finalize, { handler: (input: FinalizeInput) => finalizeRun(input) });
