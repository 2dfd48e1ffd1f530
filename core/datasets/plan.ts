import { ParallelRunError } from '../errors.js';
import { InFlight } from '../storage/in-flight.js';
import { containers, runPaths } from '../storage/layout.js';
import { ensureContainer, writeJson, type Storage } from '../storage/storage.js';
import { emptyDatasetError, listFileVersions, type FileDataset } from './files.js';
import type { VersionedItem } from './listing.js';

/**
 * Mini-batches per manifest shard and per shard sub-orchestration. Each episode replays its shard's
 * history, so a shard's cost grows with the square of its size: 250 keeps replays cheap, and the
 * run's own history small (one sub-orchestration per 250 mini-batches).
 */
export const SHARD_SIZE = 250;

export interface ShardRef {
  shard: number;
  /** Index of the shard's first mini-batch. */
  first: number;
  count: number;
}

export interface Plan {
  /** Items of the manifest: files, or for tables byte and row ranges. */
  items: number;
  miniBatches: number;
  shards: ShardRef[];
  /** Tables: the rows are counted by the tries that read them, so progress goes by mini-batches. */
  itemsCountedByTries?: true;
}

export interface ManifestShard {
  shard: number;
  first: number;
  /** Item names (relative to the dataset root) of each mini-batch. */
  miniBatches: string[][];
}

/**
 * The local file an item becomes in its mini-batch's folder, as the runner writes it (core/datasets/materialize.ts
 * `localPathFor`: empty, "." and ".." segments dropped), lowercased for case-insensitive disks.
 */
function localKey(name: string): string {
  const segments = name
    .toLowerCase()
    .split('/')
    .filter((s) => s !== '' && s !== '.' && s !== '..');
  return segments.length === 0 ? '_' : segments.join('/');
}

/**
 * The local files and folders of one mini-batch's items. A blob `a` beside `a/b` (a file where the other
 * needs a folder), or `a//b` beside `a/b` (one file for two items), cannot share a mini-batch folder:
 * the later item starts a new mini-batch instead, so neither fails.
 */
class LocalNames {
  private readonly files = new Set<string>();
  private readonly folders = new Set<string>();

  clashes(name: string): boolean {
    const key = localKey(name);
    if (this.files.has(key) || this.folders.has(key)) return true;
    for (let i = key.indexOf('/'); i !== -1; i = key.indexOf('/', i + 1))
      if (this.files.has(key.slice(0, i))) return true;
    return false;
  }

  add(name: string): void {
    const key = localKey(name);
    this.files.add(key);
    for (let i = key.indexOf('/'); i !== -1; i = key.indexOf('/', i + 1)) this.folders.add(key.slice(0, i));
  }

  clear(): void {
    this.files.clear();
    this.folders.clear();
  }
}

/** Manifest shards written at once while the listing goes on: planning is not one round trip per shard. */
const SHARD_WRITES_IN_FLIGHT = 4;

/**
 * Writes a plan's mini-batches as manifest shards of SHARD_SIZE, as they come, a few writes in flight
 * while the listing goes on (10 million files at "5" are 8,000 shards: one after another, minutes of
 * round trips). Memory holds the shard being filled and those being written; only counts and shard
 * refs are kept, for the Plan. A failed write fails the plan at the next shard or at `finish`.
 */
export class ManifestWriter {
  private readonly shards: ShardRef[] = [];
  private current: ManifestShard = { shard: 0, first: 0, miniBatches: [] };
  private items = 0;
  private readonly writes = new InFlight(SHARD_WRITES_IN_FLIGHT);

  constructor(
    private readonly storage: Storage,
    private readonly runId: string,
  ) {}

  async add(batch: string[]): Promise<void> {
    if (batch.length === 0) return;
    this.current.miniBatches.push(batch);
    this.items += batch.length;
    if (this.current.miniBatches.length === SHARD_SIZE) await this.flushShard();
  }

  /** Writes the last shard and waits for every write; the plan's items are the manifest's. */
  async finish(): Promise<Plan> {
    await this.flushShard();
    await this.writes.drain();
    return {
      items: this.items,
      miniBatches: this.shards.reduce((n, s) => n + s.count, 0),
      shards: this.shards,
    };
  }

  private async flushShard(): Promise<void> {
    const current = this.current;
    if (current.miniBatches.length === 0) return;
    await this.writes.add(() => this.write(current));
    this.shards.push({ shard: current.shard, first: current.first, count: current.miniBatches.length });
    this.current = {
      shard: current.shard + 1,
      first: current.first + current.miniBatches.length,
      miniBatches: [],
    };
  }

  private async write(shard: ManifestShard): Promise<void> {
    const runs = await ensureContainer(this.storage.blobs.getContainerClient(containers.runs));
    await writeJson(runs, runPaths.manifestShard(this.runId, shard.shard), shard);
  }
}

/** A plan given up because its run ended while it was planned (`DatasetKind.plan`'s `stopped`). */
export function planStopped(runId: string): ParallelRunError {
  return new ParallelRunError('CONFLICT', `run '${runId}' ended while it was planned: its plan was given up`);
}

/**
 * Cuts the dataset into mini-batches of `filesPerBatch` files (fewer where two items would clash on
 * the local disk, see LocalNames) and writes the manifest in shards of
 * SHARD_SIZE mini-batches. Only counts and shard ids come back: the item list never enters history.
 * It reads the versioned listing, handing each entry to `listed` (the run's fingerprint).
 */
export async function planFileDataset(
  storage: Storage,
  runId: string,
  input: FileDataset,
  filesPerBatch: number,
  listed?: (entry: VersionedItem) => void,
  stopped: () => boolean = () => false,
): Promise<Plan> {
  const manifest = new ManifestWriter(storage, runId);
  let batch: string[] = [];
  const local = new LocalNames();
  const closeBatch = async () => {
    await manifest.add(batch);
    batch = [];
    local.clear();
  };
  for await (const entry of listFileVersions(storage, input)) {
    if (stopped()) throw planStopped(runId);
    listed?.(entry);
    const name = entry.item;
    if (local.clashes(name)) await closeBatch();
    batch.push(name);
    local.add(name);
    if (batch.length === filesPerBatch) await closeBatch();
  }
  await closeBatch();
  const plan = await manifest.finish();
  if (plan.items === 0) throw emptyDatasetError(input);
  return plan;
}
