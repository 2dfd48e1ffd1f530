import { randomBytes } from 'node:crypto';
import { existsSync, statSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SETTING } from '../config/app-settings.js';
import { ParallelRunError } from '../errors.js';

/** The build output folder: where this module sits once compiled, or `dist/` when running from sources (vitest). */
export function distRoot(): string {
  const up = path.resolve(import.meta.dirname, '../..');
  return existsSync(path.join(import.meta.dirname, 'paths.js')) ? up : path.join(up, 'dist');
}

/**
 * The code a child process of the runner starts from (`worker`: a scoring process; `row-names-process`:
 * naming a failed table try's rows): the bundle the build makes of it (scripts/bundle-worker.ts: it
 * starts in a fraction of the CPU), else the compiled module itself: where no bundle was made, or
 * where the module was compiled since (`tsc` alone, or a build that failed after compiling), so the
 * bundle holds older code. Copies (the zip, the worker image) give both the same time.
 */
export const BUNDLED_ENTRIES = ['worker', 'row-names-process'] as const;

export function bundleOf(entry: (typeof BUNDLED_ENTRIES)[number]): string {
  return `${entry}.bundle.js`;
}

export function runnerEntry(
  entry: (typeof BUNDLED_ENTRIES)[number],
  dir = path.join(distRoot(), 'core', 'runner'),
): string {
  const compiled = path.join(dir, `${entry}.js`);
  const bundle = path.join(dir, bundleOf(entry));
  const bundledAt = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
  const compiledAt = statSync(compiled, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return bundledAt !== undefined && bundledAt >= compiledAt ? bundle : compiled;
}

/**
 * Where the scripts folder is, as a client may be told: the setting that names it, never the
 * host's own path on disk.
 */
const SCRIPTS_FOLDER = `${SETTING.scripts}, by default samples/scripts of the deployed package`;

/** Entry scripts are modules of the deployed package under this folder (never code sent over HTTP). */
export function scriptsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env[SETTING.scripts] ?? path.join(distRoot(), 'samples', 'scripts'));
}

/** Scratch space: RAM-backed /dev/shm when there is one, for the many small files of a mini-batch. */
export function scratchRoot(): string {
  const base = process.env[SETTING.temp] ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  return path.join(base, 'parallel-run');
}

/**
 * A run's scratch folder on this machine. Every process here that runs its tries uses it (pool
 * workers, and a devhost beside them, share /dev/shm): each try's folder in it is the try's own, and
 * what a process keeps for the run beside its tries is in a folder of its own (`processRunScratch`).
 */
export function runScratch(runId: string): string {
  return path.join(scratchRoot(), runId);
}

/** This process among those sharing the scratch space: its pid, and a random part (pids repeat across containers). */
const THIS_PROCESS = `process-${process.pid}-${randomBytes(4).toString('hex')}`;

/**
 * What this process keeps for a run (its side inputs, its script processes' output folder): removed
 * by this process only, when its pool of the run goes, never by another one stopping.
 */
export function processRunScratch(runId: string): string {
  return path.join(runScratch(runId), THIS_PROCESS);
}

/** What an entry script may be named: an ES module, in TypeScript (compiled to `.js`) or JavaScript. */
const SCRIPT_EXTENSIONS = /\.(ts|js|mjs)$/;

/** `source_directory` + `entry_script`, resolved inside the scripts folder; `.ts` names map to the compiled `.js`. */
export function resolveEntryScript(
  entryScript: string,
  sourceDirectory?: string,
  root = scriptsRoot(),
): string {
  const invalid = (message: string, field = 'entry_script') =>
    new ParallelRunError('INVALID_SETTINGS', message, field);
  if (sourceDirectory !== undefined) {
    const folder = path.resolve(root, sourceDirectory);
    if (folder !== root && !folder.startsWith(root + path.sep))
      throw invalid(
        `source_directory '${sourceDirectory}' points outside the scripts folder`,
        'source_directory',
      );
    if (!isFolder(folder)) {
      throw invalid(
        `source_directory '${sourceDirectory}' is not deployed: no such folder under the app's scripts folder (${SCRIPTS_FOLDER})`,
        'source_directory',
      );
    }
  }
  if (!SCRIPT_EXTENSIONS.test(entryScript)) {
    throw invalid(`entry_script '${entryScript}' must name an ES module ending in .ts, .js or .mjs`);
  }
  const relative = path.join(sourceDirectory ?? '', entryScript).replace(/\.ts$/, '.js');
  const resolved = path.resolve(root, relative);
  if (!resolved.startsWith(root + path.sep)) {
    throw invalid(`entry_script '${entryScript}' points outside the scripts folder`);
  }
  if (!isFile(resolved)) {
    throw invalid(
      `entry_script '${relative}' is not deployed: no such module under the app's scripts folder (${SCRIPTS_FOLDER})`,
    );
  }
  return resolved;
}

/** What is at `p`; none where nothing can be (a name too long, a file where a folder was named). */
function statOf(p: string): Stats | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function isFolder(p: string): boolean {
  return statOf(p)?.isDirectory() ?? false;
}

function isFile(p: string): boolean {
  return statOf(p)?.isFile() ?? false;
}
