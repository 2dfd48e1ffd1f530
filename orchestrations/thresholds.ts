import type { RunTotals } from '../core/outputs/records.js';
import type { RunLimits } from './contracts.js';

type Counts = Pick<RunTotals, 'itemsFailed' | 'miniBatchesFailed'>;

/** Why the run must stop now, or undefined. −1 ignores a threshold, as in ParallelRunStep. */
export function crossedThreshold(limits: RunLimits, failed: Counts): string | undefined {
  if (limits.error_threshold >= 0 && failed.itemsFailed > limits.error_threshold) {
    return `error_threshold crossed: ${failed.itemsFailed} failed items, more than the ${limits.error_threshold} allowed`;
  }
  if (
    limits.mini_batch_error_threshold >= 0 &&
    failed.miniBatchesFailed > limits.mini_batch_error_threshold
  ) {
    return `mini_batch_error_threshold crossed: ${failed.miniBatchesFailed} failed mini-batches, more than the ${limits.mini_batch_error_threshold} allowed`;
  }
  return undefined;
}

/** Whether failures can stop a run before it ends (error_threshold or mini_batch_error_threshold set). */
export function stopsEarlyOnFailures(limits: RunLimits): boolean {
  return limits.error_threshold >= 0 || limits.mini_batch_error_threshold >= 0;
}

/** allowed_failed_percent is checked once every mini-batch has been scheduled. */
export function crossedPercent(
  limits: RunLimits,
  failedMiniBatches: number,
  miniBatches: number,
): string | undefined {
  if (limits.allowed_failed_percent >= 100 || miniBatches === 0) return undefined;
  const percent = (100 * failedMiniBatches) / miniBatches;
  if (percent <= limits.allowed_failed_percent) return undefined;
  return `allowed_failed_percent crossed: ${percent.toFixed(1)}% of mini-batches failed, more than the ${limits.allowed_failed_percent}% allowed`;
}
