import type { InvocationContext } from '@azure/functions';
import { errorMessage } from '../errors.js';
import {
  ActionType,
  flattenActions,
  isRetry,
  isSubOrchestration,
  retryDelayMs,
  takesTaskId,
  type Action,
} from './actions.js';
import { EventType, event, type FailureDetails, type HistoryEvent } from './history.js';
import type { Instance, InboxItem, RetryState } from './instance.js';

export interface ActivityWork {
  taskId: number;
  name: string;
  input: unknown;
}

export interface ChildWork {
  taskId: number;
  name: string;
  instanceId: string;
  input: unknown;
}

export interface TimerWork {
  timerId: number;
  fireAt: Date;
  actionIndex?: number;
}

export type Outcome =
  | { kind: 'running' }
  | { kind: 'completed'; output: unknown }
  | { kind: 'failed'; message: string; details: FailureDetails }
  | { kind: 'continueAsNew'; input: unknown }
  | { kind: 'terminated'; reason: string };

export interface EpisodeResult {
  events: HistoryEvent[];
  activities: ActivityWork[];
  children: ChildWork[];
  timers: TimerWork[];
  cancelledTimers: number[];
  outcome: Outcome;
  /** undefined when the orchestrator did not return (terminated, failed, missing): the last one stays. */
  customStatus: unknown;
}

/** What the library returns from an orchestrator invocation (DF OrchestratorState). */
interface OrchestratorState {
  isDone: boolean;
  actions: unknown;
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  failureDetails?: FailureDetails;
}

export type OrchestratorHandler = (triggerInput: unknown, context: InvocationContext) => Promise<unknown>;

const OUT_OF_PROC_LABEL = '$OutOfProcData$:';

/** Value a CallActivity action carries: strings arrive JSON-encoded (DF Utils.processInput). */
export function activityInput(action: Action): unknown {
  return typeof action.input === 'string' ? (JSON.parse(action.input) as unknown) : action.input;
}

function inputJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export class EpisodeRunner {
  constructor(
    private readonly inst: Instance,
    private readonly now: Date,
  ) {}

  private readonly result: EpisodeResult = {
    events: [],
    activities: [],
    children: [],
    timers: [],
    cancelledTimers: [],
    outcome: { kind: 'running' },
    customStatus: undefined,
  };

  /** Runs one episode: replays history plus the batch, then records what the orchestrator asked for. */
  async run(
    batch: InboxItem[],
    handler: OrchestratorHandler | undefined,
    context: InvocationContext,
  ): Promise<EpisodeResult> {
    const inst = this.inst;
    const record = inst.record;
    const terminate = batch.find((b) => b.terminate !== undefined)?.terminate;
    const delivered = batch.flatMap((b) => (b.event ? [b.event] : []));
    const started: HistoryEvent[] = [event(EventType.OrchestratorStarted, this.now)];
    if (inst.history.length === 0) started.push(this.executionStarted());
    this.result.events.push(...started);
    if (terminate !== undefined) {
      this.result.events.push(event(EventType.ExecutionTerminated, this.now, { Input: terminate }));
      return this.finish({ kind: 'terminated', reason: terminate });
    }
    this.result.events.push(...delivered);
    if (!handler) {
      const message = `The function '${record.name}' doesn't exist, is disabled, or is not an orchestrator function.`;
      return this.finish({
        kind: 'failed',
        message,
        details: { ErrorType: 'FunctionNotFound', ErrorMessage: message, IsNonRetriable: true },
      });
    }
    let state: OrchestratorState;
    try {
      state = (await handler(
        this.triggerInput(inst.history.concat(this.result.events)),
        context,
      )) as OrchestratorState;
    } catch (err) {
      return this.finish(this.failure(err));
    }
    const actions = flattenActions(state.actions);
    // null: the orchestrator set none (the library leaves a falsy one out).
    this.result.customStatus = state.customStatus ?? null;
    if (actions.length < inst.actionCount) {
      const message = `Non-deterministic orchestrator: it made ${actions.length} actions on replay, but ${inst.actionCount} were recorded. Orchestrator code must not depend on time, random values or I/O.`;
      return this.finish({
        kind: 'failed',
        message,
        details: {
          ErrorType: 'NonDeterministicOrchestrationError',
          ErrorMessage: message,
          IsNonRetriable: true,
        },
      });
    }
    for (const e of delivered) this.advanceRetry(e, actions);
    const unsupported = this.recordNewActions(actions);
    if (unsupported) return this.finish(unsupported);
    this.noteCancelledTimers(actions);
    if (state.isDone) {
      const next = actions.find((a) => a.actionType === ActionType.ContinueAsNew);
      return this.finish(
        next
          ? { kind: 'continueAsNew', input: activityInput(next) }
          : { kind: 'completed', output: state.output },
      );
    }
    return this.finish({ kind: 'running' });
  }

  private executionStarted(): HistoryEvent {
    const r = this.inst.record;
    return event(EventType.ExecutionStarted, this.now, {
      Name: r.name,
      Input: inputJson(r.input),
      Version: '',
      OrchestrationInstance: { InstanceId: r.instanceId, ExecutionId: r.executionId },
      ParentInstance: r.parent
        ? {
            Name: null,
            OrchestrationInstance: { InstanceId: r.parent.instanceId, ExecutionId: r.parent.executionId },
            TaskScheduleId: r.parent.taskId,
          }
        : null,
    });
  }

  replayInput(): Record<string, unknown> {
    return this.triggerInput(this.inst.history.slice());
  }

  private triggerInput(history: HistoryEvent[]): Record<string, unknown> {
    const r = this.inst.record;
    return {
      history,
      input: r.input,
      instanceId: r.instanceId,
      isReplaying: this.inst.history.length > 0,
      parentInstanceId: r.parent?.instanceId ?? null,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: '3.00:00:00',
      // Huge on purpose: long timers would otherwise need host-side splitting into sub-timers.
      maximumShortTimerDuration: '36500.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
  }

  private failure(err: unknown): Outcome {
    const name = this.inst.record.name;
    const text = errorMessage(err);
    const at = text.indexOf(OUT_OF_PROC_LABEL);
    let reason = text;
    let inner: FailureDetails | undefined;
    if (at >= 0) {
      try {
        const state = JSON.parse(text.slice(at + OUT_OF_PROC_LABEL.length)) as OrchestratorState;
        reason = state.error ?? reason;
        inner = state.failureDetails;
      } catch {
        reason = text.slice(0, at).trim();
      }
    }
    const message = `Orchestrator function '${name}' failed: ${reason}`;
    return {
      kind: 'failed',
      message,
      details: {
        ErrorType: 'OrchestrationFailure',
        ErrorMessage: message,
        IsNonRetriable: false,
        ...(inner ? { InnerFailure: inner } : {}),
      },
    };
  }

  /** Mirrors RetryableTask: a failed attempt takes an id for the retry timer; a fired timer takes one for the re-attempt. */
  private advanceRetry(e: HistoryEvent, actions: Action[]): void {
    const inst = this.inst;
    if (
      e.EventType === EventType.TaskCompleted ||
      e.EventType === EventType.SubOrchestrationInstanceCompleted
    ) {
      inst.retryByTask.delete(e.TaskScheduledId as number);
      return;
    }
    if (e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed) {
      const state = inst.retryByTask.get(e.TaskScheduledId as number);
      if (!state) return;
      inst.retryByTask.delete(e.TaskScheduledId as number);
      const options = actions[state.actionIndex]?.retryOptions;
      state.failures++;
      const max = options?.maxNumberOfAttempts ?? 1;
      // After the last attempt the library still waits on one timer (DTFx's back-compat dummy): it fires at once.
      const delay = options && state.failures < max ? retryDelayMs(options, state.failures) : 0;
      const timerId = inst.nextId++;
      const fireAt = new Date(this.now.getTime() + delay);
      this.result.events.push(
        event(
          EventType.TimerCreated,
          this.now,
          { FireAt: fireAt.toISOString(), _retry: { action: state.actionIndex, failures: state.failures } },
          timerId,
        ),
      );
      inst.retryByTimer.set(timerId, state);
      this.result.timers.push({ timerId, fireAt });
      return;
    }
    if (e.EventType === EventType.TimerFired) {
      const state = inst.retryByTimer.get(e.TimerId as number);
      if (!state) return;
      inst.retryByTimer.delete(e.TimerId as number);
      const action = actions[state.actionIndex];
      if (!action || state.failures >= (action.retryOptions?.maxNumberOfAttempts ?? 1)) return;
      this.schedule(action, state.actionIndex, state);
    }
  }

  private recordNewActions(actions: Action[]): Outcome | undefined {
    const inst = this.inst;
    for (let i = inst.actionCount; i < actions.length; i++) {
      const action = actions[i];
      if (!action) continue;
      if (
        action.actionType === ActionType.WaitForExternalEvent ||
        action.actionType === ActionType.ContinueAsNew
      )
        continue;
      if (!takesTaskId(action.actionType)) {
        const message = `The devhost does not support ${ActionType[action.actionType]} (durable entities and callHttp are not available locally).`;
        return {
          kind: 'failed',
          message,
          details: { ErrorType: 'NotSupported', ErrorMessage: message, IsNonRetriable: true },
        };
      }
      if (action.actionType === ActionType.CreateTimer) {
        const timerId = inst.nextId++;
        const fireAt = new Date(action.fireAt ?? this.now);
        this.result.events.push(
          event(EventType.TimerCreated, this.now, { FireAt: fireAt.toISOString(), _action: i }, timerId),
        );
        if (!action.isCanceled) this.result.timers.push({ timerId, fireAt, actionIndex: i });
        continue;
      }
      this.schedule(action, i, isRetry(action.actionType) ? { actionIndex: i, failures: 0 } : undefined);
    }
    inst.actionCount = actions.length;
    return undefined;
  }

  /** Takes the next task id for an activity or sub-orchestration attempt and records it. */
  private schedule(action: Action, actionIndex: number, retry: RetryState | undefined): void {
    const inst = this.inst;
    const taskId = inst.nextId++;
    const name = action.functionName ?? '';
    const mark = retry ? { _retry: { action: actionIndex } } : {};
    if (retry) inst.retryByTask.set(taskId, retry);
    if (isSubOrchestration(action.actionType)) {
      const childId = action.instanceId ?? `${inst.instanceId}:${taskId}`;
      this.result.events.push(
        event(
          EventType.SubOrchestrationInstanceCreated,
          this.now,
          { Name: name, InstanceId: childId, Input: inputJson(action.input), ...mark },
          taskId,
        ),
      );
      this.result.children.push({ taskId, name, instanceId: childId, input: action.input });
    } else {
      const input = activityInput(action);
      this.result.events.push(
        event(
          EventType.TaskScheduled,
          this.now,
          { Name: name, Input: inputJson(input), Version: '', ...mark },
          taskId,
        ),
      );
      this.result.activities.push({ taskId, name, input });
    }
  }

  private noteCancelledTimers(actions: Action[]): void {
    for (const [timerId, timer] of this.inst.timers) {
      if (timer.actionIndex !== undefined && actions[timer.actionIndex]?.isCanceled)
        this.result.cancelledTimers.push(timerId);
    }
  }

  private finish(outcome: Outcome): EpisodeResult {
    const now = this.now;
    const events = this.result.events;
    if (outcome.kind === 'completed') {
      events.push(
        event(EventType.ExecutionCompleted, now, {
          OrchestrationStatus: 1,
          Result: inputJson(outcome.output),
        }),
      );
    } else if (outcome.kind === 'failed') {
      events.push(
        event(EventType.ExecutionCompleted, now, {
          OrchestrationStatus: 3,
          Result: outcome.message,
          FailureDetails: outcome.details,
        }),
      );
    } else if (outcome.kind === 'terminated') {
      events.push(
        event(EventType.ExecutionCompleted, now, {
          OrchestrationStatus: 5,
          Result: JSON.stringify(outcome.reason),
        }),
      );
    }
    events.push(event(EventType.OrchestratorCompleted, now, { _actionCount: this.inst.actionCount }));
    this.result.outcome = outcome;
    return this.result;
  }
}

/** Replays the committed history without recording anything: the live actions, to learn which timers a race cancelled. */
export async function replayActions(
  inst: Instance,
  handler: OrchestratorHandler,
  context: InvocationContext,
): Promise<Action[] | undefined> {
  if (inst.history.length === 0) return undefined;
  const runner = new EpisodeRunner(inst, new Date());
  try {
    const state = (await handler(runner.replayInput(), context)) as OrchestratorState;
    return flattenActions(state.actions);
  } catch {
    return undefined;
  }
}
