import { describe, expect, it } from 'vitest';
import { MAX_RUN_ID_LENGTH, newRunId } from './submit.js';

describe('newRunId', () => {
  it('makes ids of at most MAX_RUN_ID_LENGTH characters (the inbox sizes the names it accepts by it)', () => {
    const longest = newRunId('N'.repeat(200), new Date('2026-12-01T21:40:00Z'));
    expect(longest).toMatch(/^n{40}-20261201-214000-[0-9a-f]{6}$/);
    expect(longest).toHaveLength(MAX_RUN_ID_LENGTH);
    expect(newRunId(undefined)).toMatch(/^run-\d{8}-\d{6}-[0-9a-f]{6}$/);
  });
});
