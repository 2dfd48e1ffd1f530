import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite } from '../devhost/azurite.js';

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

export function writeResult(name: string, value: unknown): string {
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

/** Runs `measure` against a fresh in-memory Azurite, stopped afterwards whatever happens. */
export async function withAzurite(measure: (connectionString: string) => Promise<void>): Promise<void> {
  const azurite = await startAzurite();
  try {
    await measure(azurite.connectionString);
  } finally {
    await azurite.stop();
  }
}

/** Items per second of `pass` after two warm-up passes (JIT, first native calls, thread start-up). */
export async function rateAfterWarmUp(items: number, pass: () => Promise<void>): Promise<number> {
  await pass();
  await pass();
  const started = performance.now();
  await pass();
  return items / ((performance.now() - started) / 1000);
}
