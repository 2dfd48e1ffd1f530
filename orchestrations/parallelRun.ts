import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { ReuseCheck } from '../core/runner/reuse-check.js';
import type { CarriedShard } from '../core/outputs/carry.js';
import {
  call,
  callSub,
  callWithRetry,
  firstOf,
  orchestration,
  resultOf,
  waitFor,
  type TypedTask,
} from './activities.js';
import type {
  CancelRun,
  PlanOutput,
  RunOutput,
  RunProgress,
  ShardFailures,
  ShardOutput,
} from './contracts.js';
import { activities, events, orchestrators, shardInstanceId } from './names.js';
import {
  cancelReason,
  failuresReported,
  noTotals,
  runStatus,
  shardEnded,
  shardLayout,
  stopToSend,
  verdict,
  type Told,
} from './runDecisions.js';
import { failureMessage } from './tasks.js';

export type { RunOutput } from './contracts.js';

const infraRetry = new df.RetryOptions(2_000, 3);

/**
 * A whole run: plan → shards as sub-orchestrations (`node_count` in flight) → finalize. Thresholds are
 * checked over all shards as their failures are reported; crossing one stops scheduling, here and in
 * every live shard, and the run ends Failed with the reason. A `cancel` event, at any point before
 * finalizing, ends every shard at once and the run ends Canceled, its summary counting what was written.
 * What each event means is decided in runDecisions.ts; this generator only yields.
 */
function* parallelRunOrchestrator(
  context: OrchestrationContext,
  { runId }: { runId: string },
): Generator<Task, RunOutput, unknown> {
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const progress: RunProgress = {
    phase: 'planning',
    startedAt,
    items: 0,
    miniBatches: 0,
    shards: 0,
    shardsDone: 0,
    done: noTotals(),
    inFlightShards: [],
  };
  const publish = () => context.df.setCustomStatus(progress);
  publish();

  // A cancel is an event, raced at every wait until the run finalizes: it is kept in the run's queue
  // however early it comes (before the first episode, during a restart) and replays like the rest.
  const cancel: { waiter?: TypedTask<CancelRun | undefined> } = { waiter: waitFor(context, events.cancel) };
  let canceled: string | undefined;
  const tookCancel = (winner: Task): boolean => {
    if (!cancel.waiter || winner !== cancel.waiter) return false;
    canceled = cancelReason(resultOf(cancel.waiter));
    delete cancel.waiter;
    Object.assign(progress, { phase: 'canceling', canceled, stopping: canceled });
    return true;
  };

  let plan: PlanOutput | undefined;
  let stopping: string | undefined;
  // Planning fingerprints the run first: one allow_reuse finds done, or a resume whose input changed,
  // comes back with nothing planned.
  let check: ReuseCheck | undefined;
  const planning = callWithRetry(context, activities.plan, infraRetry, { runId });
  const planned = yield* firstOf(context, [planning, ...racersOf(cancel)]);
  if (!tookCancel(planned)) {
    if (planning.isFaulted) stopping = failureMessage(planning);
    else ({ check, plan } = planToRun(resultOf(planning)));
  }
  stopping ??= check?.refused;
  if (check?.reusedFrom) {
    progress.reusedFrom = check.reusedFrom;
    publish();
  }

  if (plan && !canceled) {
    const { limits } = plan;
    Object.assign(progress, {
      phase: 'running',
      items: plan.items,
      ...(plan.itemsCountedByTries ? { itemsCountedByTries: true } : {}),
      miniBatches: plan.miniBatches,
      shards: plan.shards.length,
    });
    const queue: CarriedShard[] = [...plan.shards];
    const { maxInFlight, reportFailures } = shardLayout(limits, plan.shards.length);
    const inFlight = new Map<Task, { ref: CarriedShard; task: TypedTask<ShardOutput> }>();
    // Failure counts reported by shards still running; a finished shard's are in progress.done.
    const liveFailures = new Map<number, ShardFailures>();
    let failureReport: TypedTask<ShardFailures> | undefined = reportFailures
      ? waitFor(context, events.shardFailures)
      : undefined;
    const told: Told = { shards: false, cancel: false };
    while (inFlight.size > 0 || (queue.length > 0 && !stopping)) {
      while (!stopping && inFlight.size < limits.node_count) {
        const ref = queue.shift();
        if (!ref) break;
        const task = callSub(
          context,
          orchestrators.shard,
          {
            runId,
            shard: ref,
            limits,
            maxInFlight,
            priorFailedItems: progress.done.itemsFailed,
            priorFailedMiniBatches: progress.done.miniBatchesFailed,
            reportFailures,
            startedAt,
          },
          shardInstanceId(runId, ref.shard),
        );
        inFlight.set(task, { ref, task });
      }
      progress.inFlightShards = [...inFlight.values()].map((s) => s.ref.shard);
      publish();
      const racers: Task[] = [...inFlight.keys()];
      if (failureReport) racers.push(failureReport);
      racers.push(...racersOf(cancel));
      const winner = yield* firstOf(context, racers);
      if (tookCancel(winner)) {
        stopping = canceled;
      } else if (failureReport && winner === failureReport) {
        const report = resultOf(failureReport);
        // The library keeps every waiter it was handed, the ended ones too, and gives an event to the
        // newest: this one, from the next Task.any on. Only the stop signal's yield comes between,
        // once stopping, when further reports no longer matter.
        failureReport = waitFor(context, events.shardFailures);
        const crossed = failuresReported(
          limits,
          progress.done,
          liveFailures,
          progress.inFlightShards,
          report,
        );
        stopping ??= crossed;
      } else {
        const shard = inFlight.get(winner);
        inFlight.delete(winner);
        if (!shard) continue;
        const ended = shardEnded(
          limits,
          progress.done,
          liveFailures,
          shard.ref.shard,
          shard.task.isFaulted ? { failed: failureMessage(shard.task) } : { output: resultOf(shard.task) },
        );
        progress.done = ended.done;
        if (ended.finished) progress.shardsDone++;
        // A shard whose tries the cancel ended before the run took the cancel event: canceled all the same.
        if (ended.canceled && !canceled) {
          canceled = cancelReason(undefined);
          Object.assign(progress, { phase: 'canceling', canceled, stopping: canceled });
        }
        if (canceled) stopping = canceled;
        stopping ??= ended.stop;
      }
      if (stopping) progress.stopping = stopping;
      const stop = stopToSend(told, inFlight.size, stopping, canceled);
      if (stop) {
        // A cancel ends each shard at once, wherever it is (replaying after a restart included): the
        // event waits in the shard's queue. Terminating the run would not reach them (Durable Functions
        // never terminates sub-orchestrations with their parent).
        const signal = {
          instanceIds: [...inFlight.values()].map((s) => shardInstanceId(runId, s.ref.shard)),
          event: events.stop,
          data: stop,
        };
        try {
          yield canceled
            ? callWithRetry(context, activities.signal, infraRetry, signal)
            : call(context, activities.signal, signal);
        } catch {
          // Best effort: the shards then run to their end, and the verdict is the same.
        }
      }
    }
    progress.inFlightShards = [];
    stopping = verdict(limits, progress.done, plan.miniBatches, stopping);
  }

  // From here a cancel is no longer taken: the status API refuses it while the run finalizes.
  progress.phase = canceled ? 'canceling' : 'finalizing';
  publish();
  const reason = canceled ?? stopping;
  const finalizing = callWithRetry(context, activities.finalize, infraRetry, {
    runId,
    status: runStatus(canceled, stopping),
    ...(reason ? { reason } : {}),
    totals: { items: progress.items, miniBatches: progress.miniBatches, ...progress.done },
    startedAt,
    ...(check ? { fingerprint: check.fingerprint } : {}),
    ...(check?.reusedFrom ? { reusedFrom: check.reusedFrom } : {}),
    ...(plan?.reused ? { reused: plan.reused } : {}),
  });
  yield finalizing;
  const summary = resultOf(finalizing);
  progress.phase = 'done';
  publish();
  return {
    status: summary.status,
    ...(summary.reason ? { reason: summary.reason } : {}),
    totals: summary.totals,
    ...(summary.output ? { output: summary.output } : {}),
    ...(summary.reusedFrom ? { reusedFrom: summary.reusedFrom } : {}),
    ...(summary.resumedFrom ? { resumedFrom: summary.resumedFrom } : {}),
  };
}

/** The plan to run, unless the run is reused or refused (then nothing was planned). */
function planToRun(output: PlanOutput): { check: ReuseCheck; plan?: PlanOutput } {
  const { check } = output;
  return check.reusedFrom || check.refused ? { check } : { check, plan: output };
}

function racersOf(cancel: { waiter?: Task }): Task[] {
  return cancel.waiter ? [cancel.waiter] : [];
}

orchestration(orchestrators.run, parallelRunOrchestrator);
