import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Azurite } from '../devhost/azurite.js';
import { spawnDevHostProcess } from '../devhost/process.js';
import { readRange } from '../core/datasets/blob-range.js';
import { ensureContainer, storage } from '../core/storage/storage.js';
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
    const rawBefore = await rawReadSeconds(size);
    const cpuBefore = {
      devhost: cpuSeconds(host.pid),
      workers: childrenCpuSeconds(host.pid),
      azurite: cpuSeconds(azurite.pid),
    };
    const loadBefore = os.loadavg()[0] ?? 0;
    const started = performance.now();
    const { runId } = await api.json<{ runId: string }>('POST', '/api/runs', SETTINGS, 202);
    await api.json('GET', `/runtime/webhooks/durabletask/instances/${runId}?waitForCompletionSeconds=1200`);
    const e2eSeconds = (performance.now() - started) / 1000;
    const cpu = {
      devhost: (cpuSeconds(host.pid) ?? 0) - (cpuBefore.devhost ?? 0),
      workers: childrenCpuSeconds(host.pid) - cpuBefore.workers,
      azurite: (cpuSeconds(azurite.pid) ?? 0) - (cpuBefore.azurite ?? 0),
    };
    const view = await api.json<RunView>('GET', `/api/runs/${runId}`);
    if (view.status !== 'Completed')
      throw new Error(`run ${runId} ended ${view.status}: ${view.reason ?? ''}`);
    const rawAfter = await rawReadSeconds(size);
    const rawSeconds = (rawBefore + rawAfter) / 2;
    const rows = view.summary?.totals.itemsSucceeded ?? 0;
    if (rows !== ROWS) throw new Error(`the run wrote ${rows} rows of ${ROWS}`);
    const e2eRowsPerSecond = ROWS / e2eSeconds;
    const rawRowsPerSecond = ROWS / rawSeconds;
    const result = {
      rows: ROWS,
      megabytes: Number((size / 1024 ** 2).toFixed(1)),
      miniBatches: view.summary?.totals.miniBatches,
      settings: SETTINGS,
      e2eRowsPerSecond,
      rawReadRowsPerSecond: rawRowsPerSecond,
      rawReadSecondsBeforeAndAfter: [rawBefore, rawAfter],
      ratioTabularVsRawRead: e2eRowsPerSecond / rawRowsPerSecond,
      cpuSecondsDuringRun: cpu,
      // The machine may be shared: the 1-minute load average as the run began and ended.
      loadAverage: { before: loadBefore, after: os.loadavg()[0] ?? 0 },
      peakRssMb: { devhost: peakRssMb(host.pid), bench: Math.round(process.resourceUsage().maxRSS / 1024) },
      goals: { ratioTabularVsRawRead: 0.5, devhostPeakRssMb: 400 },
    };
    printTable(
      ['measure', 'rows/s', 'ratio'],
      [
        ['raw 4 MB ranged GETs of the same bytes', rawRowsPerSecond, 1],
        ['end to end (plan, read, parse, run(), CSV output)', e2eRowsPerSecond, result.ratioTabularVsRawRead],
      ],
    );
    console.log(
      `\nratioTabularVsRawRead ${result.ratioTabularVsRawRead.toFixed(3)} (goal ≥ 0.5), devhost peak RSS ${result.peakRssMb.devhost} MB (goal ≤ 400)`,
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
