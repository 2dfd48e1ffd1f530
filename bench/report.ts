import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, type Azurite } from '../devhost/azurite.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Prints rows as an aligned table. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(line(cells[0] ?? []));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 3 : 1);
}

export function writeResult(name: string, value: object): string {
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ ...value, machine: machine() }, null, 2)}\n`);
  return file;
}

/**
 * Sets `key` of results file `name` to `value` (with the machine), keeping the file's other keys:
 * benches that share a file (scale.json) each write their own part.
 */
export function mergeResult(name: string, key: string, value: object): string {
  const file = path.join(repoRoot, 'bench', 'results', `${name}.json`);
  const existing = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
    : {};
  mkdirSync(path.dirname(file), { recursive: true });
  const merged = { ...existing, [key]: { ...value, machine: machine() } };
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  return file;
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc; undefined where there is none.
 * On a machine with few cores the processes of a run share them, so CPU per item explains a rate.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** /proc/<pid>/stat's fields after the command name (which may hold spaces). */
function statFields(pid: number | string): string[] {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  } catch {
    return [];
  }
}

/**
 * CPU seconds of a process's children: those it has reaped (cutime + cstime) and those alive now
 * (the run's worker processes, which read, parse and score the rows).
 */
export function childrenCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const own = statFields(pid);
  let ticks = Number(own[13] ?? 0) + Number(own[14] ?? 0);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    // ppid is the 2nd field after the name; utime and stime the 12th and 13th.
    if (Number(fields[1]) === pid) ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks / 100;
}

/** What the figures were measured on: ratios move with the core count, so a result names it. */
function machine(): { cpus: number; cpuModel: string; memoryGiB: number; node: string } {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

/** Runs `measure` against a fresh in-memory Azurite, stopped afterwards whatever happens. */
export async function withAzurite(
  measure: (connectionString: string, azurite: Azurite) => Promise<void>,
): Promise<void> {
  const azurite = await startAzurite();
  try {
    await measure(azurite.connectionString, azurite);
  } finally {
    await azurite.stop();
  }
}

/** A side of a comparison: one timed unit of work, and what ends it. */
export interface Contender {
  pass: () => Promise<void>;
  close: () => Promise<void>;
}

export interface Rates {
  /** Items per second of the fastest pass: the one least disturbed by anything else on the host. */
  best: number;
  /** Items per second of the median pass. */
  median: number;
  /** Items per second of every timed pass, in the order they ran. */
  passes: number[];
}

/**
 * Items per second of each contender over the same `items`: `warmUps` untimed passes each (JIT,
 * first native calls, thread start-up), then `passes` timed passes taken in turns (A, B, A, B, …)
 * so that all see the same machine. A shared host slows passes at random, by up to half: the
 * fastest pass of each is the one least disturbed (the median is kept too). Every contender is
 * closed afterwards, whatever happens.
 */
export async function interleavedRates<K extends string>(
  items: number,
  contenders: Record<K, Contender>,
  { warmUps = 2, passes = 9 } = {},
): Promise<Record<K, Rates>> {
  const entries = Object.entries(contenders) as [K, Contender][];
  try {
    for (const [, c] of entries) for (let i = 0; i < warmUps; i++) await c.pass();
    const rates = new Map<K, number[]>(entries.map(([k]) => [k, []]));
    for (let i = 0; i < passes; i++) {
      for (const [k, c] of entries) {
        const started = performance.now();
        await c.pass();
        rates.get(k)?.push(items / ((performance.now() - started) / 1000));
      }
    }
    return Object.fromEntries(
      entries.map(([k]) => {
        const all = rates.get(k) ?? [];
        return [k, { best: Math.max(...all), median: median(all), passes: all.map(Math.round) }];
      }),
    ) as Record<K, Rates>;
  } finally {
    for (const [, c] of entries) await c.close();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
