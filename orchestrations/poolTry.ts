import * as df from 'durable-functions';
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import type { CheckOutcome } from '../core/compute/claims.js';
import type { PoolOutcome } from '../core/compute/protocol.js';
import { callWithRetry, resultOf, waitForTryResult, type TypedTask } from './activities.js';
import type { PoolTryInput } from './contracts.js';
import { activities } from './names.js';
import { givenUpMessage, nextCheck } from './poolTryDecisions.js';
import { alreadyEnded, failureMessage } from './tasks.js';

/** Storage hiccups are retried; a try whose hand-over still fails is given up (and can then not run). */
const infraRetry = new df.RetryOptions(2_000, 3);

/**
 * How a pool try ended: the worker's result, or why it failed (the shard counts it as a lost try;
 * `endsRun`: no worker of the pool is alive to take any try, so the run ends with this reason).
 */
export type PoolTryEnd = { result: PoolOutcome } | { error: string; endsRun?: true };

type Stage =
  | { step: 'enqueue'; task: TypedTask<true> }
  | { step: 'wait'; timer: TimerTask }
  | { step: 'check'; task: TypedTask<CheckOutcome> }
  | { step: 'settle'; task: TypedTask<CheckOutcome>; why: string };

/**
 * One try of one mini-batch on a pool, driven by its shard's orchestrator (no orchestration of its
 * own: that cost some ten storage requests a try). It puts the try on the pool's queue, then waits
 * for the worker's result — the `tryResult` event of this index and attempt, raised on the shard by
 * the pool results function — racing a timer. When the timer fires first, an activity reads the
 * try's claim (core/compute/claims.ts): the result if the try finished (its message was lost), or a
 * verdict — still alive, or given up. Whatever ends it without a result gives the try up first, so a
 * worker can never write it after the shard has moved on. The shard yields on `waitingOn()` and calls
 * `step` with the task that ended. Deterministic: no clock but the orchestration's, no I/O.
 */
export class PoolTryRun {
  private readonly result: TypedTask<PoolOutcome>;
  private stage: Stage;

  constructor(
    private readonly context: OrchestrationContext,
    private readonly input: PoolTryInput,
  ) {
    this.stage = { step: 'enqueue', task: callWithRetry(context, activities.enqueueTry, infraRetry, input) };
    // Waited for from the start: an event that comes before its waiter is kept for it all the same.
    this.result = waitForTryResult(context, input.index, input.attempt);
  }

  /** The tasks it waits on now: one of them ending moves it on (`step`). */
  waitingOn(): Task[] {
    return this.stage.step === 'wait' ? [this.result, this.stage.timer] : [this.stage.task];
  }

  /** Moves on once `ended` (one of `waitingOn()`) has ended: how the try ended, or undefined while it goes on. */
  step(ended: Task): PoolTryEnd | undefined {
    const s = this.stage;
    switch (s.step) {
      case 'enqueue':
        if (s.task.isFaulted)
          this.giveUp(`it could not be put on queue ${this.input.queue}: ${failureMessage(s.task)}`);
        else this.waitForResult();
        return undefined;
      case 'wait':
        if (ended === this.result) {
          if (!alreadyEnded([s.timer])) s.timer.cancel();
          return { result: resultOf(this.result) };
        }
        this.stage = {
          step: 'check',
          task: callWithRetry(this.context, activities.checkTry, infraRetry, this.input),
        };
        return undefined;
      case 'check': {
        if (s.task.isFaulted) {
          this.giveUp(`its worker could not be checked on: ${failureMessage(s.task)}`);
          return undefined;
        }
        const check = resultOf(s.task);
        if ('result' in check) return { result: check.result };
        if (!check.alive) {
          const error = givenUpMessage(this.input, check.why);
          // Nobody took it while no worker of the pool was alive: retried, or the run's next tries,
          // would each wait the whole start timeout for nothing, wave after wave. A busy pool's tries
          // are never given up this way (they wait: the check says a worker is alive).
          return check.why === 'never-taken' ? { error, endsRun: true } : { error };
        }
        this.waitForResult();
        return undefined;
      }
      case 'settle':
        return this.settled(s.task, s.why);
    }
  }

  private waitForResult(): void {
    const timer = this.context.df.createTimer(
      nextCheck(this.context.df.currentUtcDateTime, this.input.deadlineSeconds),
    );
    this.stage = { step: 'wait', timer };
  }

  /** Gives the try up whatever its claim says, unless it finished (then its result stands). */
  private giveUp(why: string): void {
    const task = callWithRetry(this.context, activities.checkTry, infraRetry, { ...this.input, force: true });
    this.stage = { step: 'settle', task, why };
  }

  private settled(task: TypedTask<CheckOutcome>, why: string): PoolTryEnd {
    const which = `mini-batch ${this.input.index} (attempt ${this.input.attempt}) on pool "${this.input.pool}"`;
    if (task.isFaulted) return { error: `${which} was given up: ${why}; then ${failureMessage(task)}` };
    const settled = resultOf(task);
    if ('result' in settled) return { result: settled.result };
    return { error: `${which} was given up: ${why}` };
  }
}
