import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Azurite } from '../devhost/azurite.js';
import { spawnDevHostProcess } from '../devhost/process.js';
import { readRange } from '../core/datasets/blob-range.js';
import type { ManifestShard } from '../core/datasets/plan.js';
import { materializeTable } from '../core/datasets/table-read.js';
import type { TableInput } from '../core/config/resolved.js';
import { partBody } from '../core/outputs/formats.js';
import { containers, runPaths } from '../core/storage/layout.js';
import { ensureContainer, readJson, storage } from '../core/storage/storage.js';
import type { RunView } from '../functions/api/runs.js';
import { miniBatchesInFlight } from '../orchestrations/contracts.js';
import { ApiClient } from '../scripts/client.js';
import { childrenCpuSeconds, cpuSeconds, printTable, repoRoot, withAzurite, writeResult } from './report.js';

const ROWS = 1_050_000;
const CONTAINER = 'benchtables';
const BLOB = 'big/rows.csv';
const MINI_BATCH_BYTES = 4 * 1024 * 1024;
const SETTINGS = {
  run_name: 'tabular-bench',
  entry_script: 'table_score.js',
  input: { type: 'table', container: CONTAINER, path: 'big/' },
  mini_batch_size: '4MB',
  append_row_format: 'csv',
  node_count: 1,
  process_count_per_node: 2,
  run_invocation_timeout: 600,
};
/** Ranged GETs in flight for the baseline: as many as the run keeps mini-batches in flight. */
const CONCURRENCY = miniBatchesInFlight(SETTINGS);

/** One CSV row of about 100 bytes: the fields the test entry script reads, and some it does not. */
function row(i: number): string {
  const x = ((i * 2654435761) >>> 0) / 4294967296;
  const note = ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(4);
  return `${i},n${i},${(x * 100).toFixed(3)},${(x * 7).toFixed(5)},${((1 - x) * 3).toFixed(5)},label-${(i * 7919) % 1000},${x < 0.5 ? 'true' : 'false'},2026-01-${String((i % 28) + 1).padStart(2, '0')},note-${note}\n`;
}

/** Writes the CSV in 8 MB blocks, so the bench never holds it whole. */
async function writeCsv(): Promise<number> {
  const container = await ensureContainer(storage().blobs.getContainerClient(CONTAINER));
  const blob = container.getBlockBlobClient(BLOB);
  const ids: string[] = [];
  let chunk = 'id,name,score,x,y,label,flag,day,note\n';
  let size = 0;
  const flush = async () => {
    const bytes = Buffer.from(chunk);
    const id = Buffer.from(String(ids.length).padStart(6, '0')).toString('base64');
    await blob.stageBlock(id, bytes, bytes.length);
    ids.push(id);
    size += bytes.length;
    chunk = '';
  };
  for (let i = 1; i <= ROWS; i++) {
    chunk += row(i);
    if (chunk.length >= 8 * 1024 * 1024) await flush();
  }
  await flush();
  await blob.commitBlockList(ids);
  return size;
}

/** The same bytes read raw: 4 MB ranged GETs, as many in flight as the run keeps mini-batches. */
async function rawReadSeconds(size: number): Promise<number> {
  const blob = storage().blobs.getContainerClient(CONTAINER).getBlobClient(BLOB);
  const starts = Array.from({ length: Math.ceil(size / MINI_BATCH_BYTES) }, (_, i) => i * MINI_BATCH_BYTES);
  let next = 0;
  let read = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < starts.length; i = next++) {
        const start = starts[i] ?? 0;
        const bytes = await readRange(blob, start, Math.min(start + MINI_BATCH_BYTES, size));
        read += bytes.length;
      }
    }),
  );
  if (read !== size) throw new Error(`raw read ${read} of ${size} bytes`);
  return (performance.now() - started) / 1000;
}

function peakRssMb(pid: number | undefined): number {
  const status = pid ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** The entry scripts compared: the same results from the same rows, as row objects and as columns. */
const VIEWS = { rows: 'table_score.js', columns: 'table_columns.js' } as const;
type View = keyof typeof VIEWS;

interface ViewRun {
  runId: string;
  e2eRowsPerSecond: number;
  rawReadRowsPerSecond: number;
  /** The raw read right before the run and right after it. */
  rawReadSecondsBeforeAndAfter: [number, number];
  ratio: number;
  cpuSecondsDuringRun: { devhost: number; workers: number; azurite: number };
  miniBatches: number | undefined;
}

/** One end-to-end run with the view's script, against the raw reads right before and after it. */
async function measureView(
  api: ApiClient,
  host: { pid: number | undefined },
  azurite: Azurite,
  view: View,
  size: number,
  rawBefore: number,
): Promise<ViewRun> {
  const cpuBefore = {
    devhost: cpuSeconds(host.pid) ?? 0,
    workers: childrenCpuSeconds(host.pid),
    azurite: cpuSeconds(azurite.pid) ?? 0,
  };
  const started = performance.now();
  const settings = { ...SETTINGS, run_name: `tabular-bench-${view}`, entry_script: VIEWS[view] };
  const { runId } = await api.json<{ runId: string }>('POST', '/api/runs', settings, 202);
  await api.json('GET', `/runtime/webhooks/durabletask/instances/${runId}?waitForCompletionSeconds=1200`);
  const e2eSeconds = (performance.now() - started) / 1000;
  const cpu = {
    devhost: (cpuSeconds(host.pid) ?? 0) - cpuBefore.devhost,
    workers: childrenCpuSeconds(host.pid) - cpuBefore.workers,
    azurite: (cpuSeconds(azurite.pid) ?? 0) - cpuBefore.azurite,
  };
  const result = await api.json<RunView>('GET', `/api/runs/${runId}`);
  if (result.status !== 'Completed')
    throw new Error(`run ${runId} ended ${result.status}: ${result.reason ?? ''}`);
  const rows = result.summary?.totals.itemsSucceeded ?? 0;
  if (rows !== ROWS) throw new Error(`the run wrote ${rows} rows of ${ROWS}`);
  const rawAfter = await rawReadSeconds(size);
  const e2eRowsPerSecond = ROWS / e2eSeconds;
  const rawReadRowsPerSecond = ROWS / ((rawBefore + rawAfter) / 2);
  return {
    runId,
    e2eRowsPerSecond,
    rawReadRowsPerSecond,
    rawReadSecondsBeforeAndAfter: [rawBefore, rawAfter],
    ratio: e2eRowsPerSecond / rawReadRowsPerSecond,
    cpuSecondsDuringRun: cpu,
    miniBatches: result.summary?.totals.miniBatches,
  };
}

/** A view's script as the bench calls it in its own process: rows or columns in, result rows out. */
type ViewScript = {
  run: (
    batch: unknown,
    ctx: { partitionKeyValues: Record<string, string>; arguments: object; fail: () => void },
  ) => unknown[];
};

/** The items a run planned, from its manifest: the plain loop reads exactly the ranges the run read. */
async function manifestItems(runId: string): Promise<string[]> {
  const runs = storage().blobs.getContainerClient(containers.runs);
  const items: string[] = [];
  for (let shard = 0; ; shard++) {
    const manifest = await readJson<ManifestShard>(runs, runPaths.manifestShard(runId, shard));
    if (!manifest) return items;
    items.push(...manifest.miniBatches.flat());
  }
}

interface PlainLoop {
  rowsPerSecond: number;
  /** Against the raw reads right before and after it. */
  ratio: number;
  /** CPU seconds of the bench's one process (read, parse, run(), part text) and of Azurite meanwhile. */
  cpuSeconds: { bench: number; azurite: number };
  rawReadSecondsBeforeAndAfter: [number, number];
  /**
   * The most the end-to-end ratio could be on this machine: the raw read's seconds against the
   * plain loop's CPU (its own and Azurite's) spread over every core, as if nothing else ran and no
   * core ever waited. A run does at least this work: it reads, parses, calls run() and writes parts.
   */
  ratioCeiling: number;
}

/**
 * The run's work without the service: this process reads each range the run planned (`items`, from
 * its manifest), parses it with the service's own readers, calls the view's run() and encodes its
 * part, as many ranges in flight as the run keeps, and writes nothing. No planning, orchestration,
 * upload or output composition.
 */
async function plainLoop(
  view: View,
  items: string[],
  size: number,
  azurite: Azurite,
  rawBefore: number,
): Promise<PlainLoop> {
  const input: TableInput = { type: 'table', container: CONTAINER, path: path.posix.dirname(BLOB) + '/' };
  const script = (await import(
    pathToFileURL(path.join(repoRoot, 'test/fixtures/scripts/dist', VIEWS[view])).href
  )) as ViewScript;
  const ctx = { partitionKeyValues: {}, arguments: {}, fail: () => undefined };
  const own = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  const cpuBefore = { bench: own(), azurite: cpuSeconds(azurite.pid) ?? 0 };
  const started = performance.now();
  let next = 0;
  let rows = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        const got = await materializeTable(storage(), input, [items[i] ?? ''], () => false, view);
        const out = script.run(view === 'columns' ? got.columns : got.inputs, ctx);
        rows += out.length;
        partBody(out, 'csv');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = { bench: own() - cpuBefore.bench, azurite: (cpuSeconds(azurite.pid) ?? 0) - cpuBefore.azurite };
  if (rows !== ROWS) throw new Error(`the plain loop scored ${rows} rows of ${ROWS}`);
  const rawAfter = await rawReadSeconds(size);
  const rawSeconds = (rawBefore + rawAfter) / 2;
  return {
    rowsPerSecond: ROWS / seconds,
    ratio: rawSeconds / seconds,
    cpuSeconds: cpu,
    rawReadSecondsBeforeAndAfter: [rawBefore, rawAfter],
    ratioCeiling: rawSeconds / ((cpu.bench + cpu.azurite) / os.availableParallelism()),
  };
}

async function measureTabular(connection: string, azurite: Azurite): Promise<void> {
  process.env.AzureWebJobsStorage = connection;
  const size = await writeCsv();
  console.log(`wrote ${CONTAINER}/${BLOB}: ${ROWS} rows, ${(size / 1024 ** 2).toFixed(1)} MB`);
  const host = await spawnDevHostProcess({
    app: repoRoot,
    storage: connection,
    args: ['--log-level', 'warn'],
    env: { PARALLEL_RUN_SCRIPTS: path.join(repoRoot, 'test/fixtures/scripts/dist') },
  });
  try {
    const api = new ApiClient(host.baseUrl);
    await rawReadSeconds(size); // warm-up
    const loadBefore = os.loadavg()[0] ?? 0;
    const rows = await measureView(api, host, azurite, 'rows', size, await rawReadSeconds(size));
    // The columns run's raw read before it is the rows run's after it.
    const columns = await measureView(
      api,
      host,
      azurite,
      'columns',
      size,
      rows.rawReadSecondsBeforeAndAfter[1],
    );
    // The floor under both: each view's work in one plain loop, with no service around it.
    const plainRows = await plainLoop(
      'rows',
      await manifestItems(rows.runId),
      size,
      azurite,
      columns.rawReadSecondsBeforeAndAfter[1],
    );
    const plainColumns = await plainLoop(
      'columns',
      await manifestItems(columns.runId),
      size,
      azurite,
      plainRows.rawReadSecondsBeforeAndAfter[1],
    );
    const result = {
      rows: ROWS,
      megabytes: Number((size / 1024 ** 2).toFixed(1)),
      miniBatches: rows.miniBatches,
      settings: SETTINGS,
      scripts: VIEWS,
      // The figure the goal names: the rows view (row objects), as the first scripts of a migration read them.
      ratioTabularVsRawRead: rows.ratio,
      ratioColumnsViewVsRawRead: columns.ratio,
      views: { rows, columns },
      ratioCeiling: { rows: plainRows.ratioCeiling, columns: plainColumns.ratioCeiling },
      plainLoop: { rows: plainRows, columns: plainColumns },
      // The machine may be shared: the 1-minute load average as the runs began and ended.
      loadAverage: { before: loadBefore, after: os.loadavg()[0] ?? 0 },
      peakRssMb: { devhost: peakRssMb(host.pid), bench: Math.round(process.resourceUsage().maxRSS / 1024) },
      goals: { ratioTabularVsRawRead: 0.5, devhostPeakRssMb: 400 },
    };
    printTable(
      ['measure', 'rows/s', 'ratio'],
      [
        ['raw 4 MB ranged GETs of the same bytes (around the rows run)', rows.rawReadRowsPerSecond, 1],
        ['end to end, rows view (plan, read, parse, run(), CSV output)', rows.e2eRowsPerSecond, rows.ratio],
        ['raw 4 MB ranged GETs of the same bytes (around the columns run)', columns.rawReadRowsPerSecond, 1],
        ['end to end, columns view', columns.e2eRowsPerSecond, columns.ratio],
        [
          'plain loop in one process, rows view (read, parse, run(), part text)',
          plainRows.rowsPerSecond,
          plainRows.ratio,
        ],
        ['plain loop in one process, columns view', plainColumns.rowsPerSecond, plainColumns.ratio],
      ],
    );
    console.log(
      `\nratioTabularVsRawRead ${rows.ratio.toFixed(3)} (goal ≥ 0.5; columns view ${columns.ratio.toFixed(3)}), devhost peak RSS ${result.peakRssMb.devhost} MB (goal ≤ 400)`,
    );
    console.log(
      `ratioCeiling rows ${plainRows.ratioCeiling.toFixed(3)}, columns ${plainColumns.ratioCeiling.toFixed(3)}: the raw read's seconds against the plain loop's CPU and Azurite's over ${os.availableParallelism()} cores (the most any run of this work could reach here)`,
    );
    const file = writeResult('tabular', result);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await host.kill();
  }
}

/**
 * `npm run bench -- tabular`: a generated CSV of over a million rows (over 100 MB) split by
 * mini_batch_size "4MB", end to end on the devhost, against reading the same bytes raw from Azurite.
 */
export async function benchTabular(): Promise<void> {
  await withAzurite(measureTabular);
}
