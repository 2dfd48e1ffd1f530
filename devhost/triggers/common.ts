import { DevHostError } from '../errors.js';
import type { RegisteredFunction } from '../registry.js';
import { resolveAppSettings } from '../settings.js';

/** The storage connection a trigger names (an app setting), defaulting to AzureWebJobsStorage as Azure does. */
export function connectionFor(fn: RegisteredFunction): string {
  const setting =
    typeof fn.trigger.connection === 'string' && fn.trigger.connection !== ''
      ? fn.trigger.connection
      : 'AzureWebJobsStorage';
  const value = process.env[setting] ?? process.env[`AzureWebJobs${setting}`];
  if (!value) {
    throw new DevHostError(
      'BAD_REQUEST',
      `function '${fn.name}' uses connection '${setting}', which is not set in local.settings.json Values.`,
    );
  }
  return value;
}

export function triggerSetting(fn: RegisteredFunction, key: string): string {
  const raw = fn.trigger[key];
  if (typeof raw !== 'string' || raw === '')
    throw new DevHostError('BAD_REQUEST', `function '${fn.name}' has no ${key}.`);
  return resolveAppSettings(raw, process.env, `function '${fn.name}' ${key}`);
}

/** Waits `ms`, or less if the signal aborts: pollers stop at once. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Poll interval that shrinks to `min` when there is work and doubles up to `max` when idle. */
export class Backoff {
  private current: number;
  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    this.current = min;
  }
  next(foundWork: boolean): number {
    this.current = foundWork ? this.min : Math.min(this.current * 2, this.max);
    return foundWork ? 0 : this.current;
  }
}
