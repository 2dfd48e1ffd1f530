import type { CheckOutcome } from '../core/compute/claims.js';
import type { PoolTryInput } from './contracts.js';

/** When the pool try next checks on its worker, if no result came before. */
export function nextCheck(now: Date, deadlineSeconds: number): Date {
  return new Date(now.getTime() + deadlineSeconds * 1000);
}

/** Why a pool try was given up, saying where to look. */
export function givenUpMessage(t: PoolTryInput, why: Extract<CheckOutcome, { alive: false }>['why']): string {
  const which = `mini-batch ${t.index} (attempt ${t.attempt})`;
  if (why === 'never-taken') {
    return `no worker of pool "${t.pool}" took ${which} within ${t.deadlineSeconds} s: start one (locally: npm run worker -- --pool ${t.pool}; in Azure: check the pool's Container App, its replicas, GPU quota and image) — the try stays on queue ${t.queue} until a worker drops it`;
  }
  return `the worker of pool "${t.pool}" running ${which} sent no heartbeat for ${t.deadlineSeconds} s (it crashed, was killed, or lost its storage connection): see the worker's log`;
}
