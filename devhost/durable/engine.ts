import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { DevHostError, errorMessage } from '../errors.js';
import type { Invoker } from '../invoker.js';
import type { Logger } from '../log.js';
import type { RegisteredFunction, Registry } from '../registry.js';
import { Semaphore } from '../semaphore.js';
import {
  EpisodeRunner,
  replayActions,
  type ActivityWork,
  type ChildWork,
  type EpisodeResult,
  type OrchestratorHandler,
} from './episode.js';
import {
  EventType,
  event,
  failureDetailsOf,
  failureFields,
  type FailureDetails,
  type HistoryEvent,
} from './history.js';
import { Instance, type InboxItem } from './instance.js';
import {
  isTerminal,
  type DurableStore,
  type InstanceFilter,
  type InstanceMessage,
  type InstanceRecord,
} from './store.js';

export interface EngineOptions {
  maxConcurrentActivityFunctions: number;
  maxConcurrentOrchestratorFunctions: number;
}

export interface StatusOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

export interface StatusPayload {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: unknown[];
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Same rule as the real host: ids are at most 100 characters, without '/', '\\', '#', '?' or control characters. */
function checkInstanceId(id: string): void {
  // eslint-disable-next-line no-control-regex
  if (id.length === 0 || id.length > 100 || /[/\\#?\u0000-\u001f\u007f]/.test(id)) {
    throw new DevHostError(
      'BAD_REQUEST',
      `instance id '${id}' is not valid: use 1 to 100 characters without '/', '\\', '#', '?' or control characters.`,
    );
  }
}

function notOrchestrator(name: string): string {
  return `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`;
}

/**
 * Runs durable orchestrations and activities with the real durable-functions library: it drives the
 * replay protocol, keeps history in Azurite, and resumes every unfinished instance after a restart.
 */
export class DurableEngine {
  private readonly instances = new Map<string, Instance>();
  private readonly activitySlots: Semaphore;
  private readonly orchestratorSlots: Semaphore;
  private readonly waiters = new Map<string, (() => void)[]>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Loads under way (recovery, reload after a fault): messages wait for them, so none is queued twice or lost. */
  private readonly loading = new Map<string, Promise<Instance | undefined>>();
  private stopped = false;

  constructor(
    private readonly store: DurableStore,
    private readonly registry: Registry,
    private readonly invoker: Invoker,
    private readonly log: Logger,
    options: EngineOptions,
  ) {
    this.activitySlots = new Semaphore(options.maxConcurrentActivityFunctions);
    this.orchestratorSlots = new Semaphore(options.maxConcurrentOrchestratorFunctions);
  }

  private orchestrator(name: string): RegisteredFunction | undefined {
    const fn = this.registry.get(name);
    return fn?.trigger.type === 'orchestrationTrigger' ? fn : undefined;
  }

  private activity(name: string): RegisteredFunction | undefined {
    const fn = this.registry.get(name);
    return fn?.trigger.type === 'activityTrigger' ? fn : undefined;
  }

  // ---- client operations -------------------------------------------------------------------

  async startNew(name: string, instanceId: string | undefined, input: unknown): Promise<string> {
    const fn = this.orchestrator(name);
    if (!fn) throw new DevHostError('BAD_REQUEST', notOrchestrator(name));
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    checkInstanceId(id);
    const existing = this.instances.get(id)?.record ?? (await this.store.getInstance(id));
    if (existing && !isTerminal(existing.runtimeStatus)) {
      throw new DevHostError(
        'CONFLICT',
        `An instance with ID '${id}' already exists and is ${existing.runtimeStatus}.`,
      );
    }
    await this.create({ name: fn.name, instanceId: id, input }, existing);
    return id;
  }

  private async create(
    spec: { name: string; instanceId: string; input: unknown; parent?: InstanceRecord['parent'] },
    previous: InstanceRecord | undefined,
  ): Promise<void> {
    if (previous) await this.store.deleteHistory(previous.instanceId, previous.executionId);
    const now = new Date().toISOString();
    const record: InstanceRecord = {
      instanceId: spec.instanceId,
      name: spec.name,
      runtimeStatus: 'Pending',
      input: spec.input ?? null,
      output: null,
      customStatus: null,
      createdTime: now,
      lastUpdatedTime: now,
      executionId: randomUUID().replace(/-/g, ''),
      ...(spec.parent ? { parent: spec.parent } : {}),
    };
    await this.store.putInstance(record);
    const inst = new Instance(record);
    this.instances.set(record.instanceId, inst);
    this.kick(inst);
  }

  async getStatus(instanceId: string, options: StatusOptions = {}): Promise<StatusPayload | undefined> {
    const live = this.instances.get(instanceId);
    const record = live?.record ?? (await this.store.getInstance(instanceId));
    if (!record) return undefined;
    const payload: StatusPayload = {
      name: record.name,
      instanceId: record.instanceId,
      runtimeStatus: record.runtimeStatus,
      input: options.showInput === false ? null : record.input,
      customStatus: record.customStatus,
      output: record.output,
      createdTime: record.createdTime,
      lastUpdatedTime: record.lastUpdatedTime,
    };
    if (options.showHistory) {
      const history = live
        ? live.history
        : await this.store.readHistory(record.instanceId, record.executionId);
      payload.historyEvents = history.map((e) => describeEvent(e, options.showHistoryOutput === true));
    }
    return payload;
  }

  async listStatus(filter: InstanceFilter): Promise<StatusPayload[]> {
    const ids = await this.store.listInstanceIds(filter);
    const out: StatusPayload[] = [];
    for (let i = 0; i < ids.length; i += 16) {
      const page = await Promise.all(ids.slice(i, i + 16).map((id) => this.getStatus(id)));
      for (const s of page) if (s) out.push(s);
    }
    return out;
  }

  /** Resolves once the instance is finished (or the time is up): long-polling without sleeps. */
  async waitForCompletion(instanceId: string, timeoutMs: number): Promise<void> {
    const live = this.instances.get(instanceId);
    if (!live || live.terminal) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const list = this.waiters.get(instanceId) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.waiters.set(instanceId, list);
    });
  }

  /** The live instance, once a load of it now under way (recovery) has finished. */
  private async liveInstance(instanceId: string): Promise<Instance | undefined> {
    await this.loading.get(instanceId);
    const live = this.instances.get(instanceId);
    return live && !live.terminal ? live : undefined;
  }

  /**
   * Persists a message for an instance that still takes messages, then queues it on the live instance.
   * An unfinished instance that is not loaded yet (the host is still recovering, or reloading it after a
   * storage fault) keeps the message in storage, and its load applies it: as in Azure, an event or a
   * terminate is never dropped because the instance is not in memory at that moment.
   */
  private async send(instanceId: string, message: Omit<InstanceMessage, 'id'>): Promise<void> {
    let inst = await this.liveInstance(instanceId);
    if (!inst) {
      const record = await this.store.getInstance(instanceId);
      if (!record) throw new DevHostError('NOT_FOUND', `No instance with ID '${instanceId}' was found.`);
      if (isTerminal(record.runtimeStatus))
        throw new DevHostError(
          'GONE',
          `Instance '${instanceId}' is ${record.runtimeStatus}: it takes no more events.`,
        );
    }
    const stored = await this.store.putMessage(instanceId, message);
    // A load that ran meanwhile may have read the message already: it is queued once.
    inst = await this.liveInstance(instanceId);
    if (inst) {
      inst.enqueue(inboxItem(stored));
      this.kick(inst);
    }
  }

  async raiseEvent(instanceId: string, eventName: string, data: unknown): Promise<void> {
    await this.send(instanceId, { kind: 'event', name: eventName, data: JSON.stringify(data ?? null) });
  }

  async terminate(instanceId: string, reason: string): Promise<void> {
    await this.send(instanceId, { kind: 'terminate', data: reason });
  }

  async purge(instanceId: string): Promise<number> {
    const live = this.instances.get(instanceId);
    if (live) this.retire(live);
    return (await this.store.deleteInstance(instanceId)) ? 1 : 0;
  }

  async purgeBy(filter: InstanceFilter): Promise<number> {
    let n = 0;
    for (const id of await this.store.listInstanceIds(filter)) n += await this.purge(id);
    return n;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Loads every unfinished instance from storage and restarts its pending work. */
  async recover(): Promise<number> {
    const ids = await this.store.listInstanceIds({ runtimeStatus: ['Pending', 'Running', 'ContinuedAsNew'] });
    const loaded: Instance[] = [];
    for (const id of ids) {
      const inst = await this.load(id);
      if (inst) loaded.push(inst);
    }
    for (const inst of loaded) await this.resume(inst);
    return loaded.length;
  }

  private load(instanceId: string): Promise<Instance | undefined> {
    const loading = this.loadNow(instanceId).finally(() => this.loading.delete(instanceId));
    this.loading.set(instanceId, loading);
    return loading;
  }

  private async loadNow(instanceId: string): Promise<Instance | undefined> {
    const record = await this.store.getInstance(instanceId);
    if (!record || isTerminal(record.runtimeStatus)) return undefined;
    const inst = new Instance(record);
    const history = await this.store.readHistory(instanceId, record.executionId);
    inst.restore(history);
    const applied = new Set(history.map((e) => e._msg).filter((m): m is string => typeof m === 'string'));
    for (const m of await this.store.listMessages(instanceId)) {
      if (applied.has(m.id)) {
        await this.store.deleteMessage(instanceId, m.id);
      } else {
        inst.enqueue(inboxItem(m));
      }
    }
    this.instances.set(instanceId, inst);
    return inst;
  }

  private async resume(inst: Instance): Promise<void> {
    const ended = inst.history.find((e) => e.EventType === EventType.ExecutionCompleted);
    if (ended) {
      // The history committed the end but the record was not updated before the crash: finish it now.
      this.applyEnd(inst.record, ended);
      await this.store.putInstance(inst.record);
      this.finishInstance(inst);
      return;
    }
    const open = inst.openWork();
    const executionId = inst.record.executionId;
    for (const e of open.scheduled) {
      this.runActivity(inst, executionId, {
        taskId: e.EventId,
        name: String(e.Name),
        input: JSON.parse(String(e.Input)) as unknown,
      });
    }
    for (const e of open.children) {
      await this.startChild(inst, {
        taskId: e.EventId,
        name: String(e.Name),
        instanceId: String(e.InstanceId),
        input: JSON.parse(String(e.Input)) as unknown,
      });
    }
    for (const e of open.timers) {
      const actionIndex = typeof e._action === 'number' ? e._action : undefined;
      this.armTimer(inst, e.EventId, new Date(String(e.FireAt)), actionIndex);
    }
    await this.disarmCancelledTimers(inst);
    this.kick(inst);
  }

  private async disarmCancelledTimers(inst: Instance): Promise<void> {
    const fn = this.orchestrator(inst.record.name);
    if (!fn || ![...inst.timers.values()].some((t) => t.actionIndex !== undefined)) return;
    const actions = await replayActions(
      inst,
      fn.handler as OrchestratorHandler,
      this.orchestrationContext(fn, inst),
    );
    for (const [timerId, timer] of inst.timers) {
      if (timer.actionIndex !== undefined && actions?.[timer.actionIndex]?.isCanceled)
        this.disarmTimer(inst, timerId);
    }
  }

  /** Stops scheduling and waits a little for running work; what is still running then runs again after a restart. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    for (const inst of this.instances.values()) inst.clearTimers();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    clearTimeout(timer);
  }

  private track<T>(promise: Promise<T>): void {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  // ---- episodes -----------------------------------------------------------------------------

  private kick(inst: Instance): void {
    if (inst.busy || inst.terminal || this.stopped) return;
    if (inst.history.length > 0 && inst.inbox.length === 0) return;
    inst.busy = true;
    const run = this.orchestratorSlots
      .run(() => this.episode(inst))
      .catch((err: unknown) => this.recoverFromFault(inst, err))
      .finally(() => {
        inst.busy = false;
        this.kick(inst);
      });
    this.track(run);
  }

  private orchestrationContext(fn: RegisteredFunction, inst: Instance): InvocationContext {
    return this.invoker.createContext(fn, { detail: `Instance=${inst.instanceId}` });
  }

  private async episode(inst: Instance): Promise<void> {
    if (inst.terminal || this.stopped) return;
    const batch = inst.takeBatch();
    const fn = this.orchestrator(inst.record.name);
    const context = fn
      ? this.orchestrationContext(fn, inst)
      : this.invoker.createContext(missingFunction(inst.record.name));
    const started = performance.now();
    const result = await new EpisodeRunner(inst, new Date()).run(
      batch,
      fn?.handler as OrchestratorHandler | undefined,
      context,
    );
    await this.commit(inst, batch, result);
    const outcome = result.outcome.kind === 'failed' ? 'Failed' : 'Succeeded';
    const ms = Math.round(performance.now() - started);
    const line = `Executed 'Functions.${inst.record.name}' (${outcome}, Id=${context.invocationId}, Instance=${inst.instanceId}, Duration=${ms}ms)`;
    if (result.outcome.kind === 'failed') this.log.warn(`${line}: ${result.outcome.message}`);
    else this.log.info(line);
  }

  private async commit(inst: Instance, batch: InboxItem[], result: EpisodeResult): Promise<void> {
    const record = inst.record;
    await this.store.appendHistory(record.instanceId, record.executionId, result.events);
    for (const e of result.events) e.IsPlayed = true;
    inst.history.push(...result.events);
    record.lastUpdatedTime = new Date().toISOString();
    // A terminate (or a failure) keeps the last custom status, as Azure does: it is the last progress.
    if (result.customStatus !== undefined) record.customStatus = result.customStatus;
    const outcome = result.outcome;
    let finishedExecution: string | undefined;
    switch (outcome.kind) {
      case 'running':
        record.runtimeStatus = 'Running';
        break;
      case 'completed':
        record.runtimeStatus = 'Completed';
        record.output = outcome.output ?? null;
        break;
      case 'failed':
        record.runtimeStatus = 'Failed';
        record.output = outcome.message;
        record.failure = outcome.details;
        break;
      case 'terminated':
        record.runtimeStatus = 'Terminated';
        record.output = outcome.reason;
        break;
      case 'continueAsNew':
        finishedExecution = record.executionId;
        record.runtimeStatus = 'Running';
        record.input = outcome.input ?? null;
        record.output = null;
        record.executionId = randomUUID().replace(/-/g, '');
        inst.resetExecution();
        break;
    }
    // Written with every episode, as Azure writes its Instances row: the custom status (a run's
    // progress) and lastUpdatedTime must survive a restart and be readable while the host is down.
    await this.store.putInstance(record);
    if (finishedExecution) await this.store.deleteHistory(record.instanceId, finishedExecution);
    for (const item of batch)
      if (item.messageId) await this.store.deleteMessage(record.instanceId, item.messageId);
    if (isTerminal(record.runtimeStatus)) {
      this.finishInstance(inst);
      return;
    }
    if (outcome.kind === 'continueAsNew') return;
    for (const timerId of result.cancelledTimers) this.disarmTimer(inst, timerId);
    for (const t of result.timers) this.armTimer(inst, t.timerId, t.fireAt, t.actionIndex);
    for (const a of result.activities) this.runActivity(inst, record.executionId, a);
    for (const c of result.children) await this.startChild(inst, c);
  }

  /** A storage fault mid-episode leaves memory ahead of storage: reload the instance from what was committed. */
  private async recoverFromFault(inst: Instance, err: unknown): Promise<void> {
    this.log.error(
      `Instance ${inst.instanceId}: episode could not be committed (${errorMessage(err)}); reloading it from storage.`,
    );
    this.retire(inst);
    if (this.stopped) return;
    await new Promise((r) => setTimeout(r, 1_000));
    const reloaded = await this.load(inst.instanceId).catch((e: unknown) => {
      this.log.error(
        `Instance ${inst.instanceId}: reload failed (${errorMessage(e)}); restart the devhost to resume it.`,
      );
      return undefined;
    });
    if (reloaded) await this.resume(reloaded);
  }

  private applyEnd(record: InstanceRecord, ended: HistoryEvent): void {
    const status = ended.OrchestrationStatus;
    record.runtimeStatus = status === 1 ? 'Completed' : status === 5 ? 'Terminated' : 'Failed';
    const result = typeof ended.Result === 'string' ? ended.Result : 'null';
    record.output = status === 3 ? result : (JSON.parse(result) as unknown);
    if (ended.FailureDetails) record.failure = ended.FailureDetails as FailureDetails;
    record.lastUpdatedTime = new Date().toISOString();
  }

  /** Drops an instance from memory: its timers stop and late completions are ignored. */
  private retire(inst: Instance): void {
    inst.terminal = true;
    inst.clearTimers();
    if (this.instances.get(inst.instanceId) === inst) this.instances.delete(inst.instanceId);
  }

  private finishInstance(inst: Instance): void {
    this.retire(inst);
    const record = inst.record;
    const parent = record.parent;
    if (parent) this.deliver(parent.instanceId, parent.executionId, childOutcome(record, parent.taskId));
    for (const wake of this.waiters.get(record.instanceId) ?? []) wake();
    this.waiters.delete(record.instanceId);
  }

  private deliver(instanceId: string, executionId: string, e: HistoryEvent): void {
    const inst = this.instances.get(instanceId);
    if (!inst || inst.terminal || inst.record.executionId !== executionId) return;
    inst.inbox.push({ event: e });
    this.kick(inst);
  }

  // ---- work -------------------------------------------------------------------------------

  private runActivity(inst: Instance, executionId: string, work: ActivityWork): void {
    const instanceId = inst.instanceId;
    const run = this.activitySlots.run(async () => {
      if (this.stopped || inst.terminal) return;
      const done = await this.invokeActivity(instanceId, work);
      this.deliver(instanceId, executionId, done);
    });
    this.track(run);
  }

  private async invokeActivity(instanceId: string, work: ActivityWork): Promise<HistoryEvent> {
    const now = () => new Date();
    const fn = this.activity(work.name);
    if (!fn) {
      const message = `The function '${work.name}' doesn't exist, is disabled, or is not an activity function.`;
      return event(EventType.TaskFailed, now(), {
        TaskScheduledId: work.taskId,
        ...failureFields(message, {
          ErrorType: 'FunctionNotFound',
          ErrorMessage: message,
          IsNonRetriable: true,
        }),
      });
    }
    const outcome = await this.invoker.invoke(fn, work.input, { detail: `Instance=${instanceId}` });
    if (outcome.ok) {
      try {
        return event(EventType.TaskCompleted, now(), {
          TaskScheduledId: work.taskId,
          Result: JSON.stringify(outcome.value ?? null),
        });
      } catch (err) {
        outcome.error = new Error(
          `Activity '${work.name}' returned a value that is not JSON: ${errorMessage(err)}`,
        );
      }
    }
    const details = failureDetailsOf(outcome.error);
    return event(EventType.TaskFailed, now(), {
      TaskScheduledId: work.taskId,
      ...failureFields(`Activity function '${work.name}' failed: ${details.ErrorMessage}`, details),
    });
  }

  private async startChild(parent: Instance, work: ChildWork): Promise<void> {
    const parentRef = {
      instanceId: parent.instanceId,
      taskId: work.taskId,
      executionId: parent.record.executionId,
    };
    const fail = (message: string) =>
      this.deliver(
        parent.instanceId,
        parentRef.executionId,
        event(EventType.SubOrchestrationInstanceFailed, new Date(), {
          TaskScheduledId: work.taskId,
          ...failureFields(message, {
            ErrorType: 'SubOrchestrationFailed',
            ErrorMessage: message,
            IsNonRetriable: true,
          }),
        }),
      );
    const fn = this.orchestrator(work.name);
    if (!fn) {
      fail(notOrchestrator(work.name));
      return;
    }
    const existing =
      this.instances.get(work.instanceId)?.record ?? (await this.store.getInstance(work.instanceId));
    if (existing) {
      const ours =
        existing.parent?.instanceId === parentRef.instanceId &&
        existing.parent.taskId === parentRef.taskId &&
        existing.parent.executionId === parentRef.executionId;
      if (ours) {
        // After a restart: the child exists already; if it finished, hand its outcome to the parent again.
        if (isTerminal(existing.runtimeStatus))
          this.deliver(parentRef.instanceId, parentRef.executionId, childOutcome(existing, work.taskId));
        return;
      }
      if (!isTerminal(existing.runtimeStatus)) {
        fail(`An instance with ID '${work.instanceId}' already exists and is ${existing.runtimeStatus}.`);
        return;
      }
    }
    await this.create(
      { name: fn.name, instanceId: work.instanceId, input: work.input, parent: parentRef },
      existing,
    );
  }

  private armTimer(inst: Instance, timerId: number, fireAt: Date, actionIndex?: number): void {
    const executionId = inst.record.executionId;
    const armed: { handle: NodeJS.Timeout | undefined; actionIndex?: number } = { handle: undefined };
    if (actionIndex !== undefined) armed.actionIndex = actionIndex;
    const fire = () => {
      const wait = fireAt.getTime() - Date.now();
      if (wait > 0) {
        armed.handle = setTimeout(fire, Math.min(wait, MAX_TIMER_MS));
        return;
      }
      inst.timers.delete(timerId);
      this.deliver(
        inst.instanceId,
        executionId,
        event(EventType.TimerFired, new Date(), { TimerId: timerId, FireAt: fireAt.toISOString() }),
      );
    };
    inst.timers.set(timerId, armed);
    armed.handle = setTimeout(fire, Math.min(Math.max(fireAt.getTime() - Date.now(), 0), MAX_TIMER_MS));
  }

  private disarmTimer(inst: Instance, timerId: number): void {
    const t = inst.timers.get(timerId);
    if (t?.handle) clearTimeout(t.handle);
    inst.timers.delete(timerId);
  }
}

function childOutcome(child: InstanceRecord, taskId: number): HistoryEvent {
  const now = new Date();
  if (child.runtimeStatus === 'Completed') {
    return event(EventType.SubOrchestrationInstanceCompleted, now, {
      TaskScheduledId: taskId,
      Result: JSON.stringify(child.output ?? null),
    });
  }
  const message =
    child.runtimeStatus === 'Terminated'
      ? `Sub-orchestration '${child.instanceId}' was terminated: ${String(child.output)}`
      : String(child.output);
  const details: FailureDetails = {
    ErrorType: 'SubOrchestrationFailed',
    ErrorMessage: message,
    IsNonRetriable: false,
    ...(child.failure ? { InnerFailure: child.failure } : {}),
  };
  return event(EventType.SubOrchestrationInstanceFailed, now, {
    TaskScheduledId: taskId,
    ...failureFields(message, details),
  });
}

/** The inbox item a persisted message becomes: a raised event or a terminate request. */
function inboxItem(m: InstanceMessage): InboxItem {
  if (m.kind === 'terminate') return { terminate: m.data, messageId: m.id };
  return {
    event: event(EventType.EventRaised, new Date(), { Name: m.name, Input: m.data, _msg: m.id }),
    messageId: m.id,
  };
}

function missingFunction(name: string): RegisteredFunction {
  return {
    name,
    handler: () => undefined,
    trigger: { type: 'orchestrationTrigger', name: 'context' },
    extraInputs: [],
    extraOutputs: [],
  };
}

function describeEvent(e: HistoryEvent, withOutput: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    EventType: EventType[e.EventType],
    EventId: e.EventId,
    Timestamp: e.Timestamp instanceof Date ? e.Timestamp.toISOString() : e.Timestamp,
  };
  if (typeof e.Name === 'string') out.FunctionName = e.Name;
  if (typeof e.Reason === 'string') out.Reason = e.Reason;
  if (withOutput && typeof e.Result === 'string') out.Result = e.Result;
  if (e.TaskScheduledId !== undefined) out.TaskScheduledId = e.TaskScheduledId;
  return out;
}
