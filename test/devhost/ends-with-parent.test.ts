import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { exitedWithin, isRunning } from '../../devhost/azurite-lifetime.js';
import { watchLines } from '../../devhost/lines.js';
import { fixtureApp, repoRoot, uniqueNames } from '../support/devhost.js';

/** A script that starts a devhost as tests and benchmarks do, says which process it is, and waits. */
function starterScript(storage: string): string {
  const names = uniqueNames();
  const options = {
    app: fixtureApp,
    storage,
    env: {
      FIXTURE_HUB: names.hub,
      FIXTURE_QUEUE: names.queue,
      FIXTURE_INBOX: names.inbox,
      FIXTURE_RESULTS: names.results,
    },
  };
  const module = pathToFileURL(path.join(repoRoot, 'dist/devhost/process.js')).href;
  return `import { spawnDevHostProcess } from ${JSON.stringify(module)};
const host = await spawnDevHostProcess(${JSON.stringify(options)});
console.log('devhost ' + host.pid);
setInterval(() => {}, 60_000);`;
}

describe('a devhost started by spawnDevHostProcess', () => {
  it('ends when the script that started it is killed with -9', async () => {
    const starter = spawn(process.execPath, ['--input-type=module', '-e', starterScript(inject('storage'))], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const watched = watchLines(starter, 'starter');
    const line = await watched.waitForLine(/^devhost \d+$/, { timeoutMs: 60_000 });
    const devhost = Number(line.split(' ')[1]);
    expect(isRunning(devhost)).toBe(true);

    starter.kill('SIGKILL');
    try {
      expect(await exitedWithin(devhost, 15_000)).toBe(true);
    } finally {
      // Not left behind by a failing test.
      if (isRunning(devhost)) process.kill(devhost, 'SIGKILL');
    }
  }, 90_000);
});
