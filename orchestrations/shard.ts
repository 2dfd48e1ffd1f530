import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import type { MiniBatchResult } from '../core/outputs/records.js';
import { call, callSub, firstOf, orchestration, resultOf, waitFor, type TypedTask } from './activities.js';
import type { ShardInput, ShardOutput, ShardProgress } from './contracts.js';
import { activities, events, orchestrators, poolTryInstanceId } from './names.js';
import {
  deadlinePassed,
  firstTries,
  hasWork,
  lostResult,
  maySchedule,
  startingTally,
  progressDeadline,
  shardOutput,
  stopTaken,
  tryEnded,
  countResult,
  type ShardTally,
  type TryDecision,
  type Work,
} from './shardDecisions.js';
import { alreadyEnded, failureMessage } from './tasks.js';

/**
 * One shard of a run (a few hundred mini-batches, so its history stays bounded): keeps its share of
 * the run's mini-batches in flight (`miniBatchesInFlight`), retries failed tries up to `run_max_try`, and
 * stops scheduling once a threshold is crossed, by its own failures or, told by the run, by all
 * shards' together. A cancel (a `stop` event marked `cancel`, wherever the shard is, replay included)
 * ends it at once. Deterministic: no clock but the orchestration's, no I/O. What each event means
 * is decided in shardDecisions.ts; this generator only yields.
 */
function* shardOrchestrator(
  context: OrchestrationContext,
  input: ShardInput,
): Generator<Task, ShardOutput, unknown> {
  const { shard, limits, runId } = input;
  const pending: Work[] = firstTries(shard);
  const inFlight = new Map<Task, { work: Work; task: TypedTask<MiniBatchResult> }>();
  const tally = startingTally(shard);
  // The run's word that a threshold crossed across shards, that a sibling failed, or that it was canceled.
  let stopSignal = waitFor(context, events.stop);
  const timeout = limits.progress_update_timeout;
  let lastProgress = context.df.currentUtcDateTime;
  let deadline: TimerTask | undefined;
  let triesWhenArmed = 0;
  const publish = () =>
    context.df.setCustomStatus({
      shard: shard.shard,
      miniBatches: shard.count,
      inFlight: inFlight.size,
      totals: tally.totals,
    } satisfies ShardProgress);

  while (hasWork(tally, inFlight.size, pending.length)) {
    while (maySchedule(tally, inFlight.size, input.maxInFlight)) {
      const work = pending.shift();
      if (!work) break;
      const task = callTry(context, input, work);
      inFlight.set(task, { work, task });
    }
    publish();
    const racers: Task[] = [...inFlight.keys()];
    racers.push(stopSignal);
    if (timeout !== null) {
      // One timer per quiet period, not one per mini-batch: if progress came before it fired, the
      // next one is armed from that progress.
      if (!deadline) {
        deadline = context.df.createTimer(progressDeadline(lastProgress, timeout));
        triesWhenArmed = tally.totals.tries;
      }
      racers.push(deadline);
    }
    const winner = yield* firstOf(context, racers);
    if (winner === deadline) {
      deadline = undefined;
      if (deadlinePassed(tally, limits, triesWhenArmed)) break;
      continue;
    }
    if (winner === stopSignal) {
      // Canceled: end now. The tries in flight are left behind (the run shuts their processes down);
      // what they wrote is counted from storage, not from here.
      if (stopTaken(tally, resultOf(stopSignal)) === 'end') break;
      // Stopping for a threshold still waits for the tries in flight: a cancel may yet come, and must
      // then end the wait (the newest waiter gets the next event).
      stopSignal = waitFor(context, events.stop);
      continue;
    }
    const entry = inFlight.get(winner);
    inFlight.delete(winner);
    if (!entry) continue;
    const { work, task } = entry;
    lastProgress = context.df.currentUtcDateTime;
    let next: TryDecision = tryEnded(
      tally,
      input,
      work,
      task.isFaulted ? { failed: true } : { result: resultOf(task) },
    );
    if (next.kind === 'lost') {
      const recording = call(context, activities.recordLost, {
        runId,
        shard: shard.shard,
        index: work.index,
        attempt: work.attempt,
        error: failureMessage(task),
      });
      yield recording;
      next = countResult(tally, input, work, lostResult(work, resultOf(recording)));
    }
    if (next.kind === 'canceled') break;
    if (next.kind === 'retry') {
      pending.unshift(next.work);
      continue;
    }
    if (next.kind === 'counted' && next.report) {
      try {
        yield reportFailures(context, runId, shard.shard, tally);
      } catch {
        // Best effort: the run still adds up every shard's failures when they end.
      }
    }
  }
  // A timer that fired during the last yield has nothing left to cancel.
  if (deadline && !alreadyEnded([deadline])) deadline.cancel();
  publish();
  return shardOutput(shard.shard, tally);
}

/**
 * One try of one mini-batch, where the run's placement says (limits.compute, core/compute/placement.ts):
 * an activity on this app, or a pool's queue through a pool try orchestration (poolTry.ts). Either way
 * the task ends with the try's MiniBatchResult, or fails as a lost try.
 */
function callTry(context: OrchestrationContext, input: ShardInput, work: Work): TypedTask<MiniBatchResult> {
  const t = { runId: input.runId, shard: input.shard.shard, index: work.index, attempt: work.attempt };
  const placement = input.limits.compute;
  if (placement?.placement !== 'queue') return call(context, activities.miniBatch, t);
  return callSub(
    context,
    orchestrators.poolTry,
    { ...t, pool: placement.kind, queue: placement.queue, deadlineSeconds: placement.startTimeoutSeconds },
    poolTryInstanceId(t.runId, t.shard, t.index, t.attempt),
  );
}

/** Tells the run this shard's failures so far (the counts only grow, so a late or repeated report is harmless). */
function reportFailures(
  context: OrchestrationContext,
  runId: string,
  shard: number,
  tally: ShardTally,
): TypedTask<number> {
  return call(context, activities.signal, {
    instanceIds: [runId],
    event: events.shardFailures,
    data: { shard, itemsFailed: tally.totals.itemsFailed, miniBatchesFailed: tally.totals.miniBatchesFailed },
  });
}

orchestration(orchestrators.shard, shardOrchestrator);
