import { readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Azurite } from '../devhost/azurite.js';
import { spawnDevHostProcess, type DevHostProcess } from '../devhost/process.js';
import { storage } from '../core/storage/storage.js';
import type { RunView } from '../functions/api/runs.js';
import { ApiClient } from '../scripts/client.js';
import { cpuSeconds, median, mergeResult, printTable, repoRoot, withAzurite } from './report.js';
import { benchCacheRoot, ensureDataset, fileNameOf, plainLoopItemsPerSecond } from './scale-data.js';

const MILLION = 1_000_000;
const SCRIPTS = path.join(repoRoot, 'test/fixtures/scripts/dist');
/** The trivial entry script: one row per file (`<file name>: ok`), nothing read. */
const SCRIPT = 'echo.js';
const BATCH = 100;
const STATUS_GOAL_MS = 200;
const RSS_GOAL_MB = 400;

function settingsFor(localPath: string) {
  return {
    run_name: 'scale-bench',
    entry_script: SCRIPT,
    input: { type: 'files', local_path: localPath },
    mini_batch_size: String(BATCH),
    allow_reuse: false,
    node_count: 1,
    process_count_per_node: 2,
  };
}

/** `--items N` (default a million). */
function itemsOption(options: string[]): number {
  const at = options.indexOf('--items');
  if (at === -1) return MILLION;
  const n = Number(options[at + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--items '${options[at + 1]}': give a whole number ≥ 1`);
  return n;
}

function procStatusMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  const status = pid && existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  return Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
}

interface Sample {
  /** Seconds since the run was submitted. */
  at: number;
  statusMs: number;
  phase: string;
  rssMb: number;
  done: number;
  /** The machine's 1-minute load average: on a shared 2-core host, latency follows it. */
  load: number;
}

/** The status call, timed about every second, and the devhost's RSS beside it, until the run ends. */
async function watch(api: ApiClient, host: DevHostProcess, runId: string, since: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (;;) {
    const started = performance.now();
    const view = await api.json<RunView>('GET', `/api/runs/${runId}`);
    const statusMs = performance.now() - started;
    const p = view.progress;
    samples.push({
      at: (started - since) / 1000,
      statusMs,
      phase: view.phase ?? view.status,
      rssMb: procStatusMb(host.pid, 'VmRSS'),
      done: p ? p.items.succeeded + p.items.failed : 0,
      load: os.loadavg()[0] ?? 0,
    });
    if (view.status !== 'Running' && view.status !== 'Pending') return samples;
    if (samples.length % 30 === 0) {
      const last = samples[samples.length - 1];
      console.log(
        `  ${last?.at.toFixed(0)} s: ${last?.phase}, ${last?.done} items, status ${statusMs.toFixed(0)} ms, devhost RSS ${last?.rssMb} MB`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(1000 - statusMs, 0)));
  }
}

/** Streams the output blob and checks that line i is item i's row: every row once, in mini-batch order. */
async function checkOutput(container: string, blob: string, items: number): Promise<number> {
  const download = await storage().blobs.getContainerClient(container).getBlobClient(blob).download();
  const body = download.readableStreamBody;
  if (!body) throw new Error(`output ${container}/${blob} has no body`);
  let lines = 0;
  for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
    const expected = `${fileNameOf(lines)}: ok`;
    if (line !== expected) throw new Error(`output line ${lines + 1} is '${line}', expected '${expected}'`);
    lines++;
  }
  if (lines !== items) throw new Error(`the output has ${lines} lines for ${items} items`);
  return lines;
}

/** The run end to end with its watch; throws unless it Completed with every item. */
async function runOnce(host: DevHostProcess, azurite: Azurite, localPath: string, items: number) {
  const api = new ApiClient(host.baseUrl);
  const cpuBefore = { devhost: cpuSeconds(host.pid) ?? 0, azurite: cpuSeconds(azurite.pid) ?? 0 };
  const started = performance.now();
  const { runId } = await api.json<{ runId: string }>('POST', '/api/runs', settingsFor(localPath), 202);
  const watching = watch(api, host, runId, started);
  await api.waitForInstance(runId);
  const seconds = (performance.now() - started) / 1000;
  const cpu = {
    devhost: (cpuSeconds(host.pid) ?? 0) - cpuBefore.devhost,
    azurite: (cpuSeconds(azurite.pid) ?? 0) - cpuBefore.azurite,
  };
  const samples = await watching;
  const view = await api.json<RunView>('GET', `/api/runs/${runId}`);
  const totals = view.summary?.totals;
  if (view.status !== 'Completed' || totals?.itemsSucceeded !== items || totals.itemsFailed !== 0)
    throw new Error(
      `run ${runId} ended ${view.status} with ${totals?.itemsSucceeded ?? 0} of ${items} rows: ${view.reason ?? ''}`,
    );
  const out = view.summary?.output;
  if (!out) throw new Error(`run ${runId} names no output`);
  const lines = await checkOutput(out.container, out.blob, items);
  const head = await api.text(`/api/runs/${runId}/output?head=3`);
  return { runId, seconds, cpu, samples, lines, head, view };
}

/** The value below which `share` of `values` lie (nearest rank). */
function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? 0;
}

function summarize(samples: Sample[]) {
  const ms = samples.map((s) => s.statusMs);
  const loads = samples.map((s) => s.load);
  const planning = samples.filter((s) => s.phase === 'planning' || s.phase === 'Pending');
  return {
    statusCalls: samples.length,
    statusMsMedian: Math.round(median(ms) * 10) / 10,
    statusMsP99: Math.round(percentile(ms, 0.99) * 10) / 10,
    statusMsMax: Math.round(Math.max(...ms) * 10) / 10,
    statusCallsOver200Ms: ms.filter((m) => m >= STATUS_GOAL_MS).length,
    loadAverage: {
      mean: Math.round((loads.reduce((a, b) => a + b, 0) / Math.max(loads.length, 1)) * 10) / 10,
      max: Math.round(Math.max(...loads) * 10) / 10,
    },
    statusMsByPhase: Object.fromEntries(
      [...new Set(samples.map((s) => s.phase))].map((phase) => {
        const of = samples.filter((s) => s.phase === phase).map((s) => s.statusMs);
        return [
          phase,
          { calls: of.length, median: Math.round(median(of)), max: Math.round(Math.max(...of)) },
        ];
      }),
    ),
    planningSeconds: planning.length > 0 ? Math.round((planning[planning.length - 1]?.at ?? 0) * 10) / 10 : 0,
    rssMbSampledMax: Math.max(...samples.map((s) => s.rssMb)),
    rssMbDuringPlanningMax: Math.max(0, ...planning.map((s) => s.rssMb)),
  };
}

async function measureScale(connection: string, azurite: Azurite, items: number): Promise<void> {
  process.env.AzureWebJobsStorage = connection;
  const root = benchCacheRoot();
  const localPath = ensureDataset(root, items, (line) => console.log(line));
  const host = await spawnDevHostProcess({
    app: repoRoot,
    storage: connection,
    args: ['--log-level', 'warn'],
    env: { PARALLEL_RUN_SCRIPTS: SCRIPTS, PARALLEL_RUN_LOCAL_DATA: root },
    echo: (line) => (line.includes('ERROR') ? console.error(line) : undefined),
  });
  try {
    const rssAtStartMb = procStatusMb(host.pid, 'VmRSS');
    console.log(`run: ${items} files, mini_batch_size "${BATCH}" (devhost RSS at start ${rssAtStartMb} MB)`);
    const run = await runOnce(host, azurite, localPath, items);
    const peakRssMb = procStatusMb(host.pid, 'VmHWM');
    const plain = await plainLoopItemsPerSecond(
      path.join(root, localPath),
      path.join(SCRIPTS, SCRIPT),
      BATCH,
    );
    if (plain.items !== items) throw new Error(`the plain loop saw ${plain.items} files of ${items}`);
    const e2eItemsPerSecond = items / run.seconds;
    const watched = summarize(run.samples);
    const result = {
      items,
      miniBatches: run.view.summary?.totals.miniBatches,
      settings: settingsFor(localPath),
      seconds: Math.round(run.seconds * 10) / 10,
      e2eItemsPerSecond: Math.round(e2eItemsPerSecond),
      plainLoopItemsPerSecond: Math.round(plain.itemsPerSecond),
      ratioVsPlainLoop: e2eItemsPerSecond / plain.itemsPerSecond,
      outputLinesChecked: run.lines,
      outputHead: run.head.trimEnd().split('\n'),
      peakRssMb,
      rssAtStartMb,
      ...watched,
      cpuSecondsDuringRun: run.cpu,
      cpuMsPerItem: {
        devhost: (run.cpu.devhost * 1000) / items,
        azurite: (run.cpu.azurite * 1000) / items,
      },
      goals: { peakRssMb: RSS_GOAL_MB, statusMsMax: STATUS_GOAL_MS },
    };
    printTable(
      ['measure', 'value', 'goal'],
      [
        ['items/s end to end', e2eItemsPerSecond, '—'],
        ['items/s plain loop (same files, same run())', plain.itemsPerSecond, '—'],
        ['ratioVsPlainLoop', result.ratioVsPlainLoop, '—'],
        ['devhost peak RSS, MB', peakRssMb, `≤ ${RSS_GOAL_MB}`],
        ['devhost RSS while planning (max sampled), MB', watched.rssMbDuringPlanningMax, '—'],
        [`status call ms, median of ${watched.statusCalls}`, watched.statusMsMedian, '—'],
        ['status call ms, 99th percentile', watched.statusMsP99, '—'],
        ['status call ms, max', watched.statusMsMax, `< ${STATUS_GOAL_MS}`],
        ['machine load average (1 min), mean during the run', watched.loadAverage.mean, '—'],
      ],
    );
    const file = mergeResult('scale', items === MILLION ? 'million' : `items${items}`, result);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await host.kill();
  }
}

/**
 * `npm run bench -- scale [--items N]`: a local folder of N generated tiny files (default a
 * million) through the trivial entry script at mini_batch_size "100": the run must complete with
 * every row once and in order, the devhost's peak RSS stay ≤ 400 MB, and the status call answer in
 * under 200 ms throughout (timed every second). Items/s against a plain loop calling the same
 * script over the same files in one process.
 */
export async function benchScale(options: string[]): Promise<void> {
  const items = itemsOption(options);
  await withAzurite((connection, azurite) => measureScale(connection, azurite, items));
}
