import { randomUUID } from 'node:crypto';
import type { InvocationContext, LogLevel as AfLogLevel } from '@azure/functions';
import { errorMessage } from './errors.js';
import type { FunctionsLib } from './functionsLib.js';
import type { Logger } from './log.js';
import type { RegisteredFunction } from './registry.js';

export interface InvokeOptions {
  triggerMetadata?: Record<string, unknown>;
  /** Added to the invocation log line, e.g. the durable instance id. */
  detail?: string;
}

export interface InvokeResult {
  ok: boolean;
  value?: unknown;
  error?: unknown;
  context: InvocationContext;
}

/**
 * Calls one function the way the worker does — `handler(triggerInput, context)` — and writes
 * one log line per invocation: name, outcome, id, duration.
 */
export class Invoker {
  constructor(
    private readonly lib: FunctionsLib,
    private readonly log: Logger,
    private readonly clientInput: () => unknown,
  ) {}

  createContext(fn: RegisteredFunction, options: InvokeOptions = {}): InvocationContext {
    const invocationId = randomUUID();
    const context = new this.lib.InvocationContext({
      invocationId,
      functionName: fn.name,
      logHandler: (level: AfLogLevel, ...args: unknown[]) => this.userLog(fn.name, level, args),
      triggerMetadata: options.triggerMetadata ?? {},
      options: {
        trigger: { ...fn.trigger },
        extraInputs: fn.extraInputs.map((b) => ({ ...b })),
        extraOutputs: fn.extraOutputs.map((b) => ({ ...b })),
      },
    });
    for (const input of fn.extraInputs) {
      if (input.type === 'durableClient' || input.type === 'orchestrationClient') {
        context.extraInputs.set(input.name, this.clientInput());
      }
    }
    return context;
  }

  async invoke(
    fn: RegisteredFunction,
    triggerInput: unknown,
    options: InvokeOptions = {},
  ): Promise<InvokeResult> {
    const context = this.createContext(fn, options);
    const started = performance.now();
    try {
      const value = await fn.handler(triggerInput, context);
      this.done(fn, context, options, started, 'Succeeded');
      return { ok: true, value, context };
    } catch (error) {
      this.done(fn, context, options, started, 'Failed', errorMessage(error));
      return { ok: false, error, context };
    }
  }

  private done(
    fn: RegisteredFunction,
    context: InvocationContext,
    options: InvokeOptions,
    started: number,
    outcome: 'Succeeded' | 'Failed',
    reason?: string,
  ): void {
    const ms = Math.round(performance.now() - started);
    const detail = options.detail ? `, ${options.detail}` : '';
    const line = `Executed 'Functions.${fn.name}' (${outcome}, Id=${context.invocationId}${detail}, Duration=${ms}ms)`;
    if (outcome === 'Failed') this.log.warn(`${line}: ${reason ?? ''}`);
    else this.log.info(line);
  }

  private userLog(name: string, level: AfLogLevel, args: unknown[]): void {
    const text = args
      .map((a) =>
        typeof a === 'string' ? a : a instanceof Error ? (a.stack ?? a.message) : JSON.stringify(a),
      )
      .join(' ');
    const line = `[${name}] ${text}`;
    if (level === 'error' || level === 'critical') this.log.error(line);
    else if (level === 'warning') this.log.warn(line);
    else if (level === 'debug' || level === 'trace') this.log.debug(line);
    else this.log.info(line);
  }
}
