import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleWorker } from '../../scripts/bundle-worker.js';

const dist = mkdtempSync(path.join(os.tmpdir(), 'bundle-worker-'));
const runner = path.join(dist, 'core', 'runner');
afterAll(() => rmSync(dist, { recursive: true, force: true }));

/** A compiled worker that loads a module only when asked: the bundle makes it a chunk. */
function compile(lazyValue: string): void {
  mkdirSync(runner, { recursive: true });
  writeFileSync(
    path.join(runner, 'worker.js'),
    "export const later = () => import('./lazy.js').then((m) => m.value);\n",
  );
  writeFileSync(path.join(runner, 'lazy.js'), `export const value = ${JSON.stringify(lazyValue)};\n`);
  writeFileSync(path.join(runner, 'row-names-process.js'), 'export const naming = true;\n');
}

describe('bundleWorker', () => {
  it("keeps the last build's chunks for processes still running it, and drops older ones", async () => {
    compile('first');
    const [first] = await bundleWorker(dist);
    compile('second');
    const [second] = await bundleWorker(dist);
    expect(first).toMatch(/^worker-chunk-/);
    expect(second).not.toBe(first);
    // A process started on the first bundle may load its chunk only now.
    expect(existsSync(path.join(runner, first ?? ''))).toBe(true);
    expect(readFileSync(path.join(runner, first ?? ''), 'utf8')).toContain('first');
    compile('third');
    const [third] = await bundleWorker(dist);
    expect(existsSync(path.join(runner, first ?? ''))).toBe(false);
    expect(existsSync(path.join(runner, second ?? ''))).toBe(true);
    expect(readFileSync(path.join(runner, third ?? ''), 'utf8')).toContain('third');
    const bundled = (await import(path.join(runner, 'worker.bundle.js'))) as { later: () => Promise<string> };
    expect(await bundled.later()).toBe('third');
  });
});
