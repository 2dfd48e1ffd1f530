import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { startAzurite, type Azurite } from '../devhost/azurite.js';
import { spawnDevHostProcess } from '../devhost/process.js';
import { DOWNLOADS_IN_PARALLEL } from '../core/datasets/materialize.js';
import { MINI_BATCHES_PER_PROCESS } from '../core/compute/placement.js';
import { miniBatchesInFlight } from '../orchestrations/contracts.js';
import { WorkerPool } from '../core/runner/pool.js';
import { resolveEntryScript, scratchRoot } from '../core/runner/paths.js';
import { listBlobPages } from '../core/storage/list-blobs.js';
import { blobAt, downloadBlob, storage, storageFromEnv, type Storage } from '../core/storage/storage.js';
import type { RunView } from '../functions/api/runs.js';
import { SESSION_OPTIONS } from '../samples/scripts/mnist/classify.js';
import { sampleImages } from '../samples/mnist/images.js';
import { sourceModelDir } from '../samples/mnist/paths.js';
import { ApiClient } from '../scripts/client.js';
import { tutorialSettings } from '../scripts/demo.js';
import { SAMPLE_CONTAINER, SAMPLE_PREFIX, seedImages, seedModel } from '../scripts/sample.js';
import {
  type Contender,
  childrenCpuSeconds,
  cpuSeconds,
  interleavedRates,
  median,
  printTable,
  repoRoot,
  withAzurite,
  writeResult,
} from './report.js';
import { requestsPerItem } from './requests.js';

/** Concurrent GETs of the e2e run: its mini-batches in flight × parallel downloads each. */
const IN_FLIGHT = miniBatchesInFlight(tutorialSettings);
const CONCURRENCY = IN_FLIGHT * DOWNLOADS_IN_PARALLEL;
/** Scoring passes: untimed first, then timed in turns. */
const WARM_UPS = 4;
const PASSES = 9;

async function rawGetImagesPerSecond(names: string[], store: Storage = storage()): Promise<number> {
  const container = store.blobs.getContainerClient(SAMPLE_CONTAINER);
  let next = 0;
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < names.length; i = next++)
        bytes += (await downloadBlob(blobAt(container, `${SAMPLE_PREFIX}${names[i] ?? ''}`))).length;
    }),
  );
  if (bytes === 0) throw new Error('raw GET read nothing');
  return names.length / ((performance.now() - started) / 1000);
}

async function e2eImagesPerSecond(api: ApiClient, settings: object): Promise<number> {
  const started = performance.now();
  // A bench measures runs that run: never one allow_reuse serves from an earlier, identical run.
  const body = { ...settings, allow_reuse: false };
  const { runId } = await api.json<{ runId: string }>('POST', '/api/runs', body, 202);
  // The devhost's long poll answers the moment the run's orchestration ends: no polling interval in the figure.
  await api.waitForInstance(runId);
  const seconds = (performance.now() - started) / 1000;
  const view = await api.json<RunView>('GET', `/api/runs/${runId}`);
  if (view.status !== 'Completed') throw new Error(`run ${runId} ended ${view.status}: ${view.reason ?? ''}`);
  if (view.summary?.totals.itemsSucceeded !== IMAGES)
    throw new Error(`run ${runId} scored ${view.summary?.totals.itemsSucceeded ?? 0} images, not ${IMAGES}`);
  return IMAGES / seconds;
}

/**
 * The tutorial's way: open each file, decode it with a PNG library, and call session.run once per
 * image. With the sample's session options: ONNX Runtime's default intra-op threads spin after
 * each call and slow whatever runs beside or after them, and the comparison is about batching.
 */
export async function oneAtATime(files: string[]): Promise<Contender> {
  const session = await InferenceSession.create(path.join(sourceModelDir(), 'mnist.onnx'), SESSION_OPTIONS);
  return {
    pass: async () => {
      for (const file of files) {
        const png = PNG.sync.read(readFileSync(file));
        const pixels = new Float32Array(784);
        for (let i = 0; i < 784; i++) pixels[i] = (png.data[i * 4] ?? 0) / 255;
        await session.run({ pixels: new Tensor('float32', pixels, [1, 784]) });
      }
    },
    close: () => session.release(),
  };
}

/** Writes the images as local files (RAM-backed where /dev/shm exists), as a mini-batch's downloads are. */
async function localFiles(images: Buffer[], dir: string): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return Promise.all(
    images.map(async (b, i) => {
      const f = path.join(dir, `${i}.png`);
      await writeFile(f, b);
      return f;
    }),
  );
}

/** The sample's way: run() on batches of 100 local files (or `batchSize`), on a pool of one process per core. */
export function batchedOnPool(files: string[], modelDir: string, batchSize = 100): Contender {
  const size = os.availableParallelism();
  const pool = new WorkerPool({
    size,
    init: {
      scriptPath: resolveEntryScript('digit_identification.js', 'mnist'),
      runId: 'bench',
      arguments: {},
      sideInputs: {},
      executionProviders: ['cpu'],
      outputDir: path.dirname(files[0] ?? scratchRoot()),
      loggingLevel: 'WARNING',
      modelCache: modelDir,
      models: {},
    },
  });
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += batchSize) batches.push(files.slice(i, i + batchSize));
  return {
    pass: async () => {
      let next = 0;
      // As many mini-batches in flight per process as a run keeps per process.
      await Promise.all(
        Array.from({ length: MINI_BATCHES_PER_PROCESS * size }, async () => {
          for (let i = next++; i < batches.length; i = next++) {
            const outcome = await pool.run({ inputs: batches[i] ?? [], miniBatchIndex: i }, 60_000);
            if (!outcome.ok) throw new Error(outcome.error.message);
          }
        }),
      );
    },
    close: () => pool.shutdown(),
  };
}

function peakRssMb(pid: number | undefined): number {
  const status = pid ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/**
 * `npm run bench -- mnist`: the tutorial end to end on Azurite against raw GET throughput for the same
 * blobs at the same concurrency, and the scoring stage alone, batched on the pool against one image at a time.
 */
export async function benchMnist(): Promise<void> {
  await withAzurite(measureMnist);
}

type CpuMsPerImage = Record<string, number>;

/**
 * CPU milliseconds per image that each process spent while `work` ran (where /proc tells): on a
 * machine with few cores Azurite and the host share them, and these say who took what.
 */
async function withCpu<T>(
  meters: Record<string, () => number | undefined>,
  images: number,
  work: () => Promise<T>,
): Promise<{ result: T; cpuMsPerImage: CpuMsPerImage }> {
  const before = Object.entries(meters).map(([name, meter]) => ({ name, meter, at: meter() }));
  const result = await work();
  const cpuMsPerImage: CpuMsPerImage = {};
  for (const { name, meter, at } of before) {
    const now = meter();
    if (at !== undefined && now !== undefined) cpuMsPerImage[name] = ((now - at) * 1000) / images;
  }
  return { result, cpuMsPerImage };
}

/**
 * A run's processes: the devhost, its scoring processes (alive, or ended and reaped by it) and
 * Azurite. The scoring processes are the run's work as much as the host's own.
 */
function runMeters(hostPid: number | undefined, azurite: Azurite): Record<string, () => number | undefined> {
  return {
    devhost: () => cpuSeconds(hostPid),
    workers: () => childrenCpuSeconds(hostPid),
    azurite: () => cpuSeconds(azurite.pid),
  };
}

/** CPU ms per image of a run (devhost + Azurite) against the raw GET loop's (client + Azurite). */
function cpuRatio(run: CpuMsPerImage, raw: CpuMsPerImage[]): number {
  const sum = (ms: CpuMsPerImage) => Object.values(ms).reduce((a, b) => a + b, 0);
  const rawMean = raw.reduce((a, ms) => a + sum(ms), 0) / Math.max(raw.length, 1);
  return sum(run) / rawMean;
}

/**
 * A run between two raw-GET passes over the same blobs, on the same store: Azurite's speed drifts
 * as it holds and serves more, so the baseline is the mean of the passes right before and after.
 */
async function againstRawGets(
  api: ApiClient,
  azurite: Azurite,
  hostPid: number | undefined,
  names: string[],
  settings: object,
  before?: Awaited<ReturnType<typeof rawPass>>,
  store: Storage = storage(),
) {
  const first = before ?? (await rawPass(azurite, names, store));
  const run = await withCpu(runMeters(hostPid, azurite), names.length, () =>
    e2eImagesPerSecond(api, settings),
  );
  const after = await rawPass(azurite, names, store);
  const rawGet = (first.result + after.result) / 2;
  const measured = {
    imagesPerSecond: run.result,
    rawGetImagesPerSecond: rawGet,
    rawGetBeforeAndAfter: [first.result, after.result],
    ratio: run.result / rawGet,
    cpuMsPerImage: {
      rawGetBefore: first.cpuMsPerImage,
      run: run.cpuMsPerImage,
      rawGetAfter: after.cpuMsPerImage,
    },
    cpuPerImageVsRawGet: cpuRatio(run.cpuMsPerImage, [first.cpuMsPerImage, after.cpuMsPerImage]),
  };
  return { measured, after };
}

type Measured = Awaited<ReturnType<typeof againstRawGets>>['measured'];

/**
 * CPU milliseconds per image of scoring alone at a mini-batch size: run() on batches of local
 * files on the pool, warm (a pass first, untimed), the pool's processes and this one's IPC counted.
 */
async function scoringCpuMsPerImage(
  files: string[],
  modelDir: string,
  batchSize: number,
  azurite: Azurite,
): Promise<number> {
  const pool = batchedOnPool(files, modelDir, batchSize);
  try {
    await pool.pass();
    // Azurite is this process's child too, idle meanwhile: its CPU is left out of the pool's.
    const meters = {
      bench: () => cpuSeconds(process.pid),
      pool: () => childrenCpuSeconds(process.pid) - (cpuSeconds(azurite.pid) ?? 0),
    };
    const { cpuMsPerImage } = await withCpu(meters, files.length, () => pool.pass());
    return Object.values(cpuMsPerImage).reduce((a, b) => a + b, 0);
  } finally {
    await pool.close();
  }
}

/**
 * The most a run's ratio could be on this machine, the lower of two bounds.
 * - Cores: the raw GETs' CPU per image plus scoring's (work any run does: it gets every image and
 *   scores it) spread over every core, as if nothing else ran and no core ever waited.
 * - Azurite: one process, which the raw loop keeps busy (`azuriteBusyInRawGets`, its CPU over the
 *   loop's time, near 1). A run asks it for the same GETs and, before the first of them, a listing
 *   of the dataset (`listingAzuriteMs`); at the raw loop's pace that alone bounds the ratio to
 *   GETs / (GETs + listing). Whatever else a run asks of it (parts, history, status) lowers the
 *   true ceiling further: `azuriteBeyondGetsMsPerImage` is all of that, listing included.
 *
 * Where the run fell short of the raw loop, in two factors whose product (over the raw loop's own
 * `azuriteBusyInRawGets`) is its ratio: `ratioAtRunAzuriteWork`, the raw loop's Azurite CPU per
 * image over the run's (the ratio were Azurite as busy in the run as in the loop), and
 * `azuriteBusyInRun`, Azurite's CPU over the run's time (below the loop's: Azurite waited, for a
 * core the host and the scoring processes held, or for a request while the host planned).
 */
function ceilingOf(run: Measured, scoringMs: number, listingMs: number, images: number) {
  const { rawGetBefore, rawGetAfter } = run.cpuMsPerImage;
  const sum = (ms: CpuMsPerImage) => Object.values(ms).reduce((a, b) => a + b, 0);
  const rawCpuMs = (sum(rawGetBefore) + sum(rawGetAfter)) / 2;
  const rawAzuriteMs = ((rawGetBefore.azurite ?? 0) + (rawGetAfter.azurite ?? 0)) / 2;
  const floorCpuMs = rawCpuMs + scoringMs;
  const rawWallMs = 1000 / run.rawGetImagesPerSecond;
  const runAzuriteMs = run.cpuMsPerImage.run.azurite ?? 0;
  const cores = rawWallMs / (floorCpuMs / os.availableParallelism());
  const azurite = rawAzuriteMs / (rawAzuriteMs + listingMs / images);
  return {
    rawGetCpuMsPerImage: rawCpuMs,
    scoringCpuMsPerImage: scoringMs,
    cpuPerImageVsRawGetFloor: floorCpuMs / rawCpuMs,
    ratioCeilingCores: cores,
    azuriteBusyInRawGets: rawAzuriteMs / rawWallMs,
    listingAzuriteMs: listingMs,
    ratioCeilingAzurite: azurite,
    azuriteBeyondGetsMsPerImage: runAzuriteMs - rawAzuriteMs,
    ratioCeiling: Math.min(cores, azurite),
    ratioAtRunAzuriteWork: rawAzuriteMs / runAzuriteMs,
    azuriteBusyInRun: runAzuriteMs / (1000 / run.imagesPerSecond),
  };
}

/**
 * Azurite's CPU milliseconds for one listing of the sample's blobs as a plan reads it (lean, with
 * metadata, a page ahead): work every run does before its first GET, and the raw loop never does.
 * The median of three, on the in-memory store while nothing else runs.
 */
async function listingAzuriteMs(azurite: Azurite): Promise<number> {
  const container = storage().blobs.getContainerClient(SAMPLE_CONTAINER);
  const options = { prefix: SAMPLE_PREFIX, includeMetadata: true, readAhead: true };
  const ms: number[] = [];
  for (let i = 0; i < 3; i++) {
    const meters = { azurite: () => cpuSeconds(azurite.pid) };
    const { cpuMsPerImage } = await withCpu(meters, 1, async () => {
      for await (const page of listBlobPages(container, options)) if (page.length === 0) break;
    });
    ms.push(cpuMsPerImage.azurite ?? 0);
  }
  return median(ms);
}

/** The sample's images: what every run here scores. */
const IMAGES = 10_000;

/** Runs of each setting measured, in turns: the figure is their median. */
const RUNS_EACH = 3;

/** The run of median ratio, with every run's ratio beside it. */
function medianRun(runs: Measured[]): Measured & { ratios: number[] } {
  const sorted = [...runs].sort((a, b) => a.ratio - b.ratio);
  const median = sorted[Math.floor(sorted.length / 2)] ?? sorted[0];
  if (!median) throw new Error('no run measured');
  return { ...median, ratios: runs.map((r) => r.ratio) };
}

function rawPass(azurite: Azurite, names: string[], store: Storage) {
  return withCpu(
    { bench: () => cpuSeconds(process.pid), azurite: () => cpuSeconds(azurite.pid) },
    names.length,
    () => rawGetImagesPerSecond(names, store),
  );
}

/**
 * The tutorial on the persisted store `npm start` uses (Azurite with a folder, not in memory):
 * what a user runs, against raw GETs on that same store.
 */
async function persistedTutorial(log: (line: string) => void) {
  const location = await mkdtemp(path.join(os.tmpdir(), 'parallel-run-bench-store-'));
  const azurite = await startAzurite({ location });
  const store = storageFromEnv({ AzureWebJobsStorage: azurite.connectionString });
  try {
    await seedModel(log, store);
    await seedImages(log, store);
    const host = await spawnDevHostProcess({
      app: repoRoot,
      storage: azurite.connectionString,
      args: ['--log-level', 'warn'],
    });
    try {
      const names = [...sampleImages()].map((i) => i.name);
      await rawGetImagesPerSecond(names.slice(0, 1000), store); // warm-up
      const api = new ApiClient(host.baseUrl);
      // The host's first run, as `npm start` makes it: cold, unlike the in-memory runs.
      return (await againstRawGets(api, azurite, host.pid, names, tutorialSettings, undefined, store))
        .measured;
    } finally {
      await host.kill();
    }
  } finally {
    await azurite.stop();
    await rm(location, { recursive: true, force: true });
  }
}

async function measureMnist(storage: string, azurite: Azurite): Promise<void> {
  process.env.AzureWebJobsStorage = storage;
  const log = (line: string) => console.log(line);
  await seedModel(log);
  // The scoring stage first, while nothing else runs: Azurite and the devhost would share its two cores.
  const dir = path.join(scratchRoot(), 'bench-scoring');
  const files = await localFiles(
    [...sampleImages()].map((i) => i.bytes),
    dir,
  );
  const modelDir = path.join(scratchRoot(), 'models-bench');
  const scoring = await interleavedRates(
    files.length,
    {
      oneAtATime: await oneAtATime(files),
      batched: batchedOnPool(files, modelDir),
    },
    { warmUps: WARM_UPS, passes: PASSES },
  );
  const single = scoring.oneAtATime.best;
  const batched = scoring.batched.best;
  const scoringMs = {
    tuned: await scoringCpuMsPerImage(files, modelDir, 100, azurite),
    tutorial: await scoringCpuMsPerImage(files, modelDir, 5, azurite),
  };
  await rm(dir, { recursive: true, force: true });
  await seedImages(log);
  const listingMs = await listingAzuriteMs(azurite);
  const host = await spawnDevHostProcess({
    app: repoRoot,
    storage,
    args: ['--log-level', 'warn'],
  });
  let devhostPeakRss = 0;
  let cold: Awaited<ReturnType<typeof againstRawGets>>;
  let tuned: ReturnType<typeof medianRun>;
  let tutorial: ReturnType<typeof medianRun>;
  const raws: number[] = [];
  try {
    const api = new ApiClient(host.baseUrl);
    const names = [...sampleImages()].map((i) => i.name);
    await rawGetImagesPerSecond(names.slice(0, 1000)); // warm-up
    // Both ways are measured warm: the raw loop after its untimed GETs, a run after a first run on
    // the same host (JIT of the host's code and of Azurite's write and list paths, which a host pays
    // once, not per run). That first run is measured too, and reported as the cold figure.
    cold = await againstRawGets(api, azurite, host.pid, names, tutorialSettings);
    raws.push(...cold.measured.rawGetBeforeAndAfter);
    // Then tuned and tutorial runs in turns, each between raw-GET passes on the same store (the pass
    // after one run is the one before the next). On two shared cores one run's ratio swings by a
    // third from one to the next: each figure is the median of RUNS_EACH runs, all of them kept.
    const tunedSettings = { ...tutorialSettings, run_name: 'mnist-tuned', mini_batch_size: '100' };
    const runs: Record<'tuned' | 'tutorial', Measured[]> = { tuned: [], tutorial: [] };
    let before = cold.after;
    for (let i = 0; i < RUNS_EACH; i++) {
      for (const [which, settings] of [
        ['tuned', tunedSettings],
        ['tutorial', tutorialSettings],
      ] as const) {
        const measured = await againstRawGets(api, azurite, host.pid, names, settings, before);
        runs[which].push(measured.measured);
        raws.push(measured.measured.rawGetBeforeAndAfter[1] ?? 0);
        before = measured.after;
      }
    }
    tuned = medianRun(runs.tuned);
    tutorial = medianRun(runs.tutorial);
    devhostPeakRss = peakRssMb(host.pid);
  } finally {
    await host.kill();
  }
  log('requests per item (a proxy counting every request of a run over the 10,000 images)…');
  const requests = await requestsPerItem(azurite, ['5', '100']);
  log('the tutorial on a persisted store, as npm start runs it…');
  const persisted = await persistedTutorial(log);
  const result = {
    e2eImagesPerSecond: { tutorial: tutorial.imagesPerSecond, tuned: tuned.imagesPerSecond },
    rawGetImagesPerSecond: raws,
    rawGetSpread: Math.max(...raws) / Math.min(...raws),
    ratioTutorialVsRawGet: tutorial.ratio,
    ratioTunedVsRawGet: tuned.ratio,
    cpuPerImageVsRawGet: { tutorial: tutorial.cpuPerImageVsRawGet, tuned: tuned.cpuPerImageVsRawGet },
    requestsPerItem: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, v.requestsPerItem])),
    requests: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, v.requests])),
    ratioTutorialPersisted: persisted.ratio,
    ceiling: {
      tuned: ceilingOf(tuned, scoringMs.tuned, listingMs, IMAGES),
      tutorial: ceilingOf(tutorial, scoringMs.tutorial, listingMs, IMAGES),
    },
    persisted,
    coldFirstRun: {
      note: "the in-memory host's first run, at the tutorial setting: the warm-up of the runs above",
      ...cold.measured,
    },
    tuned,
    tutorial,
    concurrency: CONCURRENCY,
    scoring: {
      oneAtATimeImagesPerSecond: single,
      batchedPoolImagesPerSecond: batched,
      measured: `fastest of ${PASSES} passes over ${files.length} images each, the two ways taking turns, after ${WARM_UPS} warm-up passes each`,
      medianImagesPerSecond: { oneAtATime: scoring.oneAtATime.median, batched: scoring.batched.median },
      passes: { oneAtATime: scoring.oneAtATime.passes, batched: scoring.batched.passes },
      poolThreads: os.availableParallelism(),
    },
    scoringSpeedupVsOneAtATime: batched / single,
    peakRssMb: { devhost: devhostPeakRss, bench: Math.round(process.resourceUsage().maxRSS / 1024) },
    goals: {
      ratioTutorialVsRawGet: 0.8,
      ratioTunedVsRawGet: 0.9,
      rawGetSpread: 1.2,
      cpuPerImageVsRawGet: { tutorial: 1.5, tuned: 1.3 },
      requestsPerItem: { '5': 1.2 },
      ratioTutorialPersisted: 0.7,
      scoringSpeedupVsOneAtATime: 5,
    },
  };
  printTable(
    ['measure', 'images/s', 'ratio'],
    [
      ['raw Azurite GET (same blobs, same concurrency), mean', tuned.rawGetImagesPerSecond, 1],
      ['e2e tuned (mini_batch_size 100)', tuned.imagesPerSecond, tuned.ratio],
      ['e2e tutorial (mini_batch_size 5)', tutorial.imagesPerSecond, tutorial.ratio],
      ['e2e tutorial on the persisted store (first run)', persisted.imagesPerSecond, persisted.ratio],
      ['e2e tutorial, first run of a fresh host', cold.measured.imagesPerSecond, cold.measured.ratio],
      ['scoring one image at a time', single, 1],
      ['scoring batched run() on the pool', batched, batched / single],
    ],
  );
  console.log(
    `\nratioTutorialVsRawGet ${tutorial.ratio.toFixed(3)} (goal ≥ 0.8), ratioTunedVsRawGet ${tuned.ratio.toFixed(3)} (goal ≥ 0.9), ratioTutorialPersisted ${persisted.ratio.toFixed(3)} (goal ≥ 0.7)`,
  );
  const shown = (ratios: number[]) => ratios.map((r) => r.toFixed(3)).join(', ');
  console.log(
    `medians of ${RUNS_EACH} runs each, in turns: tuned ${shown(tuned.ratios)}; tutorial ${shown(tutorial.ratios)}`,
  );
  console.log(
    `raw GET passes ${raws.map((r) => r.toFixed(0)).join(', ')} (spread ${result.rawGetSpread.toFixed(2)}, goal ≤ 1.2); cpuPerImageVsRawGet tutorial ${tutorial.cpuPerImageVsRawGet.toFixed(2)} (≤ 1.5), tuned ${tuned.cpuPerImageVsRawGet.toFixed(2)} (≤ 1.3)`,
  );
  console.log(
    `requestsPerItem ${Object.entries(result.requestsPerItem)
      .map(([k, v]) => `"${k}" ${v.toFixed(3)}`)
      .join(
        ', ',
      )} (goal ≤ 1.2 at "5"); scoring ${result.scoringSpeedupVsOneAtATime.toFixed(2)}× (goal ≥ 5); devhost peak RSS ${devhostPeakRss} MB`,
  );
  const { tuned: ct, tutorial: cu } = result.ceiling;
  console.log(
    `ratioCeiling tuned ${ct.ratioCeiling.toFixed(3)}, tutorial ${cu.ratioCeiling.toFixed(3)}: the lower of the cores' (raw GETs' CPU plus scoring's over ${os.availableParallelism()} cores: tuned ${ct.ratioCeilingCores.toFixed(3)}, tutorial ${cu.ratioCeilingCores.toFixed(3)}) and Azurite's (its raw GETs plus one ${listingMs.toFixed(0)} ms listing, at the raw loop's pace, Azurite busy ${ct.azuriteBusyInRawGets.toFixed(2)} of that loop's time: ${ct.ratioCeilingAzurite.toFixed(3)}, ${cu.ratioCeilingAzurite.toFixed(3)})`,
  );
  console.log(
    `Azurite CPU per image a run adds beyond its GETs: tuned ${ct.azuriteBeyondGetsMsPerImage.toFixed(3)} ms, tutorial ${cu.azuriteBeyondGetsMsPerImage.toFixed(3)} ms (of which the listing ${(listingMs / IMAGES).toFixed(3)}); cpuPerImageVsRawGet floor tuned ${ct.cpuPerImageVsRawGetFloor.toFixed(2)}, tutorial ${cu.cpuPerImageVsRawGetFloor.toFixed(2)}`,
  );
  console.log(
    `where the runs fell short: the raw loop's Azurite CPU per image over the run's, tuned ${ct.ratioAtRunAzuriteWork.toFixed(3)}, tutorial ${cu.ratioAtRunAzuriteWork.toFixed(3)}; Azurite busy in the run ${ct.azuriteBusyInRun.toFixed(2)} and ${cu.azuriteBusyInRun.toFixed(2)} of its time (in the raw loop ${ct.azuriteBusyInRawGets.toFixed(2)}, ${cu.azuriteBusyInRawGets.toFixed(2)})`,
  );
  const file = writeResult('mnist', result);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
