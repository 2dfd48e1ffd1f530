import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DevHostError } from './errors.js';

/** Where an Azurite with a data folder says which process it is. */
const pidFile = (location: string) => path.join(location, 'devhost-azurite.pid');

function isAzurite(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('azurite');
  } catch {
    return false;
  }
}

/**
 * Whether process `pid` still runs. One that exited but whose new parent has not reaped it yet (a
 * zombie, as an Azurite orphaned by a killed devhost may be for a while) has ended: its data is saved.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc (not Linux), or no such process: ask the system.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function exitedWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** How long an Azurite orphaned by its devhost may take to notice, save its data and exit. */
const LEFTOVER_EXIT_MS = 15_000;

/**
 * An Azurite still running on `location` must be gone before another one opens the folder: two would
 * each write it. One whose devhost was killed stops by itself (`endsWithItsParent`) once it has saved
 * its data, and is waited for; it is never signalled from here, since a second SIGTERM while it saves
 * would end it before it has. One that does not stop belongs to a devhost still running on the folder:
 * that is an error naming it. Where /proc cannot tell that the recorded process is an Azurite, nothing
 * is waited for.
 */
export async function awaitLeftoverAzurite(location: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(location), 'utf8'));
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAzurite(pid)) return;
  if (await exitedWithin(pid, LEFTOVER_EXIT_MS)) return;
  throw new DevHostError(
    'AZURITE_FAILED',
    `the Azurite data folder ${location} is in use by Azurite process ${pid}, which did not stop within ${LEFTOVER_EXIT_MS / 1000} s: another devhost (or npm start) runs on it; stop that one, or use another folder`,
  );
}

export function recordAzurite(location: string, pid: number | undefined): void {
  if (pid !== undefined) writeFileSync(pidFile(location), String(pid));
}

export function forgetAzurite(location: string): void {
  rmSync(pidFile(location), { force: true });
}
