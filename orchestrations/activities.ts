import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { ActivityOptions, OrchestrationContext, RetryOptions, Task } from 'durable-functions';
import type { CheckOutcome } from '../core/compute/claims.js';
import type { PoolOutcome } from '../core/compute/protocol.js';
import type { FinalizeInput } from '../core/outputs/finalize.js';
import type { MiniBatchResult } from '../core/outputs/records.js';
import type { RunSummary } from '../core/outputs/summary.js';
import type { MiniBatchInput } from '../core/runner/execute.js';
import type { MiniBatchGroup } from '../core/runner/execute-group.js';
import type { InboxLook } from '../core/inbox/batches.js';
import type { RunEnd } from '../core/inbox/settle.js';
import type {
  CancelRun,
  PlanOutput,
  PoolTryInput,
  RunOutput,
  ShardFailures,
  ShardInput,
  ShardOutput,
  SignalInput,
  StopShard,
} from './contracts.js';
import { tryResultEvent, type activities, type events, type orchestrators } from './names.js';
import { alreadyEnded } from './tasks.js';

/**
 * The contract of every activity the orchestrators call: its input, and what its handler returns.
 * Orchestrators call them through `call`/`callWithRetry`, activities register through `register`:
 * both sides are checked against this one map, so a changed shape fails type-checking on both.
 * Inputs and outputs travel as JSON: keep them JSON-safe (no Date, Map, class instances).
 */
export interface ActivityContracts {
  planRun: { input: { runId: string }; output: PlanOutput };
  runMiniBatch: { input: MiniBatchInput; output: MiniBatchResult };
  /** The results of the group's tries it ran, in order: a prefix of its tries (the rest go back untried). */
  runMiniBatchGroup: { input: MiniBatchGroup; output: MiniBatchResult[] };
  /** Returns how many items the lost mini-batch had, so the shard counts them as failed. */
  recordLostMiniBatch: { input: MiniBatchInput & { error: string }; output: number };
  finalizeRun: { input: FinalizeInput; output: RunSummary };
  /** Returns how many instances took the event. */
  signalInstances: { input: SignalInput; output: number };
  enqueuePoolTry: { input: PoolTryInput; output: true };
  checkPoolTry: { input: PoolTryInput & { force?: boolean }; output: CheckOutcome };
  /** Cuts batch `batch` of the pipeline's inbox if it is due; else says how many files wait and until when. */
  lookAtInbox: { input: BatchRef; output: InboxLook };
  /** Starts the batch's own orchestration (inboxBatch), once. */
  startInboxBatch: { input: BatchRef; output: string };
  /** Writes the batch's run.json; its run id, or why the run cannot start. */
  prepareInboxRun: { input: BatchRef; output: { runId: string } | { refused: string } };
  /** After the run: moves (or leaves) its files; a refused batch's files are rejected. */
  settleInboxBatch: { input: BatchRef & { end: RunEnd; refused?: boolean }; output: number };
}

/** One batch of one pipeline's inbox. */
export interface BatchRef {
  pipeline: string;
  batch: number;
}

/** The contract of each orchestrator: its input, and what it returns. */
export interface OrchestratorContracts {
  parallelRun: { input: { runId: string }; output: RunOutput };
  parallelRunShard: { input: ShardInput; output: ShardOutput };
  /** Never returns: it continues as new with the next batch. */
  inboxCollector: { input: BatchRef; output: undefined };
  inboxBatch: { input: BatchRef & { runId: string }; output: RunEnd };
}

/** The data of each external event the orchestrators wait for. */
export interface EventContracts {
  shardFailures: ShardFailures;
  stop: StopShard;
  /** Raised by the status API; its body may be absent. */
  cancel: CancelRun | undefined;
  /** Raised under `tryResultEvent(index, attempt)`: one name per try, or per group by its first try (names.ts). */
  tryResult: PoolOutcome;
  inboxWake: undefined;
}

export type ActivityName = keyof ActivityContracts;
export type ActivityInput<N extends ActivityName> = ActivityContracts[N]['input'];
export type ActivityOutput<N extends ActivityName> = ActivityContracts[N]['output'];
export type OrchestratorName = keyof OrchestratorContracts;
export type OrchestratorInput<N extends OrchestratorName> = OrchestratorContracts[N]['input'];
export type OrchestratorOutput<N extends OrchestratorName> = OrchestratorContracts[N]['output'];
export type EventName = keyof EventContracts;

// The names in names.ts and the keys of the maps are the same sets: adding a name without its
// contract (or the reverse) fails here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;
export type NamesHaveContracts = [
  Check<Same<(typeof activities)[keyof typeof activities], ActivityName>>,
  Check<Same<(typeof orchestrators)[keyof typeof orchestrators], OrchestratorName>>,
  Check<Same<(typeof events)[keyof typeof events], EventName>>,
];

declare const resultType: unique symbol;

/**
 * A durable task whose result, once it has completed, is a `T`. The property is a phantom (never set
 * at runtime): it only carries `T` from the call that made the task to `resultOf`. A plain `Task`
 * is not a `TypedTask`, so a task's result type can only come from a contract.
 */
export interface TypedTask<T> extends Task {
  readonly [resultType]: T;
}

/**
 * The typed layer's one cast, in one place. durable-functions types every task's result as
 * `unknown`; it is the JSON of what the function returned. It is a `T` because the task came from
 * `call`/`callWithRetry`/`callSub`/`waitFor` under a name whose handler is registered with
 * `register`/`orchestration` against the same contract (checked there), or, for events, because
 * every raiser sends `EventContracts[name]` (signalInstances' input is typed by it too).
 */
function typed<T>(task: Task): TypedTask<T> {
  return task as TypedTask<T>;
}

/** The result of a task that completed. Throws when it has not, or failed (its result is then the error). */
export function resultOf<T>(task: TypedTask<T>): T {
  if (!task.isCompleted || task.isFaulted) {
    throw new Error('resultOf: the task has not completed successfully');
  }
  // `result` is `unknown` in the library's types; `typed` above says why it is a T.
  return task.result as T;
}

/** Calls an activity: the input is checked against its contract, and the task's result is typed. */
export function call<N extends ActivityName>(
  context: OrchestrationContext,
  name: N,
  input: ActivityInput<N>,
): TypedTask<ActivityOutput<N>> {
  return typed(context.df.callActivity(name, input));
}

/** `call` with the library's retries (a new try of the activity after each failure). */
export function callWithRetry<N extends ActivityName>(
  context: OrchestrationContext,
  name: N,
  retry: RetryOptions,
  input: ActivityInput<N>,
): TypedTask<ActivityOutput<N>> {
  return typed(context.df.callActivityWithRetry(name, retry, input));
}

/** Calls an orchestrator as a sub-orchestration, under the given instance id. */
export function callSub<N extends OrchestratorName>(
  context: OrchestrationContext,
  name: N,
  input: OrchestratorInput<N>,
  instanceId: string,
): TypedTask<OrchestratorOutput<N>> {
  return typed(context.df.callSubOrchestrator(name, input, instanceId));
}

/** Waits for an external event; the task's result is the event's data. */
export function waitFor<N extends EventName>(
  context: OrchestrationContext,
  name: N,
): TypedTask<EventContracts[N]> {
  return typed(context.df.waitForExternalEvent(name));
}

/**
 * Waits for a pool worker's result of one try (`tryResultEvent`): each try has its own event name, so
 * the result of an attempt given up, or a second copy of one, is never taken for another try's.
 */
export function waitForTryResult(
  context: OrchestrationContext,
  index: number,
  attempt: number,
): TypedTask<EventContracts['tryResult']> {
  return typed(context.df.waitForExternalEvent(tryResultEvent(index, attempt)));
}

/**
 * Waits for the first of `tasks` to end and returns it: one that has already ended is taken without
 * yielding (`Task.any` fires only for a child that ends after it is built, so a task that ended while
 * the orchestrator waited on another would otherwise never be seen). Use with `yield*`. The winner is
 * looked up among `tasks` by identity, so the caller can compare it with its own typed tasks.
 */
export function* firstOf(context: OrchestrationContext, tasks: Task[]): Generator<Task, Task, unknown> {
  const ended = alreadyEnded(tasks);
  if (ended) return ended;
  const won: unknown = yield context.df.Task.any(tasks);
  const winner = tasks.find((t) => t === won);
  if (!winner) throw new Error('Task.any returned a task it was not given');
  return winner;
}

/** The handler of an activity, as its contract says. */
export type ActivityHandlerOf<N extends ActivityName> = (
  input: ActivityInput<N>,
  context: InvocationContext,
) => ActivityOutput<N> | Promise<ActivityOutput<N>>;

/** Registers an activity's handler against its contract (`extraInputs` and the like go in `options`). */
export function register<N extends ActivityName>(
  name: N,
  handler: ActivityHandlerOf<N>,
  options: Omit<ActivityOptions, 'handler'> = {},
): void {
  df.app.activity(name, { ...options, handler });
}

/** An orchestrator's generator, as its contract says: it returns the contract's output. */
export type OrchestratorOf<N extends OrchestratorName> = (
  context: OrchestrationContext,
  input: OrchestratorInput<N>,
) => Generator<Task, OrchestratorOutput<N>, unknown>;

/** Registers an orchestrator against its contract; it gets its input already typed. */
export function orchestration<N extends OrchestratorName>(name: N, orchestrator: OrchestratorOf<N>): void {
  df.app.orchestration(name, (context: OrchestrationContext) =>
    // getInput<T> is the library's own unchecked generic: the input is what callSub or the starter sent.
    orchestrator(context, context.df.getInput<OrchestratorInput<N>>()),
  );
}
