import path from 'node:path';
import { startAzurite } from '../devhost/azurite.js';
import { errorMessage } from '../devhost/errors.js';
import { startDevHost } from '../devhost/host.js';
import { parseLogLevel } from '../devhost/log.js';
import type { WatchedProcess } from '../devhost/lines.js';
import { configuredPools } from '../core/config/pools.js';
import { ApiClient } from './client.js';
import { spawnWorker } from './workers.js';
import { cliCommand, runTutorial } from './demo.js';
import { runIris } from './iris.js';
import { seedImages, seedModel } from './sample.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const log = (line: string) => console.log(line);

/**
 * `npm start`: embedded Azurite (data kept in .data/azurite), the app on the devhost at :7071, the
 * MNIST sample seeded if absent and the tutorial run end to end; then it keeps serving (Ctrl-C stops).
 * `npm run demo` (--exit) does the same and exits, non-zero on failure. `npm run demo -- iris` runs
 * the iris sample (a tabular dataset) instead of MNIST.
 */
async function main(): Promise<void> {
  const exitAfter = process.argv.includes('--exit');
  const location = path.join(repoRoot, '.data', 'azurite');
  const azurite = await startAzurite({ location });
  log(
    `Azurite: blob :${azurite.ports.blob}, queue :${azurite.ports.queue}, table :${azurite.ports.table} (data in .data/azurite)`,
  );
  process.env.AzureWebJobsStorage = azurite.connectionString;
  const port = Number(process.env.PORT ?? 7071);
  const host = await startDevHost({
    appRoot: repoRoot,
    port,
    storage: azurite.connectionString,
    logLevel: parseLogLevel(process.env.DEVHOST_LOG_LEVEL ?? 'warn'),
  });
  const workers = await startLocalWorkers(azurite.connectionString);
  const stop = async (code: number) => {
    await Promise.all(workers.map((w) => w.kill()));
    await host.stop();
    await azurite.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  let ok: boolean;
  log(`status page: ${host.baseUrl}/api/ui`);
  if (process.argv.includes('iris')) {
    ok = await runIris(new ApiClient(host.baseUrl), log);
  } else {
    log('seeding the MNIST sample (model mnist:1, 10,000 images) where absent…');
    await seedModel(log);
    const images = await seedImages(log);
    log(`sample ready: ${images} images in sampledata/mnist/`);
    ok = await runTutorial(new ApiClient(host.baseUrl), log);
  }
  if (exitAfter) await stop(ok ? 0 : 1);
  log(`\nServing the API at ${host.baseUrl}/api (runs, models). Ctrl-C stops.`);
  log(`  status page:  ${host.baseUrl}/api/ui`);
  const cli = cliCommand(host.baseUrl);
  log(`  command line: ${cli} runs   (${cli} --help lists the commands)`);
  log(`  submit again: ${cli} submit samples/settings/mnist-tutorial.json --watch`);
}

/**
 * One local worker per pool of PARALLEL_RUN_POOLS, so runs with `"compute": "<pool>"` are served
 * here too. Their start-up lines and problems are shown; their one line per try is not.
 */
async function startLocalWorkers(storage: string): Promise<WatchedProcess[]> {
  const workers: WatchedProcess[] = [];
  for (const pool of configuredPools()) {
    const worker = await spawnWorker({
      pool,
      storage,
      echo: (line) => {
        if (!line.startsWith('try ')) log(`[worker ${pool}] ${line}`);
      },
    });
    workers.push(worker);
  }
  if (workers.length > 0) {
    log(
      `pool workers: ${workers.length} (submit with "compute": "${configuredPools()[0] ?? ''}" to use one)`,
    );
  }
  return workers;
}

main().catch((err: unknown) => {
  console.error(`parallel-run: ${errorMessage(err)}`);
  process.exit(1);
});
