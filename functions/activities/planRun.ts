import { placementOf } from '../../core/compute/placement.js';
import { computeKindOf } from '../../core/compute/pool.js';
import { poolStartTimeoutSeconds } from '../../core/config/pools.js';
import { datasetKindOf } from '../../core/datasets/index.js';
import type { Plan, VersionedItem } from '../../core/datasets/kind.js';
import { planStopped } from '../../core/datasets/plan.js';
import { carryOver, recordPlan, type CarriedPlan } from '../../core/outputs/carry.js';
import { loadRun, type RunRecord } from '../../core/runs/record.js';
import { watchEnded } from '../../core/runner/ended-runs.js';
import { ListingHasher } from '../../core/runner/fingerprint.js';
import { checkReuse, type ReuseCheck } from '../../core/runner/reuse-check.js';
import { storage, type Storage } from '../../core/storage/storage.js';
import { miniBatchesInFlight, triesPerActivity, type PlanOutput } from '../../orchestrations/contracts.js';
import { register } from '../../orchestrations/activities.js';
import { activities } from '../../orchestrations/names.js';

/**
 * Plan: list the dataset once, cutting mini-batches into the manifest shards while hashing the
 * listing for the run's fingerprint; then a run allow_reuse finds done is not run (its manifest stays
 * unread). A resume lists only to compare its input with the resumed run's, and plans what that run
 * planned, keeping the mini-batches that succeeded there. Only counts and ids go back to the
 * orchestrator. One activity for all of it: a run pays no extra round trip for reuse.
 */
export async function planRun(input: { runId: string }): Promise<PlanOutput> {
  const store = storage();
  const run = await loadRun(store, input.runId);
  const s = run.settings;
  const compute = placementOf(s.compute, poolStartTimeoutSeconds());
  const planning = run.resumeOf ? planResume(store, run, run.resumeOf) : planFresh(store, run);
  // Not awaited: the script's start overlaps the listing, and a failure is the first try's to report.
  computeKindOf(compute)
    .prepare(store, run, planning)
    .catch(() => undefined);
  const { check, plan } = await planning;
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
        inFlight: miniBatchesInFlight({ ...s, compute }),
        progressUpdateTimeout: s.progress_update_timeout,
        runInvocationTimeout: s.run_invocation_timeout,
      }),
    },
  };
}

const NOTHING: Plan = { items: 0, miniBatches: 0, shards: [] };

/**
 * A new run: one listing feeds both the plan and the fingerprint, unless the run may be reused and
 * its plan reads its files (tables, `planReadsFiles`): then the fingerprint is looked up first. A run
 * reused records no plan (the manifest a shared listing wrote is left unread).
 */
async function planFresh(store: Storage, run: RunRecord): Promise<{ check: ReuseCheck; plan: Plan }> {
  // A run canceled while it is planned: the plan stops (a big table's takes minutes), and nothing
  // of it is written after the run's summary, where a resume would find it.
  const watch = watchEnded(store, run.runId);
  try {
    return await planWatched(store, run, watch.ended);
  } finally {
    watch.stop();
  }
}

async function planWatched(
  store: Storage,
  run: RunRecord,
  stopped: () => boolean,
): Promise<{ check: ReuseCheck; plan: Plan }> {
  const s = run.settings;
  const kind = datasetKindOf(s.input);
  const plan = (listed?: (entry: VersionedItem) => void) =>
    kind.plan(store, run.runId, s.input, s.mini_batch_size, listed, stopped);
  let check: ReuseCheck;
  let planned: Plan;
  if (s.allow_reuse && kind.planReadsFiles) {
    check = await checkReuse(store, run);
    if (check.reusedFrom) return { check, plan: NOTHING };
    planned = await plan();
  } else {
    const listing = new ListingHasher();
    planned = await plan(listing.add);
    if (stopped()) throw planStopped(run.runId);
    check = await checkReuse(store, run, listing.result());
    if (check.reusedFrom) return { check, plan: NOTHING };
  }
  if (stopped()) throw planStopped(run.runId);
  await recordPlan(store, run.runId, planned);
  return { check, plan: planned };
}

async function planResume(
  store: Storage,
  run: RunRecord,
  resumeOf: string,
): Promise<{ check: ReuseCheck; plan: Plan | CarriedPlan }> {
  const check = await checkReuse(store, run);
  return { check, plan: check.refused ? NOTHING : await carryOver(store, resumeOf, run.runId) };
}

register(activities.plan, planRun);
