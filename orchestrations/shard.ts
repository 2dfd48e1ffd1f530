import * as df from 'durable-functions';
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import type { MiniBatchResult } from '../core/outputs/records.js';
import type {
  ShardFailures,
  ShardInput,
  ShardOutput,
  ShardProgress,
  SignalInput,
  StopShard,
} from './contracts.js';
import { activities, events, orchestrators } from './names.js';
import { alreadyEnded, failureMessage } from './tasks.js';
import { crossedThreshold } from './thresholds.js';

interface Work {
  index: number;
  attempt: number;
}

/**
 * One shard of a run (a few hundred mini-batches, so its history stays bounded): keeps its share of
 * the run's mini-batches in flight (`miniBatchesInFlight`), retries failed tries up to `run_max_try`, and
 * stops scheduling once a threshold is crossed, by its own failures or, told by the run, by all
 * shards' together. A cancel (a `stop` event marked `cancel`, wherever the shard is, replay included)
 * ends it at once. Deterministic: no clock but the orchestration's, no I/O.
 */
function* shardOrchestrator(context: OrchestrationContext): Generator<Task, ShardOutput, unknown> {
  const input = context.df.getInput<ShardInput>();
  const { shard, limits, runId } = input;
  const pending: Work[] = Array.from({ length: shard.count }, (_, i) => ({
    index: shard.first + i,
    attempt: 1,
  }));
  const inFlight = new Map<Task, Work>();
  const totals: ShardOutput['totals'] = {
    itemsSucceeded: 0,
    itemsFailed: 0,
    miniBatchesSucceeded: 0,
    miniBatchesFailed: 0,
    tries: 0,
  };
  let stopped: string | undefined;
  let canceled = false;
  let told = false;
  // The run's word that a threshold crossed across shards, that a sibling failed, or that it was canceled.
  let stopSignal: Task = context.df.waitForExternalEvent(events.stop);
  const timeout = limits.progress_update_timeout;
  let lastProgress = context.df.currentUtcDateTime;
  let deadline: TimerTask | undefined;
  let triesWhenArmed = 0;
  const publish = () =>
    context.df.setCustomStatus({
      shard: shard.shard,
      miniBatches: shard.count,
      inFlight: inFlight.size,
      totals,
    } satisfies ShardProgress);

  while (inFlight.size > 0 || (pending.length > 0 && !stopped)) {
    while (!stopped && inFlight.size < input.maxInFlight) {
      const work = pending.shift();
      if (!work) break;
      inFlight.set(
        context.df.callActivity(activities.miniBatch, {
          runId,
          shard: shard.shard,
          index: work.index,
          attempt: work.attempt,
        }),
        work,
      );
    }
    publish();
    const racers = [...inFlight.keys()];
    racers.push(stopSignal);
    if (timeout !== null) {
      // One timer per quiet period, not one per mini-batch: if progress came before it fired, the
      // next one is armed from that progress.
      if (!deadline) {
        deadline = context.df.createTimer(new Date(lastProgress.getTime() + timeout * 1000));
        triesWhenArmed = totals.tries;
      }
      racers.push(deadline);
    }
    const winner = alreadyEnded(racers) ?? ((yield context.df.Task.any(racers)) as Task);
    if (winner === deadline) {
      deadline = undefined;
      if (totals.tries === triesWhenArmed) {
        stopped = `progress_update_timeout crossed: no mini-batch finished for ${timeout ?? 0} s`;
        break;
      }
      continue;
    }
    if (winner === stopSignal) {
      const stop = stopSignal.result as StopShard;
      stopped ??= stop.reason;
      told = true;
      if (stop.cancel) {
        // Canceled: end now. The tries in flight are left behind (the run shuts their processes down);
        // what they wrote is counted from storage, not from here.
        canceled = true;
        break;
      }
      // Stopping for a threshold still waits for the tries in flight: a cancel may yet come, and must
      // then end the wait (the newest waiter gets the next event).
      stopSignal = context.df.waitForExternalEvent(events.stop);
      continue;
    }
    const work = inFlight.get(winner);
    inFlight.delete(winner);
    if (!work) continue;
    lastProgress = context.df.currentUtcDateTime;
    totals.tries++;
    let result: MiniBatchResult;
    if (winner.isFaulted) {
      // The activity itself failed (the host, not the script): that is a failed try too.
      if (work.attempt < limits.run_max_try) {
        pending.unshift({ index: work.index, attempt: work.attempt + 1 });
        continue;
      }
      const lost = {
        runId,
        shard: shard.shard,
        index: work.index,
        attempt: work.attempt,
        error: failureMessage(winner),
      };
      const inputs = (yield context.df.callActivity(activities.recordLost, lost)) as number;
      result = {
        index: work.index,
        attempt: work.attempt,
        ok: false,
        final: true,
        inputs,
        succeeded: 0,
        failedItems: inputs,
        durationMs: 0,
      };
    } else {
      result = winner.result as MiniBatchResult;
    }
    // The run was canceled under the try (the cancel ended its tries before its event got here):
    // nothing to count or retry, nothing more to schedule, and the shard ends as canceled.
    if (result.ended) {
      canceled = true;
      break;
    }
    if (!result.final) {
      pending.unshift({ index: work.index, attempt: work.attempt + 1 });
      continue;
    }
    totals.itemsSucceeded += result.succeeded;
    totals.itemsFailed += result.failedItems;
    // ParallelRunStep: a mini-batch failed if it raised, or returned fewer rows than inputs, after all tries.
    if (result.ok && result.failedItems === 0) totals.miniBatchesSucceeded++;
    else {
      totals.miniBatchesFailed++;
      if (input.reportFailures && !told) {
        try {
          yield reportFailures(context, runId, shard.shard, totals);
        } catch {
          // Best effort: the run still adds up every shard's failures when they end.
        }
      }
    }
    if (result.fatal) stopped ??= result.fatal;
    stopped ??= crossedThreshold(limits, {
      itemsFailed: input.priorFailedItems + totals.itemsFailed,
      miniBatchesFailed: input.priorFailedMiniBatches + totals.miniBatchesFailed,
    });
  }
  // A timer that fired during the last yield has nothing left to cancel.
  if (deadline && !alreadyEnded([deadline])) deadline.cancel();
  publish();
  return {
    shard: shard.shard,
    totals,
    ...(stopped ? { stopped } : {}),
    ...(canceled ? { canceled } : {}),
  };
}

/** Tells the run this shard's failures so far (the counts only grow, so a late or repeated report is harmless). */
function reportFailures(
  context: OrchestrationContext,
  runId: string,
  shard: number,
  totals: ShardOutput['totals'],
): Task {
  const data: ShardFailures = {
    shard,
    itemsFailed: totals.itemsFailed,
    miniBatchesFailed: totals.miniBatchesFailed,
  };
  return context.df.callActivity(activities.signal, {
    instanceIds: [runId],
    event: events.shardFailures,
    data,
  } satisfies SignalInput);
}

df.app.orchestration(orchestrators.shard, shardOrchestrator);
