import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import type { MiniBatchResult } from '../core/outputs/records.js';
import { call, firstOf, orchestration, resultOf, waitFor, type TypedTask } from './activities.js';
import type { ShardInput, ShardOutput, ShardProgress } from './contracts.js';
import { activities, events, orchestrators } from './names.js';
import { PoolTryRun } from './poolTry.js';
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
  takeGroup,
  resultsOfTries,
  type TryEnd,
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
  const inFlight = new Set<InFlight>();
  const tally = startingTally(shard);
  const perActivity = input.limits.triesPerActivity ?? 1;
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
      inFlight: triesInFlight(inFlight.values()),
      totals: tally.totals,
    } satisfies ShardProgress);

  while (hasWork(tally, inFlight.size, pending.length)) {
    while (maySchedule(tally, slotsInFlight(inFlight.values()), input.maxInFlight)) {
      const works = takeGroup(pending, perActivity, limits.compute?.placement === 'queue');
      if (works.length === 0) break;
      inFlight.add(startTries(context, input, works));
    }
    publish();
    const racers: Task[] = [...inFlight].flatMap(waitingOn);
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
    const entry = [...inFlight].find((e) => waitingOn(e).includes(winner));
    if (!entry) continue;
    const ended = triesEnded(entry, winner);
    // A pool try that only moved on (put on its queue, checked on) has not ended.
    if (!ended) continue;
    inFlight.delete(entry);
    lastProgress = context.df.currentUtcDateTime;
    const next: Work[] = [];
    let canceled = false;
    let report = false;
    for (const { work, end } of ended.tries) {
      let decision: TryDecision = tryEnded(tally, input, work, end);
      if (decision.kind === 'lost') {
        const recording = call(context, activities.recordLost, {
          runId,
          shard: shard.shard,
          index: work.index,
          attempt: work.attempt,
          error: 'error' in end ? end.error : '',
        });
        yield recording;
        decision = countResult(tally, input, work, lostResult(work, resultOf(recording), decision.fatal));
      }
      if (decision.kind === 'canceled') canceled = true;
      else if (decision.kind === 'retry') next.push(decision.work);
      else if (decision.kind === 'counted' && decision.report) report = true;
    }
    if (canceled) break;
    // Retries first (the lowest indexes), then the tries a group left untried, in order.
    pending.unshift(...next, ...ended.untried);
    if (report) {
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
 * Tries handed out together: one, or a group of consecutive small mini-batches, as one activity; or
 * one try on a pool, handed over and waited for step by step (poolTry.ts).
 */
type InFlight =
  | { works: Work[]; task: TypedTask<MiniBatchResult> | TypedTask<MiniBatchResult[]> }
  | { works: Work[]; pool: PoolTryRun };

/** The tasks an entry waits on: its activity, or its pool try's current step. */
function waitingOn(entry: InFlight): Task[] {
  return 'pool' in entry ? entry.pool.waitingOn() : [entry.task];
}

/** A group keeps two of its tries going at once (one scoring, one fetching): two of the shard's slots. */
const GROUP_IN_PARALLEL = 2;

/**
 * The slots an entry holds: an activity's group two (it runs two tries at once on this instance); a
 * pool's message one, a group or not, since a pool's slots are the messages on its queue, which is
 * what KEDA scales its replicas on (miniBatchesInFlight, contracts.ts).
 */
function slotsOf(entry: InFlight): number {
  if ('pool' in entry) return 1;
  return entry.works.length === 1 ? 1 : Math.min(GROUP_IN_PARALLEL, entry.works.length);
}

function slotsInFlight(entries: Iterable<InFlight>): number {
  let slots = 0;
  for (const entry of entries) slots += slotsOf(entry);
  return slots;
}

function triesInFlight(entries: Iterable<InFlight>): number {
  let tries = 0;
  for (const { works } of entries) tries += works.length;
  return tries;
}

/**
 * How each try of an entry ended, once `ended` (one of its tasks) has, and the group's tries it never
 * started; undefined when the entry goes on (a pool try's step).
 */
function triesEnded(
  entry: InFlight,
  ended: Task,
): { tries: { work: Work; end: TryEnd }[]; untried: Work[] } | undefined {
  const { works } = entry;
  if ('pool' in entry) {
    const end = entry.pool.step(ended);
    if (!end) return undefined;
    if ('result' in end) return resultsOfTries(works, end.result);
    // Given up: each of its tries is a lost try, with why (the run's reason too, when it ends the run).
    const lost: TryEnd = { failed: true, error: end.error, ...(end.endsRun ? { fatal: end.error } : {}) };
    return { tries: works.map((work) => ({ work, end: lost })), untried: [] };
  }
  const { task } = entry;
  if (task.isFaulted) {
    // The host lost the activity: each of its tries failed, as a single try's would.
    const error = failureMessage(task);
    return { tries: works.map((work) => ({ work, end: { failed: true, error } })), untried: [] };
  }
  return resultsOfTries(works, resultOf<MiniBatchResult | MiniBatchResult[]>(task));
}

/**
 * Starts tries where the run's placement says (limits.compute, core/compute/placement.ts): one try as
 * an activity on this app, several consecutive ones as one group activity, or one on a pool's queue.
 */
function startTries(context: OrchestrationContext, input: ShardInput, works: Work[]): InFlight {
  const [work] = works;
  const placement = input.limits.compute;
  if (placement?.placement === 'queue' && work) {
    const pool = new PoolTryRun(context, {
      runId: input.runId,
      shard: input.shard.shard,
      index: work.index,
      attempt: work.attempt,
      ...(works.length > 1 ? { tries: works.map((w) => ({ index: w.index, attempt: w.attempt })) } : {}),
      pool: placement.kind,
      queue: placement.queue,
      deadlineSeconds: placement.startTimeoutSeconds,
    });
    return { works, pool };
  }
  if (works.length > 1 || !work) {
    const task = call(context, activities.miniBatchGroup, {
      runId: input.runId,
      shard: input.shard.shard,
      tries: works,
      inParallel: GROUP_IN_PARALLEL,
    });
    return { works, task };
  }
  const t = { runId: input.runId, shard: input.shard.shard, index: work.index, attempt: work.attempt };
  return { works, task: call(context, activities.miniBatch, t) };
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
