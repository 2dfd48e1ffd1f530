import { describe, expect, it } from 'vitest';
import { givenUpMessage, nextCheck } from './poolTryDecisions.js';

const t = {
  runId: 'r',
  shard: 0,
  index: 12,
  attempt: 2,
  deadlineSeconds: 600,
  pool: 'gpu',
  queue: 'minibatches-gpu',
};

describe('pool try decisions', () => {
  it('checks on the worker one deadline after now', () => {
    expect(nextCheck(new Date('2026-01-01T00:00:00Z'), 600).toISOString()).toBe('2026-01-01T00:10:00.000Z');
  });

  it('says why a try was given up and where to look', () => {
    expect(givenUpMessage(t, 'never-taken')).toMatch(
      /^no worker of pool "gpu" took mini-batch 12 \(attempt 2\) within 600 s: start one \(locally: npm run worker -- --pool gpu;/,
    );
    expect(givenUpMessage(t, 'silent')).toMatch(
      /^the worker of pool "gpu" running mini-batch 12 \(attempt 2\) sent no heartbeat for 600 s .*see the worker's log$/,
    );
  });
});
