/**
 * Compute pools (README, "GPU pools"): named groups of inference workers outside the Functions app
 * (Container Apps replicas in Azure, `npm run worker` processes locally), fed through Storage queues.
 * The app knows its pools from the app setting `PARALLEL_RUN_POOLS`; a run picks one with `compute`.
 */
import { ParallelRunError } from '../errors.js';

/** App setting: the pool names, comma-separated (e.g. `gpu` or `gpu,t4`). */
export const POOLS_SETTING = 'PARALLEL_RUN_POOLS';
/** App setting: seconds a try may wait for a worker of its pool before that try fails (default 600). */
export const POOL_START_TIMEOUT_SETTING = 'PARALLEL_RUN_POOL_START_TIMEOUT';
/** Worker setting: the onnxruntime execution providers entry scripts should use, in order (default `cpu`). */
export const EXECUTION_PROVIDERS_SETTING = 'PARALLEL_RUN_EXECUTION_PROVIDERS';
/** Worker setting: `true` lets a worker configured for CUDA fall back to the CPU when CUDA cannot load. */
export const CPU_FALLBACK_SETTING = 'PARALLEL_RUN_ALLOW_CPU_FALLBACK';

type Env = Readonly<Record<string, string | undefined>>;

/** App setting: the queue this app's pool results come back on (apps sharing an account need one each). */
export const RESULTS_QUEUE_SETTING = 'PARALLEL_RUN_RESULTS_QUEUE';
/** Where pool workers put results by default; a queue-triggered function reads it. */
export const RESULTS_QUEUE = 'minibatch-results';
const QUEUE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

/** A Storage queue name: 3–63 lower-case letters, digits and single hyphens, not at either end. */
export function isQueueName(name: string): boolean {
  return QUEUE_NAME.test(name);
}

const POOL_QUEUE_PREFIX = 'minibatches-';
const POISON_SUFFIX = '-poison';

/**
 * Why `name` cannot be where results go, or undefined when it can. A pool's queue would have its
 * workers take each result as a try and send it back there, forever; a poison queue (a pool's, or
 * the one the Functions host keeps beside a queue it reads) is read by nobody.
 */
export function notAResultsQueue(name: string): string | undefined {
  if (!isQueueName(name))
    return 'is not a queue name (3 to 63 lower-case letters, digits and single hyphens)';
  if (name.startsWith(POOL_QUEUE_PREFIX))
    return `is a pool's queue (${POOL_QUEUE_PREFIX}…): tries go there, not results`;
  if (name.endsWith(POISON_SUFFIX))
    return `is a poison queue (…${POISON_SUFFIX}): nobody reads results there`;
  return undefined;
}

/** The queue this app reads its pools' results from (each try it enqueues names it as `replyTo`). */
export function resultsQueue(env: Env = process.env): string {
  const given = env[RESULTS_QUEUE_SETTING]?.trim();
  if (!given) return RESULTS_QUEUE;
  const why = notAResultsQueue(given);
  if (why) {
    throw new ParallelRunError(
      'CONFIGURATION',
      `app setting ${RESULTS_QUEUE_SETTING}: ${JSON.stringify(given)} ${why}; name a queue of this app's own, e.g. ${RESULTS_QUEUE}`,
    );
  }
  return given;
}
const DEFAULT_START_TIMEOUT_SECONDS = 600;

/**
 * A pool name becomes part of queue names (`minibatches-<pool>-poison`, at most 63 characters, lower
 * case letters, digits and single hyphens) and of Container App names.
 */
export const POOL_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const MAX_POOL_NAME = 40;
export const POOL_NAME_RULE = `lower-case letters, digits and single hyphens, starting with a letter, at most ${MAX_POOL_NAME} characters`;

export function isPoolName(name: string): boolean {
  return name.length <= MAX_POOL_NAME && POOL_NAME.test(name) && name !== 'functions';
}

/** The queue a pool's workers take tries from. */
export function poolQueue(pool: string): string {
  return `${POOL_QUEUE_PREFIX}${pool}`;
}

/** Where a pool's workers move a try that was delivered too many times. */
export function poisonQueue(pool: string): string {
  return `${poolQueue(pool)}${POISON_SUFFIX}`;
}

/** The pools configured for this app (or worker); none when the setting is absent or empty. */
export function configuredPools(env: Env = process.env): string[] {
  const names = (env[POOLS_SETTING] ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  const bad = names.filter((n) => !isPoolName(n));
  if (bad.length > 0) {
    throw new ParallelRunError(
      'CONFIGURATION',
      `app setting ${POOLS_SETTING}: ${bad.map((n) => JSON.stringify(n)).join(', ')} is not a pool name (${POOL_NAME_RULE}; "functions" is taken)`,
    );
  }
  return [...new Set(names)];
}

/** Seconds a try waits for a worker of its pool (and a running try for its worker's heartbeat). */
export function poolStartTimeoutSeconds(env: Env = process.env): number {
  const given = env[POOL_START_TIMEOUT_SETTING];
  if (given === undefined || given.trim() === '') return DEFAULT_START_TIMEOUT_SECONDS;
  const seconds = Number(given);
  // At least 10 s: a worker's heartbeats and liveness beacons come every few seconds.
  if (!Number.isInteger(seconds) || seconds < 10 || seconds > 86_400) {
    throw new ParallelRunError(
      'CONFIGURATION',
      `app setting ${POOL_START_TIMEOUT_SETTING}: ${JSON.stringify(given)} is not allowed: a whole number of seconds from 10 to 86400`,
    );
  }
  return seconds;
}

/** The execution providers this process's entry scripts are told to use (`ctx.executionProviders`). */
export function executionProviders(env: Env = process.env): string[] {
  const names = (env[EXECUTION_PROVIDERS_SETTING] ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n.length > 0);
  return names.length > 0 ? [...new Set(names)] : ['cpu'];
}

/** Whether a worker configured for CUDA may run on the CPU when CUDA cannot load. */
export function cpuFallbackAllowed(env: Env = process.env): boolean {
  return (env[CPU_FALLBACK_SETTING] ?? '').trim().toLowerCase() === 'true';
}
