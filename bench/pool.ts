import path from 'node:path';
import type { Azurite } from '../devhost/azurite.js';
import type { WatchedProcess } from '../devhost/lines.js';
import { spawnDevHostProcess } from '../devhost/process.js';
import type { RunView } from '../functions/api/runs.js';
import { ApiClient } from '../scripts/client.js';
import { tutorialSettings } from '../scripts/demo.js';
import { seedImages, seedModel } from '../scripts/sample.js';
import { spawnWorker } from '../scripts/workers.js';
import { childrenCpuSeconds, cpuSeconds, printTable, repoRoot, withAzurite, writeResult } from './report.js';

const POOL = 'bench';
const WORKERS = 2;
/** The tuned MNIST run (mini-batches of 100); the same settings on both sides but `compute`. */
const tuned = {
  ...tutorialSettings,
  run_name: 'mnist-pool-bench',
  mini_batch_size: '100',
  // Every run runs: the same settings would otherwise be reused (compute is not in a fingerprint).
  allow_reuse: false,
};

/**
 * `npm run bench -- pool`: the tuned MNIST run on two local pool workers against the same run on
 * `compute: "functions"`, in turns (functions, pool, pool, functions) so Azurite's slowing down as it
 * stores more weighs on both alike, after one untimed run on each side. Goal: the pool at ≥ 0.8× (the
 * same work, plus one queue hop and a claim per mini-batch).
 */
export async function benchPool(): Promise<void> {
  await withAzurite(measurePool);
}

/** CPU seconds so far of the processes that do a run's work: the devhost, the workers and Azurite, each with its children. */
function cpuNow(host: WatchedProcess, workers: WatchedProcess[], azurite: Azurite) {
  const tree = (pid: number | undefined) => (cpuSeconds(pid) ?? 0) + childrenCpuSeconds(pid);
  return {
    devhost: tree(host.pid),
    workers: workers.reduce((sum, w) => sum + tree(w.pid), 0),
    azurite: cpuSeconds(azurite.pid) ?? 0,
  };
}

type Cpu = ReturnType<typeof cpuNow>;

/** CPU milliseconds per image each side spent between two readings. */
function cpuMsPerImage(before: Cpu, after: Cpu): Cpu {
  const per = (k: keyof Cpu) => Math.round(((after[k] - before[k]) * 1000 * 100) / 10_000) / 100;
  return { devhost: per('devhost'), workers: per('workers'), azurite: per('azurite') };
}

async function imagesPerSecond(api: ApiClient, compute: string): Promise<number> {
  const started = performance.now();
  const { runId } = await api.json<{ runId: string }>('POST', '/api/runs', { ...tuned, compute }, 202);
  await api.waitForInstance(runId);
  const seconds = (performance.now() - started) / 1000;
  const view = await api.json<RunView>('GET', `/api/runs/${runId}`);
  const scored = view.summary?.totals.itemsSucceeded ?? 0;
  if (view.status !== 'Completed' || scored !== 10_000) {
    // Where to look: the first error lines say why, before the in-memory store goes with the bench.
    const errors = await api.text(`/api/runs/${runId}/errors`).catch((err: unknown) => String(err));
    throw new Error(
      `run ${runId} on ${compute} ended ${view.status} with ${scored} images: ${view.reason ?? ''}\nfirst error lines:\n${errors.split('\n').slice(0, 3).join('\n')}`,
    );
  }
  return scored / seconds;
}

async function measurePool(storage: string, azurite: Azurite): Promise<void> {
  process.env.AzureWebJobsStorage = storage;
  const log = (line: string) => console.log(line);
  await seedModel(log);
  await seedImages(log);
  const env = { PARALLEL_RUN_POOLS: POOL };
  const host = await spawnDevHostProcess({ app: repoRoot, storage, args: ['--log-level', 'warn'], env });
  const workers: WatchedProcess[] = [];
  try {
    for (let i = 0; i < WORKERS; i++) workers.push(await spawnWorker({ pool: POOL, storage, env }));
    const api = new ApiClient(host.baseUrl);
    // One untimed run on each side first: a worker's first run after it starts pays its start-up (some
    // 3 CPU-seconds more of the workers, about 15 % of the run: measured 480 images/s against 550–559
    // for the runs after), as the devhost's first run pays its own. The figures compare steady state;
    // the cold runs are recorded beside them.
    const coldImagesPerSecond = {
      functions: await imagesPerSecond(api, 'functions'),
      pool: await imagesPerSecond(api, POOL),
    };
    log(
      `untimed first runs: functions ${coldImagesPerSecond.functions.toFixed(1)}, pool ${coldImagesPerSecond.pool.toFixed(1)} images/s`,
    );
    const order = ['functions', POOL, POOL, 'functions'];
    const rates: Record<string, number[]> = { functions: [], pool: [] };
    const cpu: Record<string, Cpu[]> = { functions: [], pool: [] };
    const cpuBefore = cpuSeconds(azurite.pid);
    for (const compute of order) {
      const side = compute === 'functions' ? 'functions' : 'pool';
      const before = cpuNow(host, workers, azurite);
      const rate = await imagesPerSecond(api, compute);
      const perImage = cpuMsPerImage(before, cpuNow(host, workers, azurite));
      rates[side]?.push(rate);
      cpu[side]?.push(perImage);
      log(
        `${side === 'functions' ? 'functions' : `pool (${WORKERS} workers)`}: ${rate.toFixed(1)} images/s; CPU ms per image: devhost ${perImage.devhost}, workers ${perImage.workers}, Azurite ${perImage.azurite}`,
      );
    }
    const mean = (xs: number[] | undefined) => (xs ?? []).reduce((a, b) => a + b, 0) / (xs?.length || 1);
    const functions = mean(rates.functions);
    const pool = mean(rates.pool);
    const result = {
      settings: {
        mini_batch_size: tuned.mini_batch_size,
        node_count: tuned.node_count,
        process_count_per_node: tuned.process_count_per_node,
      },
      workers: WORKERS,
      order,
      imagesPerSecond: { functions: rates.functions, pool: rates.pool },
      coldImagesPerSecond,
      ratioPoolVsFunctions: pool / functions,
      cpuMsPerImage: cpu,
      azuriteCpuSeconds: (cpuSeconds(azurite.pid) ?? 0) - (cpuBefore ?? 0),
    };
    printTable(
      ['compute', 'images/s (mean)', 'ratio'],
      [
        ['functions (activities on the devhost)', functions, 1],
        [`pool "${POOL}" (${WORKERS} local workers)`, pool, pool / functions],
      ],
    );
    console.log(`\nratioPoolVsFunctions ${result.ratioPoolVsFunctions.toFixed(3)} (goal ≥ 0.8)`);
    const file = writeResult('pool', result);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await Promise.all(workers.map((w) => w.kill()));
    await host.kill();
  }
}
