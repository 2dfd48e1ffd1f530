#!/usr/bin/env node
/**
 * A pool worker (README, "GPU pools"): `node dist/worker/main.js --pool gpu`. In Azure it is the
 * entry point of the pool's Container App (worker/Dockerfile); locally `npm run worker -- --pool gpu`,
 * or `npm start` with PARALLEL_RUN_POOLS set. It reads the same storage settings as the app.
 */
import { parseArgs } from 'node:util';
import { configuredPools, isPoolName, POOL_NAME_RULE, POOLS_SETTING } from '../core/config/pools.js';
import { errorMessage, ParallelRunError } from '../core/errors.js';
import { shutdownAllPools } from '../core/runner/pools.js';
import { storageFromEnv } from '../core/storage/storage.js';
import { PoolConsumer } from './consumer.js';
import { checkedProviders } from './probe.js';

const USAGE = `usage: node dist/worker/main.js --pool <name>   (npm run worker -- --pool <name>)

Takes mini-batches of runs with "compute": "<name>" from the queue minibatches-<name> and runs them.
Settings (environment): AzureWebJobsStorage (or AzureWebJobsStorage__blobServiceUri/__queueServiceUri
with a managed identity), ${POOLS_SETTING} (must list the pool), PARALLEL_RUN_EXECUTION_PROVIDERS
(e.g. cuda,cpu), PARALLEL_RUN_ALLOW_CPU_FALLBACK, PARALLEL_RUN_WORKER_GRACE_SECONDS (default 25).`;

/** Seconds a stopping worker gives its running tries (Container Apps waits 30 s before SIGKILL). */
function graceSeconds(): number {
  const given = process.env.PARALLEL_RUN_WORKER_GRACE_SECONDS;
  if (given === undefined || given.trim() === '') return 25;
  const seconds = Number(given);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3_600) {
    throw new ParallelRunError(
      'CONFIGURATION',
      `PARALLEL_RUN_WORKER_GRACE_SECONDS: ${JSON.stringify(given)} is not allowed: a whole number of seconds from 0 to 3600`,
    );
  }
  return seconds;
}

/** The command line's options; what parseArgs refuses is a bad argument (exit 64), as ours are. */
function parsedArguments(argv: string[]): { pool?: string; help?: boolean } {
  try {
    return parseArgs({ args: argv, options: { pool: { type: 'string' }, help: { type: 'boolean' } } }).values;
  } catch (err) {
    throw new ParallelRunError('INVALID_REQUEST', `${errorMessage(err)}\n${USAGE}`);
  }
}

function readPool(argv: string[]): string {
  const values = parsedArguments(argv);
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const pool = values.pool;
  if (pool === undefined) throw new ParallelRunError('INVALID_REQUEST', `--pool is missing\n${USAGE}`);
  if (!isPoolName(pool)) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `--pool ${JSON.stringify(pool)} is not a pool name: ${POOL_NAME_RULE}`,
    );
  }
  const pools = configuredPools();
  if (!pools.includes(pool)) {
    throw new ParallelRunError(
      'CONFIGURATION',
      `pool "${pool}" is not configured: ${POOLS_SETTING} is ${pools.length ? `"${pools.join(',')}"` : 'not set'} here; the app and its workers list the same pools (e.g. ${POOLS_SETTING}=${pool})`,
    );
  }
  return pool;
}

async function main(): Promise<void> {
  const pool = readPool(process.argv.slice(2));
  const storage = (() => {
    try {
      return storageFromEnv();
    } catch (err) {
      throw new ParallelRunError('CONFIGURATION', errorMessage(err));
    }
  })();
  const grace = graceSeconds();
  const providers = await checkedProviders();
  // The entry scripts' processes read it from here (ctx.executionProviders).
  process.env.PARALLEL_RUN_EXECUTION_PROVIDERS = providers.join(',');
  const consumer = new PoolConsumer(storage, { pool });
  const stop = (signal: string) => {
    if (process.exitCode !== undefined) return;
    process.exitCode = 0;
    console.log(`${signal}: taking no more tries; ${consumer.active} running get ${grace} s to finish`);
    consumer.stop();
    // Tries still running then are left to their messages: they reappear for another worker.
    setTimeout(() => process.exit(0), grace * 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await consumer.connect();
  console.log(
    `worker ${consumer.id} of pool "${pool}" taking tries (execution providers: ${providers.join(', ')})`,
  );
  await consumer.run();
  await shutdownAllPools();
  console.log(`worker ${consumer.id} stopped`);
}

main().catch((err: unknown) => {
  console.error(`worker cannot start: ${errorMessage(err)}`);
  process.exit(err instanceof ParallelRunError && err.code === 'INVALID_REQUEST' ? 64 : 2);
});
