import { describe, expect, it } from 'vitest';
import { ActionType, flattenActions, retryDelayMs, type Action } from './actions.js';

describe('flattenActions', () => {
  it('walks compound actions depth-first and counts a reused task once', () => {
    const a: Action = { actionType: ActionType.CallActivity, functionName: 'a' };
    const b: Action = { actionType: ActionType.CreateTimer };
    const c: Action = { actionType: ActionType.WaitForExternalEvent, externalEventName: 'e' };
    const all: Action = {
      actionType: ActionType.WhenAll,
      compoundActions: [a, { actionType: ActionType.WhenAny, compoundActions: [b, c] }],
    };
    expect(flattenActions([[a, all]])).toEqual([a, b, c]);
    expect(flattenActions([[]])).toEqual([]);
  });
});

describe('retryDelayMs', () => {
  it('backs off by the coefficient, capped by the maximum interval', () => {
    const options = {
      firstRetryIntervalInMilliseconds: 100,
      maxNumberOfAttempts: 5,
      backoffCoefficient: 2,
      maxRetryIntervalInMilliseconds: 300,
    };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(options, n))).toEqual([100, 200, 300, 300]);
    expect(retryDelayMs({ firstRetryIntervalInMilliseconds: 50, maxNumberOfAttempts: 2 }, 3)).toBe(50);
  });
});
