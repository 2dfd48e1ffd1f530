import type { Task } from 'durable-functions';

/** The message of a failed activity or sub-orchestration, without the library's "<ErrorType>: " prefix. */
export function failureMessage(task: Task): string {
  return task.result === undefined ? 'unknown failure' : errorText(task.result);
}

/** Failure of a caught error from `yield` (a TaskFailedError or plain Error). */
export function errorText(err: unknown): string {
  const e = err as { message?: string; failureDetails?: { errorMessage?: string } } | undefined;
  return e?.failureDetails?.errorMessage ?? e?.message ?? String(err);
}

/** A task among `tasks` that has already ended (see `firstOf` in activities.ts for why it matters). */
export function alreadyEnded(tasks: Task[]): Task | undefined {
  return tasks.find((t) => t.isCompleted || t.isFaulted);
}
