/** History events in the shape the durable-functions library replays (DTFx names, PascalCase). */
export enum EventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventRaised = 15,
}

export interface HistoryEvent {
  EventType: EventType;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string | Date;
  [field: string]: unknown;
}

/** Devhost bookkeeping carried on events (the library ignores unknown fields). */
export interface RetryMark {
  /** Index of the retry action in the flattened action list. */
  action: number;
  /** Failures so far, counted when the retry timer was created. */
  failures?: number;
}

export interface FailureDetails {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable: boolean;
  Properties?: Record<string, unknown> | null;
  InnerFailure?: FailureDetails;
}

export function event(
  type: EventType,
  now: Date,
  fields: Record<string, unknown> = {},
  eventId = -1,
): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: now, ...fields };
}

export function failureFields(reason: string, details: FailureDetails): Record<string, unknown> {
  return { Reason: reason, Details: details.StackTrace ?? details.ErrorMessage, FailureDetails: details };
}

/** FailureDetails for an error thrown by an activity; honours `setExceptionPropertiesProvider` JSON messages. */
export function failureDetailsOf(error: unknown): FailureDetails {
  const err = error instanceof Error ? error : new Error(String(error));
  const fromProvider = parseProviderJson(err.message);
  if (fromProvider) return fromProvider;
  return {
    ErrorType: err.name,
    ErrorMessage: err.message,
    ...(err.stack ? { StackTrace: err.stack } : {}),
    IsNonRetriable: false,
  };
}

function parseProviderJson(message: string): FailureDetails | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(message) as Record<string, unknown>;
    if (typeof v.errorType !== 'string' || typeof v.errorMessage !== 'string') return undefined;
    return {
      ErrorType: v.errorType,
      ErrorMessage: v.errorMessage,
      ...(typeof v.stackTrace === 'string' ? { StackTrace: v.stackTrace } : {}),
      IsNonRetriable: v.isNonRetriable === true,
      Properties: (v.properties as Record<string, unknown> | undefined) ?? null,
    };
  } catch {
    return undefined;
  }
}
