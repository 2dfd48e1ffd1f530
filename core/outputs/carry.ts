import type { ListedBlob } from '../storage/list-blobs.js';
import type { ManifestShard, Plan, ShardRef } from '../datasets/plan.js';
import { ParallelRunError } from '../errors.js';
import { containers, runPaths } from '../storage/layout.js';
import { listParts, type ListedPart } from './part-listing.js';
import { readJson, writeJson, type Storage } from '../storage/storage.js';
import { urlSigner } from './compose.js';

/**
 * The mini-batches of one shard that a resume keeps: a bitmap (bit i: the shard's i-th mini-batch,
 * base64, 32 bytes for a shard of 250) and their counts. Compact enough for orchestration history.
 */
export interface ReusedMiniBatches {
  bitmap: string;
  miniBatches: number;
  items: number;
}

export type CarriedShard = ShardRef & { reused?: ReusedMiniBatches };

export interface CarriedPlan extends Omit<Plan, 'shards'> {
  shards: CarriedShard[];
  reused: { miniBatches: number; items: number };
}

/** Parts copied at once (server-side copies: no bytes pass through the function). */
const COPIES_IN_FLIGHT = 16;

function runsOf(storage: Storage) {
  return storage.blobs.getContainerClient(containers.runs);
}

/** Records what a run was planned as, so that a resume of it plans exactly the same. */
export async function recordPlan(storage: Storage, runId: string, plan: Plan): Promise<void> {
  await writeJson(runsOf(storage), runPaths.plan(runId), plan);
}

export async function readPlan(storage: Storage, runId: string): Promise<Plan | undefined> {
  return readJson<Plan>(runsOf(storage), runPaths.plan(runId));
}

function encodeBitmap(bits: number[], count: number): string {
  const bytes = Buffer.alloc(Math.ceil(count / 8));
  for (const i of bits) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (1 << (i & 7));
  return bytes.toString('base64');
}

/** The parts of `runId` whose mini-batches succeeded whole (no failed item), in index order. */
async function* succeededParts(storage: Storage, runId: string): AsyncGenerator<ListedPart> {
  for await (const part of listParts(storage, runId)) if (part.failed === 0) yield part;
}

/**
 * A resume's plan: `to` gets `from`'s manifest, shard by shard (the same mini-batches under the same
 * indexes), and a server-side copy of the part of every mini-batch that succeeded in `from` (metadata
 * `reused_from`), so its output is composed as if one run had done it all. Returns the plan with, per
 * shard, the mini-batches kept; only the others are scheduled. Memory: one manifest shard at a time.
 * Running it again copies the same parts to the same names.
 */
export async function carryOver(storage: Storage, from: string, to: string): Promise<CarriedPlan> {
  const plan = await readPlan(storage, from);
  if (!plan) {
    throw new ParallelRunError('CONFLICT', `run '${from}' has no plan.json: it cannot be resumed`);
  }
  const runs = runsOf(storage);
  const sign = urlSigner(storage.blobs);
  const parts = succeededParts(storage, from);
  let next = await parts.next();
  const shards: CarriedShard[] = [];
  const reused = { miniBatches: 0, items: 0 };
  for (const ref of plan.shards) {
    const manifest = await readJson<ManifestShard>(runs, runPaths.manifestShard(from, ref.shard));
    if (!manifest)
      throw new ParallelRunError('CONFLICT', `run '${from}' has lost manifest shard ${ref.shard}`);
    await writeJson(runs, runPaths.manifestShard(to, ref.shard), manifest);
    const kept: number[] = [];
    const copies: Promise<void>[] = [];
    let items = 0;
    while (!next.done && next.value.first < ref.first + ref.count) {
      const { first, last, blob } = next.value;
      next = await parts.next();
      if (first < ref.first) continue;
      // A group's part covers several mini-batches, all of this shard (a group never crosses one).
      for (let index = first; index <= last; index++) {
        kept.push(index - ref.first);
        items += manifest.miniBatches[index - ref.first]?.length ?? 0;
      }
      const copy = copyPart(storage, sign, blob, runPaths.part(to, first), from);
      copy.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
      copies.push(copy);
      if (copies.length >= COPIES_IN_FLIGHT) await Promise.all(copies.splice(0));
    }
    await Promise.all(copies);
    reused.miniBatches += kept.length;
    reused.items += items;
    shards.push(
      kept.length > 0
        ? { ...ref, reused: { bitmap: encodeBitmap(kept, ref.count), miniBatches: kept.length, items } }
        : ref,
    );
  }
  await recordPlan(storage, to, plan);
  return { items: plan.items, miniBatches: plan.miniBatches, shards, reused };
}

/** A server-side copy that keeps what finalize reads from the part (rows, its range, columns). */
async function copyPart(
  storage: Storage,
  sign: ReturnType<typeof urlSigner>,
  source: ListedBlob,
  target: string,
  from: string,
): Promise<void> {
  const runs = runsOf(storage);
  const poller = await runs
    .getBlockBlobClient(target)
    .beginCopyFromURL(await sign(runs.getBlobClient(source.name)), {
      metadata: { ...source.metadata, failed: '0', reused_from: from },
    });
  await poller.pollUntilDone();
}
