import { placementOf } from '../../core/compute/placement.js';
import { datasetKindOf } from '../../core/datasets/index.js';
import { carryOver, recordPlan } from '../../core/outputs/carry.js';
import { loadRun } from '../../core/runs/record.js';
import { storage } from '../../core/storage/storage.js';
import type { PlanOutput } from '../../orchestrations/contracts.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/** Plan: list the dataset, cut mini-batches, write the manifest shards; only counts go back to the orchestrator. */
export async function planRun(input: { runId: string }): Promise<PlanOutput> {
  const store = storage();
  const run = await loadRun(store, input.runId);
  const s = run.settings;
  // A resume plans what the run it resumes planned, keeping the mini-batches that succeeded there.
  const plan = run.resumeOf
    ? await carryOver(store, run.resumeOf, run.runId)
    : await datasetKindOf(s.input).plan(store, run.runId, s.input, s.mini_batch_size);
  if (!run.resumeOf) await recordPlan(store, run.runId, plan);
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
      compute: placementOf(s.compute),
    },
  };
}

register(activities.plan, planRun);
