import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { ShardRef } from '../core/datasets/plan.js';
import type { RunSummary } from '../core/outputs/summary.js';
import {
  miniBatchesInFlight,
  type PlanOutput,
  type RunProgress,
  type ShardInput,
  type ShardOutput,
} from './contracts.js';
import { activities, orchestrators, shardInstanceId } from './names.js';
import { errorText, failureMessage } from './tasks.js';
import { crossedPercent, crossedThreshold } from './thresholds.js';

export interface RunOutput {
  status: RunSummary['status'];
  reason?: string;
  totals: RunSummary['totals'];
  output?: RunSummary['output'];
}

const infraRetry = new df.RetryOptions(2_000, 3);

/**
 * A whole run: plan → shards as sub-orchestrations (`node_count` in flight) → finalize. Thresholds are
 * checked as shard results arrive; crossing one stops scheduling and the run ends Failed with the reason.
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

  let plan: PlanOutput | undefined;
  let stopping: string | undefined;
  try {
    plan = (yield context.df.callActivityWithRetry(activities.plan, infraRetry, { runId })) as PlanOutput;
  } catch (err) {
    stopping = errorText(err);
  }

  if (plan) {
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
          startedAt,
        };
        inFlight.set(
          context.df.callSubOrchestrator(orchestrators.shard, shardInput, shardInstanceId(runId, ref.shard)),
          ref,
        );
      }
      progress.inFlightShards = [...inFlight.values()].map((r) => r.shard);
      publish();
      const winner = (yield context.df.Task.any([...inFlight.keys()])) as Task;
      const ref = inFlight.get(winner);
      inFlight.delete(winner);
      if (!ref) continue;
      if (winner.isFaulted) {
        stopping ??= `shard ${ref.shard} failed: ${failureMessage(winner)}`;
        continue;
      }
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
      stopping ??= out.stopped ?? crossedThreshold(limits, progress.done);
      if (stopping) progress.stopping = stopping;
    }
    progress.inFlightShards = [];
    // The verdict uses the exact totals: shards running side by side each saw only part of them.
    stopping ??=
      crossedThreshold(limits, progress.done) ??
      crossedPercent(limits, progress.done.miniBatchesFailed, plan.miniBatches);
  }

  progress.phase = 'finalizing';
  publish();
  const summary = (yield context.df.callActivityWithRetry(activities.finalize, infraRetry, {
    runId,
    status: stopping ? 'Failed' : 'Completed',
    ...(stopping ? { reason: stopping } : {}),
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

df.app.orchestration(orchestrators.run, parallelRunOrchestrator);
