import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleOf, resolveEntryScript, runnerEntry } from './paths.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A build's runner folder: the compiled module and, if given, the bundle, each written at its time (seconds). */
function built(compiledAt: number, bundledAt?: number): string {
  dir = mkdtempSync(path.join(os.tmpdir(), 'worker-file-'));
  const write = (name: string, at: number) => {
    writeFileSync(path.join(dir, name), '');
    utimesSync(path.join(dir, name), at, at);
  };
  write('worker.js', compiledAt);
  if (bundledAt !== undefined) write(bundleOf('worker'), bundledAt);
  return dir;
}

describe('runnerEntry', () => {
  it('forks the bundle made after the module was compiled, or copied with it', () => {
    expect(path.basename(runnerEntry('worker', built(1_000, 1_001)))).toBe('worker.bundle.js');
    expect(path.basename(runnerEntry('worker', built(1_000, 1_000)))).toBe('worker.bundle.js');
  });

  it('forks the compiled module where no bundle was made, or where it was compiled since (the bundle is older code)', () => {
    expect(path.basename(runnerEntry('worker', built(1_000)))).toBe('worker.js');
    expect(path.basename(runnerEntry('worker', built(1_001, 1_000)))).toBe('worker.js');
  });
});

describe('resolveEntryScript', () => {
  it('says a name longer than a file system allows is not deployed, as any other missing script', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'scripts-'));
    const long = 'a'.repeat(300);
    for (const [script, folder, field] of [
      [`${long}.js`, undefined, 'entry_script'],
      ['score.js', long, 'source_directory'],
      [`${long}/score.js`, undefined, 'entry_script'],
    ] as const) {
      expect(() => resolveEntryScript(script, folder, dir)).toThrow(
        expect.objectContaining({ code: 'INVALID_SETTINGS', field }) as Error,
      );
    }
  });
});
