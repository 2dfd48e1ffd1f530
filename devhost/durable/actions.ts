/** Orchestrator actions as durable-functions returns them (actions/ActionType.js). */
export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  ScheduledSignalEntity = 10,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

export interface Action {
  actionType: ActionType;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: RetryOptions;
  fireAt?: Date | string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: Action[];
}

/** Whether an action takes a number from the task-id sequence. */
export function takesTaskId(type: ActionType): boolean {
  return (
    type === ActionType.CallActivity ||
    type === ActionType.CallActivityWithRetry ||
    type === ActionType.CallSubOrchestrator ||
    type === ActionType.CallSubOrchestratorWithRetry ||
    type === ActionType.CreateTimer
  );
}

export function isRetry(type: ActionType): boolean {
  return type === ActionType.CallActivityWithRetry || type === ActionType.CallSubOrchestratorWithRetry;
}

export function isSubOrchestration(type: ActionType): boolean {
  return type === ActionType.CallSubOrchestrator || type === ActionType.CallSubOrchestratorWithRetry;
}

/**
 * Depth-first, left-to-right leaves of the episode's action list, each live object once: a task yielded
 * alone and then again inside Task.all is one action. Ids follow this order (first yield wins).
 */
export function flattenActions(actions: unknown): Action[] {
  const out: Action[] = [];
  const seen = new Set<Action>();
  const visit = (a: Action) => {
    if (a.actionType === ActionType.WhenAll || a.actionType === ActionType.WhenAny) {
      for (const child of a.compoundActions ?? []) visit(child);
    } else if (!seen.has(a)) {
      seen.add(a);
      out.push(a);
    }
  };
  const outer = Array.isArray(actions) ? (actions as unknown[]) : [];
  for (const group of outer) for (const a of Array.isArray(group) ? (group as Action[]) : []) visit(a);
  return out;
}

/** Delay before retry number `failures` (1-based), as DTFx RetryInterceptor computes it. */
export function retryDelayMs(options: RetryOptions, failures: number): number {
  const base = options.firstRetryIntervalInMilliseconds * (options.backoffCoefficient ?? 1) ** (failures - 1);
  return Math.min(base, options.maxRetryIntervalInMilliseconds ?? Number.POSITIVE_INFINITY);
}
