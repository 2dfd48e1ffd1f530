import { placementOf } from '../../core/compute/placement.js';
import { poolStartTimeoutSeconds } from '../../core/config/pools.js';
import { datasetKindOf } from '../../core/datasets/index.js';
import { carryOver, recordPlan } from '../../core/outputs/carry.js';
import { loadRun } from '../../core/runs/record.js';
import { checkReuse } from '../../core/runner/reuse-check.js';
import { storage } from '../../core/storage/storage.js';
import { miniBatchesInFlight, triesPerActivity, type PlanOutput } from '../../orchestrations/contracts.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/**
 * Plan: fingerprint the run first (a run allow_reuse finds done, or a resume whose input changed, is
 * not planned), then list the dataset, cut mini-batches, write the manifest shards; only counts and
 * ids go back to the orchestrator. One activity for both: a run pays no extra round trip for reuse.
 */
export async function planRun(input: { runId: string }): Promise<PlanOutput> {
  const store = storage();
  const run = await loadRun(store, input.runId);
  const s = run.settings;
  const check = await checkReuse(store, run);
  const nothing = { items: 0, miniBatches: 0, shards: [] };
  // A resume plans what the run it resumes planned, keeping the mini-batches that succeeded there.
  const plan =
    check.reusedFrom || check.refused
      ? nothing
      : run.resumeOf
        ? await carryOver(store, run.resumeOf, run.runId)
        : await datasetKindOf(s.input).plan(store, run.runId, s.input, s.mini_batch_size);
  if (plan !== nothing && !run.resumeOf) await recordPlan(store, run.runId, plan);
  const compute = placementOf(s.compute, poolStartTimeoutSeconds());
  return {
    ...plan,
    check,
    limits: {
      run_max_try: s.run_max_try,
      node_count: s.node_count,
      process_count_per_node: s.process_count_per_node,
      error_threshold: s.error_threshold,
      mini_batch_error_threshold: s.mini_batch_error_threshold,
      allowed_failed_percent: s.allowed_failed_percent,
      progress_update_timeout: s.progress_update_timeout,
      compute,
      triesPerActivity: triesPerActivity({
        placement: compute.placement,
        miniBatchFiles: s.mini_batch_size.kind === 'files' ? s.mini_batch_size.count : undefined,
        miniBatches: plan.miniBatches,
        inFlight: miniBatchesInFlight(s),
        progressUpdateTimeout: s.progress_update_timeout,
        runInvocationTimeout: s.run_invocation_timeout,
      }),
    },
  };
}

register(activities.plan, planRun);
