import { EventType, type HistoryEvent, type RetryMark } from './history.js';
import type { InstanceRecord } from './store.js';

/** What waits to be applied to an instance in its next episode. */
export interface InboxItem {
  event?: HistoryEvent;
  terminate?: string;
  /** Persisted message to delete once the episode that applies it has committed. */
  messageId?: string;
}

export interface RetryState {
  /** Index of the retry action in the flattened action list; stable across replays. */
  actionIndex: number;
  failures: number;
}

export interface ArmedTimer {
  handle: NodeJS.Timeout | undefined;
  /** Index of the CreateTimer action, to notice when a Task.any race cancels it; absent for retry timers. */
  actionIndex?: number;
}

/**
 * One live orchestration instance: its committed history and the host-side bookkeeping that
 * mirrors the task-id sequence durable-functions assigns when it replays (one id per scheduled task).
 */
export class Instance {
  history: HistoryEvent[] = [];
  readonly inbox: InboxItem[] = [];
  /** Flattened actions already recorded in history. */
  actionCount = 0;
  /** Next number in the task-id sequence. */
  nextId = 0;
  readonly retryByTask = new Map<number, RetryState>();
  readonly retryByTimer = new Map<number, RetryState>();
  readonly timers = new Map<number, ArmedTimer>();
  busy = false;
  terminal = false;
  /** Persisted messages already queued on this instance: one that reaches it twice (a load racing a send) is applied once. */
  private readonly queuedMessages = new Set<string>();

  constructor(public record: InstanceRecord) {}

  get instanceId(): string {
    return this.record.instanceId;
  }

  /** Queues a persisted message (event or terminate); a terminate goes first, as the host applies it at once. */
  enqueue(item: InboxItem): void {
    if (item.messageId !== undefined) {
      if (this.queuedMessages.has(item.messageId)) return;
      this.queuedMessages.add(item.messageId);
    }
    if (item.terminate !== undefined) this.inbox.unshift(item);
    else this.inbox.push(item);
  }

  /** Starts a fresh execution (new instance or continue-as-new): the sequence restarts at 0. */
  resetExecution(): void {
    this.history = [];
    this.actionCount = 0;
    this.nextId = 0;
    this.retryByTask.clear();
    this.retryByTimer.clear();
    this.clearTimers();
  }

  clearTimers(): void {
    for (const t of this.timers.values()) if (t.handle) clearTimeout(t.handle);
    this.timers.clear();
  }

  /** True for events that move a retry forward: they must be applied alone (§2 ordering hazard). */
  isRetryEvent(e: HistoryEvent): boolean {
    if (e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed) {
      return this.retryByTask.has(e.TaskScheduledId as number);
    }
    return e.EventType === EventType.TimerFired && this.retryByTimer.has(e.TimerId as number);
  }

  /** The items for the next episode: a run of plain completions, or one retry event alone, or a terminate. */
  takeBatch(): InboxItem[] {
    const first = this.inbox[0];
    if (!first) return [];
    if (first.terminate !== undefined || (first.event && this.isRetryEvent(first.event)))
      return this.inbox.splice(0, 1);
    let n = 0;
    while (n < this.inbox.length) {
      const item = this.inbox[n];
      if (!item?.event || this.isRetryEvent(item.event)) break;
      n++;
    }
    return this.inbox.splice(0, n);
  }

  /** Rebuilds the bookkeeping from a committed history after a restart. */
  restore(history: HistoryEvent[]): void {
    this.history = history;
    const completed = new Set<number>();
    const fired = new Set<number>();
    let maxId = -1;
    for (const e of history) {
      switch (e.EventType) {
        case EventType.TaskScheduled:
        case EventType.SubOrchestrationInstanceCreated:
        case EventType.TimerCreated:
          maxId = Math.max(maxId, e.EventId);
          break;
        case EventType.TaskCompleted:
        case EventType.TaskFailed:
        case EventType.SubOrchestrationInstanceCompleted:
        case EventType.SubOrchestrationInstanceFailed:
          completed.add(e.TaskScheduledId as number);
          break;
        case EventType.TimerFired:
          fired.add(e.TimerId as number);
          break;
        case EventType.OrchestratorCompleted:
          if (typeof e._actionCount === 'number') this.actionCount = e._actionCount;
          break;
      }
    }
    this.nextId = maxId + 1;
    const retries = new Map<number, RetryState>();
    const stateFor = (mark: RetryMark) => {
      const state = retries.get(mark.action) ?? { actionIndex: mark.action, failures: 0 };
      retries.set(mark.action, state);
      return state;
    };
    for (const e of history) {
      const mark = e._retry as RetryMark | undefined;
      if (!mark) continue;
      const state = stateFor(mark);
      if (e.EventType === EventType.TimerCreated) {
        state.failures = Math.max(state.failures, mark.failures ?? 0);
        if (!fired.has(e.EventId)) this.retryByTimer.set(e.EventId, state);
      } else if (!completed.has(e.EventId)) {
        this.retryByTask.set(e.EventId, state);
      }
    }
  }

  /** Work scheduled in history whose outcome is not there yet: it must be (re)started after a restart. */
  openWork(): { scheduled: HistoryEvent[]; timers: HistoryEvent[]; children: HistoryEvent[] } {
    const done = new Set<number>();
    const fired = new Set<number>();
    for (const e of this.history) {
      if (e.TaskScheduledId !== undefined) done.add(e.TaskScheduledId as number);
      if (e.EventType === EventType.TimerFired) fired.add(e.TimerId as number);
    }
    const open = (type: EventType) =>
      this.history.filter((e) => e.EventType === type && !done.has(e.EventId));
    return {
      scheduled: open(EventType.TaskScheduled),
      children: open(EventType.SubOrchestrationInstanceCreated),
      timers: this.history.filter((e) => e.EventType === EventType.TimerCreated && !fired.has(e.EventId)),
    };
  }
}
