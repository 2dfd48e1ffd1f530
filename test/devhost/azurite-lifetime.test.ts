import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunning } from '../../devhost/azurite-lifetime.js';
import { spawnDevHost, startOrchestration, uniqueNames, waitForInstance } from '../support/devhost.js';

const folders: string[] = [];
afterAll(async () => {
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

describe('the embedded Azurite of a devhost killed with -9', () => {
  it('stops, and a devhost restarted at once on its folder finishes what the first one began', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'devhost-azurite-'));
    folders.push(dir);
    const names = uniqueNames();
    // --azurite wins over --storage: the devhost uses the Azurite it starts on `dir`.
    const options = { storage: 'unused', names, args: ['--azurite', dir] };
    const first = await spawnDevHost(options);
    const azurite = Number(readFileSync(path.join(dir, 'devhost-azurite.pid'), 'utf8'));
    const fanOut = await startOrchestration(first, 'slowFanOut', 40);
    await first.waitForLine(/Executed 'Functions\.slowWork' \(Succeeded/, { count: 8 });
    await first.kill('SIGKILL');

    const second = await spawnDevHost(options);
    try {
      // The first Azurite is gone before the second one opened the folder: one writer at a time.
      expect(isRunning(azurite)).toBe(false);
      expect(second.lines.find((l) => l.includes('Host started'))).toMatch(
        / 1 unfinished instance\(s\) resumed/,
      );
      const status = await waitForInstance(second, fanOut);
      expect(status.runtimeStatus).toBe('Completed');
      expect(status.output).toBe(Array.from({ length: 40 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
    } finally {
      await second.kill();
    }
  }, 120_000);
});
