import { readFileSync } from 'node:fs';
import os from 'node:os';
import { SETTING } from '../config/app-settings.js';
import { ParallelRunError } from '../errors.js';

/** App setting: the most memory (MB) one worker process of a pool may use. */
export const MEMORY_SETTING = SETTING.workerMemoryMb;

const MIN_MB = 64;
const MAX_DEFAULT_MB = 4096;
/** Left to the host and the operating system when the default is worked out. */
const RESERVED_MB = 1024;

/**
 * The memory limit of each worker process: the app setting when given, else an equal share of the
 * machine's memory per core (less what the host needs), at most 4 GB. On a 2 GB Flex Consumption
 * instance with 2 cores that is 512 MB; on a 24 GB laptop, 4 GB.
 */
export function workerMemoryLimitMb(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[MEMORY_SETTING];
  if (given !== undefined && given !== '') {
    const mb = Number(given);
    if (!Number.isInteger(mb) || mb < MIN_MB) {
      throw new ParallelRunError(
        'CONFIGURATION',
        `app setting ${MEMORY_SETTING} is '${given}': it must be a whole number of megabytes, at least ${MIN_MB}`,
      );
    }
    return mb;
  }
  const shareMb = (os.totalmem() / 2 ** 20 - RESERVED_MB) / os.availableParallelism();
  return Math.max(MIN_MB * 4, Math.min(MAX_DEFAULT_MB, Math.floor(shareMb)));
}

/**
 * The young generation's semi-space for a worker process, in MB: a sixteenth of its limit, from
 * V8's 16 up to 64. A table's mini-batch allocates tens of MB of rows that all live until run()
 * returns; in V8's default 16 MB each scavenge copies them again, and collecting took more time
 * than parsing (measured: 4 MB of CSV parsed, scored and written in 110 ms of CPU at 64 MB,
 * 290 ms at the default).
 */
export function semiSpaceMb(limitMb: number): number {
  return Math.max(16, Math.min(64, Math.floor(limitMb / 16)));
}

/**
 * What a process holds in memory now (resident set), in MB; undefined where /proc cannot tell. Read
 * at once: /proc answers from memory, and the four calls of an asynchronous read cost ten times
 * more (a pool watches each process five times a second).
 */
export function residentMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

export function overLimitMessage(limitMb: number): string {
  return `the worker process went over its memory limit of ${limitMb} MB and was stopped; raise the limit with app setting ${MEMORY_SETTING} (megabytes per worker process), or use less memory per mini-batch (a smaller mini_batch_size)`;
}
