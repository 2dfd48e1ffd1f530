import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { CheckOutcome } from '../core/compute/claims.js';
import type { MiniBatchResult } from '../core/outputs/records.js';
import { callWithRetry, firstOf, orchestration, resultOf, waitFor } from './activities.js';
import type { PoolTryInput } from './contracts.js';
import { activities, events, orchestrators } from './names.js';
import { givenUpMessage, nextCheck } from './poolTryDecisions.js';
import { alreadyEnded, errorText } from './tasks.js';

/** Storage hiccups are retried; a try whose hand-over still fails is given up (and can then not run). */
const infraRetry = new df.RetryOptions(2_000, 3);

/**
 * One try of one mini-batch on a pool: put it on the pool's queue, then wait for the worker's result
 * (raised by the pool results function), racing a timer. When the timer fires first, an activity
 * reads the try's claim (core/compute/claims.ts): the result if the try finished (its message was
 * lost), or a verdict — still alive, or given up. A try given up fails with the reason, and the shard
 * retries or records it as for any failed try. Whatever ends this orchestration without a result
 * gives the try up first, so a worker can never write it after the shard has moved on. Deterministic.
 */
function* poolTryOrchestrator(
  context: OrchestrationContext,
  input: PoolTryInput,
): Generator<Task, MiniBatchResult, unknown> {
  try {
    yield callWithRetry(context, activities.enqueueTry, infraRetry, input);
  } catch (err) {
    return yield* giveUp(context, input, `it could not be put on queue ${input.queue}: ${errorText(err)}`);
  }
  const result = waitFor(context, events.tryResult);
  for (;;) {
    const timer = context.df.createTimer(nextCheck(context.df.currentUtcDateTime, input.deadlineSeconds));
    const winner = yield* firstOf(context, [result, timer]);
    if (winner === result) {
      if (!alreadyEnded([timer])) timer.cancel();
      return resultOf(result);
    }
    const checking = callWithRetry(context, activities.checkTry, infraRetry, input);
    let check: CheckOutcome;
    try {
      yield checking;
      check = resultOf(checking);
    } catch (err) {
      return yield* giveUp(context, input, `its worker could not be checked on: ${errorText(err)}`);
    }
    if ('result' in check) return check.result;
    if (!check.alive) throw new Error(givenUpMessage(input, check.why));
  }
}

/** Gives the try up whatever its claim says, unless it finished (then its result stands). */
function* giveUp(
  context: OrchestrationContext,
  input: PoolTryInput,
  why: string,
): Generator<Task, MiniBatchResult, unknown> {
  const settling = callWithRetry(context, activities.checkTry, infraRetry, { ...input, force: true });
  yield settling;
  const settled = resultOf(settling);
  if ('result' in settled) return settled.result;
  throw new Error(
    `mini-batch ${input.index} (attempt ${input.attempt}) on pool "${input.pool}" was given up: ${why}`,
  );
}

orchestration(orchestrators.poolTry, poolTryOrchestrator);
