import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { containers, runPaths } from '../../core/storage/layout.js';
import { uniqueNames } from '../support/devhost.js';
import { runToEnd, startApp, uploadFiles } from '../support/pipeline.js';

/**
 * Small mini-batches tried 25 to an activity (core/runner/execute-group.ts): each still counted,
 * retried and thresholded on its own, every item exactly once, in order, and far fewer parts.
 */
const storage = () => inject('storage');
const container = `groups-${uniqueNames().hub.toLowerCase()}`;
let host: DevHostProcess;

/** 200 files, one mini-batch each, in listing order; every 40th (from the 11th) fails by name. */
const files = Array.from({ length: 200 }, (_, i) => {
  const n = String(i).padStart(3, '0');
  return i % 40 === 10 ? `${n}/bad-${n}.txt` : `${n}/item-${n}.txt`;
});
const leaf = (f: string) => f.slice(f.indexOf('/') + 1);
const bad = files.filter((f) => leaf(f).startsWith('bad-'));
/** One process, two mini-batches in flight: 200 mini-batches make groups of 25. */
const settings = {
  entry_script: 'fail_named.js',
  input: { container, path: 'in/' },
  mini_batch_size: '1',
  node_count: 1,
  process_count_per_node: 1,
  error_threshold: -1,
};

beforeAll(async () => {
  await uploadFiles(storage(), container, 'in/', files);
  host = await startApp(storage());
});

afterAll(async () => {
  await host.kill();
});

async function partsOf(runId: string): Promise<number> {
  const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient(containers.runs);
  let parts = 0;
  for await (const blob of runs.listBlobsFlat({ prefix: runPaths.partsPrefix(runId) }))
    if (blob.name) parts++;
  return parts;
}

describe('small mini-batches tried together', () => {
  it('write every item once, in order, each failure once, with one try per mini-batch and few parts', async () => {
    const run = await runToEnd(host, settings);
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(files.filter((f) => !bad.includes(f)).map((f) => `${leaf(f)}: ok`));
    expect(run.errors.map((e) => e.item).sort()).toEqual(bad.sort());
    expect(run.view.summary?.totals).toMatchObject({
      items: 200,
      miniBatches: 200,
      itemsSucceeded: 195,
      itemsFailed: 5,
      miniBatchesSucceeded: 195,
      miniBatchesFailed: 5,
      tries: 200,
    });
    // A mini-batch with a failure stops its group: its clean neighbours share a part, it has its own.
    const parts = await partsOf(run.view.runId);
    expect(parts).toBeGreaterThan(5);
    expect(parts).toBeLessThan(40);
  });

  it("write a group's first try when only it is clean: a range of one is that try's own part", async () => {
    // Groups of two (16 mini-batches, two in flight): the first group's second try fails an item.
    const few = Array.from({ length: 16 }, (_, i) => {
      const n = String(i).padStart(3, '0');
      return i === 1 ? `${n}/bad-${n}.txt` : `${n}/item-${n}.txt`;
    });
    await uploadFiles(storage(), container, 'pair/', few);
    const run = await runToEnd(host, { ...settings, input: { container, path: 'pair/' } });
    expect(run.view.status).toBe('Completed');
    expect(run.output).toEqual(few.filter((_, i) => i !== 1).map((f) => `${leaf(f)}: ok`));
    expect(run.errors.map((e) => e.item)).toEqual(['001/bad-001.txt']);
    expect(run.view.summary?.totals).toMatchObject({ items: 16, itemsSucceeded: 15, itemsFailed: 1 });
  });

  it('stop at the failure that crosses error_threshold, as single tries would', async () => {
    const run = await runToEnd(host, { ...settings, error_threshold: 0 });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toBe('error_threshold crossed: 1 failed items, more than the 0 allowed');
    // The first group meets bad-010 as its 11th try: at most its other lane's try runs after it.
    expect(run.view.summary?.totals.tries).toBeGreaterThanOrEqual(11);
    expect(run.view.summary?.totals.tries).toBeLessThanOrEqual(12);
  });
});
