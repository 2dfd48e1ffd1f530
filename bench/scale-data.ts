import { existsSync, mkdirSync, openSync, closeSync, writeFileSync, writeSync, rmSync } from 'node:fs';
import { opendir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Files per folder of the generated dataset: a flat folder of a million entries is not what users have. */
const PER_FOLDER = 1_000;

/**
 * Where generated datasets are kept between runs: outside the repository (a million files would
 * swamp any tool that walks it), reused when complete. PARALLEL_RUN_BENCH_CACHE moves it.
 */
export function benchCacheRoot(): string {
  return path.resolve(
    process.env.PARALLEL_RUN_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'parallel-run', 'bench'),
  );
}

/** The name of item `i`: its global index, zero-padded, so listing order is index order. */
export function fileNameOf(i: number): string {
  return `${String(i).padStart(9, '0')}.txt`;
}

function folderOf(i: number): string {
  return `d${String(Math.floor(i / PER_FOLDER)).padStart(5, '0')}`;
}

/**
 * `items` tiny files under `<root>/scale-<items>/dNNNNN/NNNNNNNNN.txt`, 1,000 a folder, generated
 * once: a marker beside the folder (never inside it, where it would be an item) says it is complete.
 * Returns the folder's name relative to the root (the run's `input.local_path`).
 */
export function ensureDataset(root: string, items: number, log: (line: string) => void): string {
  const name = `scale-${items}`;
  const folder = path.join(root, name);
  const marker = path.join(root, `${name}.complete`);
  if (existsSync(marker)) {
    log(`dataset: ${items} files in ${folder} (cached)`);
    return name;
  }
  rmSync(folder, { recursive: true, force: true });
  const started = performance.now();
  for (let i = 0; i < items; i++) {
    if (i % PER_FOLDER === 0) mkdirSync(path.join(folder, folderOf(i)), { recursive: true });
    writeFileSync(path.join(folder, folderOf(i), fileNameOf(i)), `${i}\n`);
  }
  writeFileSync(marker, `${items}\n`);
  log(`dataset: wrote ${items} files in ${folder} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return name;
}

/** The dataset's files in the order the generator named them (folders, then files, by name). */
async function* filesOf(folder: string): AsyncGenerator<string> {
  const folders: string[] = [];
  for await (const entry of await opendir(folder)) if (entry.isDirectory()) folders.push(entry.name);
  for (const sub of folders.sort()) {
    const files: string[] = [];
    for await (const entry of await opendir(path.join(folder, sub))) files.push(entry.name);
    for (const file of files.sort()) yield path.join(folder, sub, file);
  }
}

type RunScript = (files: string[], ctx: object) => unknown[] | Promise<unknown[]>;

/**
 * The baseline: one process lists the same files, calls the same entry script's `run()` on batches
 * of the same size, and writes its rows as lines to a local file. Items per second.
 */
export async function plainLoopItemsPerSecond(
  folder: string,
  scriptFile: string,
  batchSize: number,
): Promise<{ itemsPerSecond: number; items: number }> {
  const script = (await import(scriptFile)) as { run: RunScript };
  const ctx = { miniBatchIndex: 0, fail: () => undefined, logger: { debug: () => undefined } };
  const out = path.join(os.tmpdir(), `scale-plain-loop-${process.pid}.txt`);
  const fd = openSync(out, 'w');
  let items = 0;
  const started = performance.now();
  try {
    let batch: string[] = [];
    const flush = async () => {
      const rows = await script.run(batch, { ...ctx, miniBatchIndex: ctx.miniBatchIndex++ });
      writeSync(fd, rows.map((r) => `${String(r)}\n`).join(''));
      items += batch.length;
      batch = [];
    };
    for await (const file of filesOf(folder)) {
      batch.push(file);
      if (batch.length === batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    closeSync(fd);
    rmSync(out, { force: true });
  }
  return { itemsPerSecond: items / ((performance.now() - started) / 1000), items };
}
