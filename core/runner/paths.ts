import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParallelRunError } from '../errors.js';

/** The build output folder: where this module sits once compiled, or `dist/` when running from sources (vitest). */
export function distRoot(): string {
  const up = path.resolve(import.meta.dirname, '../..');
  return existsSync(path.join(import.meta.dirname, 'paths.js')) ? up : path.join(up, 'dist');
}

/** Entry scripts are modules of the deployed package under this folder (never code sent over HTTP). */
export function scriptsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.PARALLEL_RUN_SCRIPTS ?? path.join(distRoot(), 'samples'));
}

/** Scratch space: RAM-backed /dev/shm when there is one, for the many small files of a mini-batch. */
export function scratchRoot(): string {
  const base = process.env.PARALLEL_RUN_TEMP ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  return path.join(base, 'parallel-run');
}

/** `source_directory` + `entry_script`, resolved inside the scripts folder; `.ts` names map to the compiled `.js`. */
export function resolveEntryScript(
  entryScript: string,
  sourceDirectory?: string,
  root = scriptsRoot(),
): string {
  const relative = path.join(sourceDirectory ?? '', entryScript).replace(/\.ts$/, '.js');
  const resolved = path.resolve(root, relative);
  if (!resolved.startsWith(root + path.sep)) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `entry_script '${entryScript}' points outside the scripts folder`,
      'entry_script',
    );
  }
  if (!existsSync(resolved)) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `entry_script '${relative}' is not deployed: no such module under the scripts folder (${root})`,
      'entry_script',
    );
  }
  return resolved;
}
