import type { OrchestrationContext, Task } from 'durable-functions';
import type { MiniBatchResult } from '../core/outputs/records.js';
import { call, firstOf, orchestration, resultOf, waitFor } from './activities.js';
import type { PoolTryInput } from './contracts.js';
import { activities, events, orchestrators } from './names.js';
import { givenUpMessage, nextCheck } from './poolTryDecisions.js';
import { alreadyEnded } from './tasks.js';

/**
 * One try of one mini-batch on a pool: put it on the pool's queue, then wait for the worker's result
 * (raised by the pool results function), racing a timer. When the timer fires first, an activity
 * gives the try up unless a worker holds it and still answers (core/compute/claims.ts); a try given up
 * fails with the reason, and the shard retries or records it as for any failed try. Deterministic.
 */
function* poolTryOrchestrator(
  context: OrchestrationContext,
  input: PoolTryInput,
): Generator<Task, MiniBatchResult, unknown> {
  yield call(context, activities.enqueueTry, input);
  const result = waitFor(context, events.tryResult);
  for (;;) {
    const timer = context.df.createTimer(nextCheck(context.df.currentUtcDateTime, input.deadlineSeconds));
    const winner = yield* firstOf(context, [result, timer]);
    if (winner === result) {
      if (!alreadyEnded([timer])) timer.cancel();
      return resultOf(result);
    }
    const checking = call(context, activities.checkTry, input);
    yield checking;
    const check = resultOf(checking);
    if (!check.alive) throw new Error(givenUpMessage(input, check.why));
  }
}

orchestration(orchestrators.poolTry, poolTryOrchestrator);
