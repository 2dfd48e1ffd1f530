import type { RunSettings } from '../config/settings.js';
import { NotFoundError } from '../errors.js';
import type { ManifestShard } from '../datasets/plan.js';
import { containers, runPaths } from '../storage/layout.js';
import { readJson, type Storage } from '../storage/storage.js';

/** `runs/<runId>/run.json`: the resolved settings a run was started with. */
export interface RunRecord {
  runId: string;
  settings: RunSettings;
  createdTime: string;
  /**
   * Each model in `settings.models` as resolved at submission (`mnist` → `mnist:3`): every process of
   * the run loads those versions, whatever is registered later. Absent in records from before pinning.
   */
  models?: Record<string, string>;
  /** Set on a resume (POST /api/runs/{id}/resume): the Failed or Canceled run whose succeeded mini-batches it keeps. */
  resumeOf?: string;
  source:
    | { kind: 'api' }
    | { kind: 'pipeline'; pipeline: string; parameters: Record<string, unknown> }
    | {
        /** Started by files dropped into the pipeline's inbox (core/inbox): which, how many, from when to when. */
        kind: 'inbox';
        pipeline: string;
        batch: number;
        files: number;
        from: string;
        to: string;
        /** The names it took, one JSON string per line (its `input.names_from`). */
        manifest: { container: string; path: string };
      };
}

const runsCache = new Map<string, RunRecord>();
const shardCache = new Map<string, ManifestShard>();

function runsContainer(storage: Storage) {
  return storage.blobs.getContainerClient(containers.runs);
}

/** A run's settings; they never change once written, so each process reads them once. */
export async function loadRun(storage: Storage, runId: string): Promise<RunRecord> {
  const cached = runsCache.get(runId);
  if (cached) return cached;
  const record = await readJson<RunRecord>(runsContainer(storage), runPaths.settings(runId));
  if (!record) throw new NotFoundError(`run '${runId}' has no run.json`);
  runsCache.set(runId, record);
  return record;
}

/** The item names of one mini-batch, from its manifest shard (the last few shards stay cached). */
export async function miniBatchItems(
  storage: Storage,
  runId: string,
  shard: number,
  index: number,
): Promise<string[]> {
  const key = `${runId}/${shard}`;
  let manifest = shardCache.get(key);
  if (!manifest) {
    manifest = await readJson<ManifestShard>(runsContainer(storage), runPaths.manifestShard(runId, shard));
    if (!manifest) throw new NotFoundError(`run '${runId}' has no manifest shard ${shard}`);
    shardCache.set(key, manifest);
    if (shardCache.size > 8) shardCache.delete(shardCache.keys().next().value ?? key);
  }
  const items = manifest.miniBatches[index - manifest.first];
  if (!items)
    throw new NotFoundError(`mini-batch ${index} is not in manifest shard ${shard} of run '${runId}'`);
  return items;
}
