import type { OrchestrationContext, Task } from 'durable-functions';
import { describe, expect, it } from 'vitest';
import type { ShardOutput } from './contracts.js';
import { call, firstOf, resultOf, type TypedTask } from './activities.js';

function task(over: Partial<Task> = {}): Task {
  return { isCompleted: false, isFaulted: false, ...over };
}

/** Just enough of a context to see what the helpers hand to the library. */
function fakeContext(any: (tasks: Task[]) => Task) {
  const calls: unknown[][] = [];
  const context = {
    df: {
      callActivity: (...args: unknown[]) => {
        calls.push(args);
        return task();
      },
      Task: { any },
    },
  } as unknown as OrchestrationContext;
  return { context, calls };
}

describe('the typed layer', () => {
  it('call passes the name and input through to callActivity', () => {
    const { context, calls } = fakeContext(() => task());
    call(context, 'runMiniBatch', { runId: 'r', shard: 0, index: 1, attempt: 1 });
    expect(calls).toEqual([['runMiniBatch', { runId: 'r', shard: 0, index: 1, attempt: 1 }]]);
  });

  it('resultOf reads a completed task, and refuses one still running or failed', () => {
    const out: ShardOutput = {
      shard: 0,
      totals: { itemsSucceeded: 1, itemsFailed: 0, miniBatchesSucceeded: 1, miniBatchesFailed: 0, tries: 1 },
    };
    const done = task({ isCompleted: true, result: out }) as TypedTask<ShardOutput>;
    expect(resultOf(done)).toBe(out);
    expect(() => resultOf(task() as TypedTask<number>)).toThrow(/not completed/);
    expect(() =>
      resultOf(task({ isCompleted: true, isFaulted: true, result: new Error('x') }) as TypedTask<number>),
    ).toThrow();
  });

  it('firstOf takes a task that already ended without yielding', () => {
    const { context } = fakeContext(() => {
      throw new Error('no yield expected');
    });
    const ended = task({ isCompleted: true });
    const gen = firstOf(context, [task(), ended]);
    expect(gen.next()).toEqual({ done: true, value: ended });
  });

  it('firstOf yields Task.any and returns the winner among the tasks it was given', () => {
    const whenAny = task();
    const { context } = fakeContext(() => whenAny);
    const a = task();
    const b = task();
    const gen = firstOf(context, [a, b]);
    expect(gen.next()).toEqual({ done: false, value: whenAny });
    expect(gen.next(b)).toEqual({ done: true, value: b });
    const again = firstOf(context, [a]);
    again.next();
    expect(() => again.next(b)).toThrow(/not given/);
  });
});
