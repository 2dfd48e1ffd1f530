import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHostSettings, parseTimeSpan, resolveAppSettings } from './settings.js';

function appWith(hostJson: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devhost-settings-'));
  writeFileSync(path.join(dir, 'host.json'), JSON.stringify(hostJson));
  return dir;
}

describe('host settings', () => {
  it('reads the durable and queue knobs with the real defaults', () => {
    const s = loadHostSettings(appWith({ version: '2.0' }));
    expect(s.routePrefix).toBe('api');
    expect(s.queues.maxDequeueCount).toBe(5);
    expect(s.durable).toEqual({
      hubName: 'TestHubName',
      maxConcurrentActivityFunctions: 10,
      maxConcurrentOrchestratorFunctions: 10,
    });
  });

  it('resolves %AppSetting% in the hub name and rejects an invalid one', () => {
    const dir = appWith({ extensions: { durableTask: { hubName: '%HUB%' } } });
    expect(loadHostSettings(dir, { HUB: 'MyHub1' }).durable.hubName).toBe('MyHub1');
    expect(() => loadHostSettings(dir, { HUB: 'no-dashes' })).toThrow("hubName 'no-dashes' is not valid");
    expect(() => loadHostSettings(dir, {})).toThrow("uses app setting '%HUB%', which is not set");
  });

  it('parses .NET time spans', () => {
    expect(parseTimeSpan('00:00:10', 0)).toBe(10_000);
    expect(parseTimeSpan('1.00:00:00', 0)).toBe(86_400_000);
    expect(parseTimeSpan('00:00:00.500', 0)).toBe(500);
    expect(parseTimeSpan('soon', 7)).toBe(7);
  });

  it('names the missing setting in a binding expression', () => {
    expect(resolveAppSettings('%A%-%B%', { A: 'x', B: 'y' }, 'w')).toBe('x-y');
  });
});
