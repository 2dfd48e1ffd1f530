import { planFileDataset } from '../../core/datasets/plan.js';
import { ParallelRunError } from '../../core/errors.js';
import { loadRun } from '../../core/runner/runs.js';
import type { PlanOutput } from '../../orchestrations/contracts.js';
import { storage } from '../../core/storage/storage.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/** Plan: list the dataset, cut mini-batches, write the manifest shards; only counts go back to the orchestrator. */
export async function planRun(input: { runId: string }): Promise<PlanOutput> {
  const store = storage();
  const run = await loadRun(store, input.runId);
  const s = run.settings;
  if (s.mini_batch_size.kind !== 'files') {
    throw new ParallelRunError(
      'NOT_SUPPORTED',
      `mini_batch_size '${s.mini_batch_size.text}' is a byte size; file datasets take a number of files`,
      'mini_batch_size',
    );
  }
  const plan = await planFileDataset(store, run.runId, s.input, s.mini_batch_size.count);
  return {
    ...plan,
    limits: {
      run_max_try: s.run_max_try,
      node_count: s.node_count,
      process_count_per_node: s.process_count_per_node,
      error_threshold: s.error_threshold,
      mini_batch_error_threshold: s.mini_batch_error_threshold,
      allowed_failed_percent: s.allowed_failed_percent,
      progress_update_timeout: s.progress_update_timeout,
    },
  };
}

register(activities.plan, planRun);
