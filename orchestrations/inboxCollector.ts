import * as df from 'durable-functions';
import type { Task } from 'durable-functions';
import type { RunEnd } from '../core/inbox/settle.js';
import {
  callSub,
  callWithRetry,
  firstOf,
  orchestration,
  resultOf,
  waitFor,
  type BatchRef,
  type OrchestratorOf,
} from './activities.js';
import { mayBeFull, stepAfter, timeToRenew, type CollectorStatus } from './inboxDecisions.js';
import { activities, events, orchestrators } from './names.js';
import { errorText } from './tasks.js';

/** Storage hiccups are retried; what still fails, fails the orchestration, visible in its status. */
const infraRetry = new df.RetryOptions(2_000, 5);

/**
 * One per pipeline (instance `inbox-<pipeline>`), forever: looks at the inbox, and when a batch is
 * due (no file for `quiet_seconds`, or `max_files` waiting) has it cut and started, then continues as
 * new for the next one. Between looks it waits for the first file (idle) or for the time the waiting
 * files are due, taking wake events from the trigger meanwhile. History holds counts, times and blob
 * names, never file names: those are in the collector's records (core/inbox/records.ts).
 */
const inboxCollector: OrchestratorOf<'inboxCollector'> = function* (context, input) {
  const { pipeline, batch } = input;
  let wakes = 0;
  const status = (s: Omit<CollectorStatus, 'batch'>) => context.df.setCustomStatus({ ...s, batch });
  for (;;) {
    status({ phase: 'looking', waiting: 0 });
    const look = callWithRetry(context, activities.lookAtInbox, infraRetry, { pipeline, batch });
    yield look;
    const step = stepAfter(resultOf(look));
    if (step.kind === 'startBatch')
      yield callWithRetry(context, activities.startInboxBatch, infraRetry, { pipeline, batch });
    if (step.kind === 'startBatch' || step.kind === 'nextBatch') {
      context.df.continueAsNew({ pipeline, batch: batch + 1 } satisfies BatchRef);
      return undefined;
    }
    const timer = step.kind === 'waitUntil' ? context.df.createTimer(new Date(step.at)) : undefined;
    status(
      step.kind === 'waitUntil'
        ? { phase: 'waiting', waiting: step.waiting, nextRunAt: step.at }
        : { phase: 'idle', waiting: 0 },
    );
    let sinceLook = 0;
    for (;;) {
      const wake = waitFor(context, events.inboxWake);
      const tasks: Task[] = timer ? [timer, wake] : [wake];
      const winner = yield* firstOf(context, tasks);
      if (winner === timer) break;
      wakes++;
      sinceLook++;
      if (timeToRenew(wakes)) {
        timer?.cancel();
        context.df.continueAsNew({ pipeline, batch } satisfies BatchRef);
        return undefined;
      }
      // Idle: a file arrived, look now. Waiting: look again only once max_files may be reached; the
      // timer's look sees the rest (and moves the time on if files kept coming).
      if (step.kind === 'idle') break;
      if (mayBeFull(step, sinceLook)) {
        timer?.cancel();
        break;
      }
    }
  }
};

/**
 * One batch: its run.json, the run itself (the parallelRun orchestration under the batch's run id,
 * as a sub-orchestration so that its end is known without polling), then its files moved.
 */
const inboxBatch: OrchestratorOf<'inboxBatch'> = function* (context, input) {
  const ref: BatchRef = { pipeline: input.pipeline, batch: input.batch };
  const preparing = callWithRetry(context, activities.prepareInboxRun, infraRetry, ref);
  yield preparing;
  const prepared = resultOf(preparing);
  if ('refused' in prepared) {
    const end: RunEnd = { status: 'Rejected', reason: prepared.refused };
    yield callWithRetry(context, activities.settleInboxBatch, infraRetry, { ...ref, end, refused: true });
    return end;
  }
  let end: RunEnd;
  const running = callSub(context, orchestrators.run, { runId: input.runId }, input.runId);
  try {
    yield running;
    const run = resultOf(running);
    end = { status: run.status, ...(run.reason === undefined ? {} : { reason: run.reason }) };
  } catch (err) {
    end = { status: 'Failed', reason: errorText(err) };
  }
  yield callWithRetry(context, activities.settleInboxBatch, infraRetry, { ...ref, end });
  return end;
};

orchestration(orchestrators.inboxCollector, inboxCollector);
orchestration(orchestrators.inboxBatch, inboxBatch);
