import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { ShardRef } from '../core/datasets/plan.js';
import type { RunSummary } from '../core/outputs/summary.js';
import {
  miniBatchesInFlight,
  type CancelRun,
  type PlanOutput,
  type RunProgress,
  type ShardFailures,
  type ShardInput,
  type ShardOutput,
  type SignalInput,
  type StopShard,
} from './contracts.js';
import { activities, events, orchestrators, shardInstanceId } from './names.js';
import { alreadyEnded, failureMessage } from './tasks.js';
import { crossedPercent, crossedThreshold, stopsEarlyOnFailures } from './thresholds.js';

export interface RunOutput {
  status: RunSummary['status'];
  reason?: string;
  totals: RunSummary['totals'];
  output?: RunSummary['output'];
}

const infraRetry = new df.RetryOptions(2_000, 3);

/**
 * A whole run: plan → shards as sub-orchestrations (`node_count` in flight) → finalize. Thresholds are
 * checked over all shards as their failures are reported; crossing one stops scheduling, here and in
 * every live shard, and the run ends Failed with the reason. A `cancel` event, at any point before
 * finalizing, ends every shard at once and the run ends Canceled, its summary counting what was written.
 */
function* parallelRunOrchestrator(context: OrchestrationContext): Generator<Task, RunOutput, unknown> {
  const { runId } = context.df.getInput<{ runId: string }>();
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const progress: RunProgress = {
    phase: 'planning',
    startedAt,
    items: 0,
    miniBatches: 0,
    shards: 0,
    shardsDone: 0,
    done: { itemsSucceeded: 0, itemsFailed: 0, miniBatchesSucceeded: 0, miniBatchesFailed: 0, tries: 0 },
    inFlightShards: [],
  };
  const publish = () => context.df.setCustomStatus(progress);
  publish();

  // A cancel is an event, raced at every wait until the run finalizes: it is kept in the run's queue
  // however early it comes (before the first episode, during a restart) and replays like the rest.
  const cancel: { waiter?: Task } = { waiter: context.df.waitForExternalEvent(events.cancel) };
  let canceled: string | undefined;
  const tookCancel = (winner: Task): boolean => {
    if (!cancel.waiter || winner !== cancel.waiter) return false;
    canceled = (winner.result as CancelRun | undefined)?.reason ?? 'canceled by request';
    delete cancel.waiter;
    Object.assign(progress, { phase: 'canceling', canceled, stopping: canceled });
    return true;
  };

  let plan: PlanOutput | undefined;
  let stopping: string | undefined;
  const planning = context.df.callActivityWithRetry(activities.plan, infraRetry, { runId });
  const planned = (yield context.df.Task.any([planning, ...racersOf(cancel)])) as Task;
  if (!tookCancel(planned)) {
    if (planning.isFaulted) stopping = failureMessage(planning);
    else plan = planning.result as PlanOutput;
  }

  if (plan && !canceled) {
    const { limits } = plan;
    Object.assign(progress, {
      phase: 'running',
      items: plan.items,
      miniBatches: plan.miniBatches,
      shards: plan.shards.length,
    });
    const queue: ShardRef[] = [...plan.shards];
    // The same number in flight for the run, whether it has one shard or many.
    const concurrentShards = Math.min(limits.node_count, plan.shards.length);
    const maxInFlight = Math.ceil(miniBatchesInFlight(limits) / concurrentShards);
    const inFlight = new Map<Task, ShardRef>();
    // Failure counts reported by shards still running; a finished shard's are in progress.done.
    const liveFailures = new Map<number, ShardFailures>();
    // Shards side by side each see only their own failures; the run adds them up.
    const reportFailures = concurrentShards > 1 && stopsEarlyOnFailures(limits);
    let failureReport: Task | undefined = reportFailures
      ? context.df.waitForExternalEvent(events.shardFailures)
      : undefined;
    let shardsTold = false;
    let cancelTold = false;
    while (inFlight.size > 0 || (queue.length > 0 && !stopping)) {
      while (!stopping && inFlight.size < limits.node_count) {
        const ref = queue.shift();
        if (!ref) break;
        const shardInput: ShardInput = {
          runId,
          shard: ref,
          limits,
          maxInFlight,
          priorFailedItems: progress.done.itemsFailed,
          priorFailedMiniBatches: progress.done.miniBatchesFailed,
          reportFailures,
          startedAt,
        };
        inFlight.set(
          context.df.callSubOrchestrator(orchestrators.shard, shardInput, shardInstanceId(runId, ref.shard)),
          ref,
        );
      }
      progress.inFlightShards = [...inFlight.values()].map((r) => r.shard);
      publish();
      const racers = [...inFlight.keys()];
      if (failureReport) racers.push(failureReport);
      racers.push(...racersOf(cancel));
      const winner = alreadyEnded(racers) ?? ((yield context.df.Task.any(racers)) as Task);
      if (tookCancel(winner)) {
        stopping = canceled;
      } else if (winner === failureReport) {
        const report = winner.result as ShardFailures;
        if (progress.inFlightShards.includes(report.shard)) liveFailures.set(report.shard, report);
        // The library keeps every waiter it was handed, the ended ones too, and gives an event to the
        // newest: this one, from the next Task.any on. Only the stop signal's yield comes between,
        // once stopping, when further reports no longer matter.
        failureReport = context.df.waitForExternalEvent(events.shardFailures);
        stopping ??= crossedThreshold(limits, failedSoFar(progress.done, liveFailures));
      } else {
        const ref = inFlight.get(winner);
        inFlight.delete(winner);
        if (!ref) continue;
        liveFailures.delete(ref.shard);
        if (winner.isFaulted) {
          stopping ??= `shard ${ref.shard} failed: ${failureMessage(winner)}`;
        } else {
          const out = winner.result as ShardOutput;
          const d = progress.done;
          progress.done = {
            itemsSucceeded: d.itemsSucceeded + out.totals.itemsSucceeded,
            itemsFailed: d.itemsFailed + out.totals.itemsFailed,
            miniBatchesSucceeded: d.miniBatchesSucceeded + out.totals.miniBatchesSucceeded,
            miniBatchesFailed: d.miniBatchesFailed + out.totals.miniBatchesFailed,
            tries: d.tries + out.totals.tries,
          };
          progress.shardsDone++;
          // A shard whose tries the cancel ended before the run took the cancel event: canceled all the same.
          if (out.canceled && !canceled) {
            canceled = 'canceled by request';
            Object.assign(progress, { phase: 'canceling', canceled, stopping: canceled });
          }
          if (canceled) stopping = canceled;
          stopping ??= out.stopped ?? crossedThreshold(limits, failedSoFar(progress.done, liveFailures));
        }
      }
      if (stopping) progress.stopping = stopping;
      if (stopping && inFlight.size > 0 && (!shardsTold || (canceled && !cancelTold))) {
        shardsTold = true;
        cancelTold = canceled !== undefined;
        // A cancel ends each shard at once, wherever it is (replaying after a restart included): the
        // event waits in the shard's queue. Terminating the run would not reach them (Durable Functions
        // never terminates sub-orchestrations with their parent).
        const stop: StopShard = canceled ? { reason: canceled, cancel: true } : { reason: stopping };
        const signal: SignalInput = {
          instanceIds: [...inFlight.values()].map((r) => shardInstanceId(runId, r.shard)),
          event: events.stop,
          data: stop,
        };
        try {
          yield canceled
            ? context.df.callActivityWithRetry(activities.signal, infraRetry, signal)
            : context.df.callActivity(activities.signal, signal);
        } catch {
          // Best effort: the shards then run to their end, and the verdict is the same.
        }
      }
    }
    progress.inFlightShards = [];
    // The verdict uses the exact totals: shards running side by side each saw only part of them.
    stopping ??=
      crossedThreshold(limits, progress.done) ??
      crossedPercent(limits, progress.done.miniBatchesFailed, plan.miniBatches);
  }

  // From here a cancel is no longer taken: the status API refuses it while the run finalizes.
  progress.phase = canceled ? 'canceling' : 'finalizing';
  publish();
  const reason = canceled ?? stopping;
  const summary = (yield context.df.callActivityWithRetry(activities.finalize, infraRetry, {
    runId,
    status: canceled ? 'Canceled' : stopping ? 'Failed' : 'Completed',
    ...(reason ? { reason } : {}),
    totals: { items: progress.items, miniBatches: progress.miniBatches, ...progress.done },
    startedAt,
  })) as RunSummary;
  progress.phase = 'done';
  publish();
  return {
    status: summary.status,
    ...(summary.reason ? { reason: summary.reason } : {}),
    totals: summary.totals,
    ...(summary.output ? { output: summary.output } : {}),
  };
}

function racersOf(cancel: { waiter?: Task }): Task[] {
  return cancel.waiter ? [cancel.waiter] : [];
}

/** Failures of finished shards plus the latest each running shard reported. */
function failedSoFar(
  done: RunProgress['done'],
  live: Map<number, ShardFailures>,
): Pick<RunProgress['done'], 'itemsFailed' | 'miniBatchesFailed'> {
  let itemsFailed = done.itemsFailed;
  let miniBatchesFailed = done.miniBatchesFailed;
  for (const report of live.values()) {
    itemsFailed += report.itemsFailed;
    miniBatchesFailed += report.miniBatchesFailed;
  }
  return { itemsFailed, miniBatchesFailed };
}

df.app.orchestration(orchestrators.run, parallelRunOrchestrator);
