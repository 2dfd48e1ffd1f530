import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MiniBatchSize } from '../config/settings.js';
import { ParallelRunError } from '../errors.js';
import { containers, runPaths } from '../storage/layout.js';
import { readJson, type Storage } from '../storage/storage.js';
import type { DatasetInput, DatasetKind, ManifestShard, VersionedItem } from './kind.js';

/** What a kind's conformance test provides: a dataset with known items, on a given storage. */
export interface ConformanceFixture<I extends DatasetInput> {
  storage: Storage;
  /** A dataset holding exactly `items`, listed in this order. */
  dataset: I;
  items: string[];
  /** Cuts `items` into `miniBatches` mini-batches (more than one). */
  size: MiniBatchSize;
  miniBatches: number;
  /** Datasets validate must refuse (missing, empty), each with the field its error must name. */
  refused: { what: string; input: I; field: string }[];
  /** Deletes one item of `dataset` from storage, as if it vanished after planning. */
  remove(item: string): Promise<void>;
  /** The names materialize gives the inputs of `items`, in order (files: the items; tables: their rows). */
  inputNames(items: string[]): string[];
  /** The name the error line of a vanished item carries. */
  vanishedName(item: string): string;
  /** Checks one input as run() gets it (files: a local file; tables: a row object). */
  checkInput(input: unknown): Promise<void>;
  /** What `listing` names, in order, when not `items` (tables: their files, whose ranges are the items). */
  listed?: string[];
}

/**
 * The conformance suite every dataset kind passes (vitest tests, defined where it is called): validate
 * refuses a missing or empty dataset naming the field; plan counts items and mini-batches and writes
 * shards that hold every item exactly once, in order; materialize gives each item's inputs, named,
 * reports a vanished item as missing, and fetches nothing once told to stop.
 */
export function datasetConformance<I extends DatasetInput>(
  name: string,
  kind: DatasetKind<I>,
  fixture: () => Promise<ConformanceFixture<I>>,
): void {
  describe(`dataset kind '${kind.type}' conformance: ${name}`, () => {
    const scratch = () => path.join(os.tmpdir(), 'parallel-run-conformance', randomUUID());

    it('validate accepts the dataset', async () => {
      const f = await fixture();
      const valid = await kind.validate(f.storage, f.dataset);
      expect(valid.type).toBe(f.dataset.type);
    });

    it('validate refuses a missing or empty dataset, naming the field', async () => {
      const f = await fixture();
      expect(f.refused.length).toBeGreaterThan(0);
      for (const refused of f.refused) {
        const err: unknown = await kind.validate(f.storage, refused.input).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, refused.what).toBeInstanceOf(ParallelRunError);
        expect((err as ParallelRunError).field, refused.what).toBe(refused.field);
        expect((err as ParallelRunError).message, refused.what).toContain(refused.field);
      }
    });

    it('plan counts items and mini-batches; its shards hold every item once, in order', async () => {
      const f = await fixture();
      const runId = `conformance-${randomUUID()}`;
      const plan = await kind.plan(f.storage, runId, await kind.validate(f.storage, f.dataset), f.size);
      expect(plan.items).toBe(f.items.length);
      expect(plan.miniBatches).toBe(f.miniBatches);
      expect(plan.shards.reduce((n, s) => n + s.count, 0)).toBe(plan.miniBatches);
      const runs = f.storage.blobs.getContainerClient(containers.runs);
      const read: string[][] = [];
      for (const ref of plan.shards) {
        const shard = await readJson<ManifestShard>(runs, runPaths.manifestShard(runId, ref.shard));
        expect(shard, `manifest shard ${ref.shard}`).toBeDefined();
        expect(shard?.first).toBe(ref.first);
        expect(shard?.first).toBe(read.length);
        expect(shard?.miniBatches.length).toBe(ref.count);
        read.push(...(shard?.miniBatches ?? []));
      }
      expect(read.length).toBe(f.miniBatches);
      for (const batch of read) expect(batch.length).toBeGreaterThan(0);
      expect(read.flat()).toEqual(f.items);
    });

    it('listing streams every item in plan order with a version; a removed item changes it', async () => {
      const f = await fixture();
      const input = await kind.validate(f.storage, f.dataset);
      const read = async () => {
        const listed: VersionedItem[] = [];
        for await (const entry of kind.listing(f.storage, input)) listed.push(entry);
        return listed;
      };
      const before = await read();
      expect(before.map((e) => e.item)).toEqual(f.listed ?? f.items);
      for (const entry of before) expect(entry.version, entry.item).toMatch(/./);
      expect(await read()).toEqual(before);
      await f.remove(f.items[0] ?? '');
      expect(await read()).not.toEqual(before);
    });

    it('plan tells `listed` exactly what listing streams, in order: the fingerprint needs no second listing', async () => {
      const f = await fixture();
      const input = await kind.validate(f.storage, f.dataset);
      const told: VersionedItem[] = [];
      await kind.plan(f.storage, `conformance-${randomUUID()}`, input, f.size, (entry) => told.push(entry));
      const listed: VersionedItem[] = [];
      for await (const entry of kind.listing(f.storage, input)) listed.push(entry);
      expect(told.length).toBeGreaterThan(0);
      expect(told).toEqual(listed);
    });

    it('plan stops, writing no manifest, once `stopped` says its run has ended', async () => {
      const f = await fixture();
      const input = await kind.validate(f.storage, f.dataset);
      const runId = `conformance-${randomUUID()}`;
      let asked = 0;
      const planning = kind.plan(f.storage, runId, input, f.size, undefined, () => ++asked > 0);
      await expect(planning).rejects.toThrow(`run '${runId}' ended while it was planned`);
      await expect(planning).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(asked).toBeGreaterThan(0);
      const runs = f.storage.blobs.getContainerClient(containers.runs);
      expect(await readJson(runs, runPaths.manifestShard(runId, 0))).toBeUndefined();
    });

    it('materialize gives one input per item (or row), named, in order', async () => {
      const f = await fixture();
      const items = f.items.slice(0, 3);
      const got = await kind.materialize(f.storage, f.dataset, items, scratch());
      expect(got.missing).toEqual([]);
      expect(got.names).toEqual(f.inputNames(items));
      expect(got.inputs.length).toBe(got.names.length);
      for (const entry of got.inputs) await f.checkInput(entry);
    });

    it('materialize fetches nothing once told to stop', async () => {
      const f = await fixture();
      const got = await kind.materialize(f.storage, f.dataset, f.items, scratch(), () => true);
      expect(got.inputs).toEqual([]);
    });

    it('materialize reports an item that vanished after planning as missing', async () => {
      const f = await fixture();
      const [gone = '', kept = ''] = f.items;
      await f.remove(gone);
      const got = await kind.materialize(f.storage, f.dataset, [gone, kept], scratch());
      expect(got.names).toEqual(f.inputNames([kept]));
      expect(got.missing).toHaveLength(1);
      expect(got.missing[0]?.item).toBe(f.vanishedName(gone));
      expect(got.missing[0]?.reason).toMatch(/does not exist/);
    });
  });
}
