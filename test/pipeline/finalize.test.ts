import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseRunSettings } from '../../core/config/settings.js';
import { finalizeRun } from '../../core/outputs/finalize.js';
import type { ManifestShard } from '../../core/datasets/plan.js';
import type { FailureRecord } from '../../core/outputs/records.js';
import { recordLostMiniBatch } from '../../core/runner/execute.js';
import { containers, runPaths } from '../../core/storage/layout.js';
import { storageFromEnv, type Storage } from '../../core/storage/storage.js';
import { uniqueNames } from '../support/devhost.js';

const runId = `finalize-${uniqueNames().hub.toLowerCase()}`;
let blobs: BlobServiceClient;
let store: Storage;

async function put(name: string, body: string, metadata?: Record<string, string>): Promise<void> {
  await blobs
    .getContainerClient(containers.runs)
    .getBlockBlobClient(name)
    .upload(body, Buffer.byteLength(body), metadata ? { metadata } : {});
}

/** run.json of an append_row run writing `out.txt`: what finalize reads. */
async function putRun(id: string, input: object = { container: 'any', path: '' }): Promise<void> {
  const settings = parseRunSettings({
    entry_script: 'echo.js',
    input,
    append_row_file_name: 'out.txt',
  });
  const record = { runId: id, settings, createdTime: new Date().toISOString(), source: { kind: 'api' } };
  await put(runPaths.settings(id), JSON.stringify(record));
}

beforeAll(async () => {
  process.env.AzureWebJobsStorage = inject('storage');
  blobs = BlobServiceClient.fromConnectionString(inject('storage'));
  store = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  await blobs.getContainerClient(containers.runs).createIfNotExists();
  await putRun(runId);
  // Written out of order on purpose; the second part failed one item, the first none.
  await put(runPaths.part(runId, 1), 'c\n', { failed: '1' });
  await put(runPaths.part(runId, 0), 'a\nb\n', { failed: '0' });
  const real: FailureRecord = {
    index: 1,
    attempts: 1,
    items: [{ item: 'd', error: 'bad d', kind: 'named' }],
  };
  // Left by an earlier run of mini-batch 0's try that failed an item; the part written last says none failed.
  const stale: FailureRecord = {
    index: 0,
    attempts: 1,
    items: [{ item: 'b', error: 'stale', kind: 'named' }],
  };
  await put(runPaths.failure(runId, 1), JSON.stringify(real));
  await put(runPaths.failure(runId, 0), JSON.stringify(stale));
});

describe('finalize', () => {
  it('composes the parts in mini-batch order and leaves stale failure records out of errors.jsonl', async () => {
    const totals = {
      items: 4,
      miniBatches: 2,
      itemsSucceeded: 3,
      itemsFailed: 1,
      miniBatchesSucceeded: 1,
      miniBatchesFailed: 1,
      tries: 2,
    };
    const summary = await finalizeRun(store, {
      runId,
      status: 'Completed',
      totals,
      startedAt: new Date().toISOString(),
    });
    expect(summary).toMatchObject({
      status: 'Completed',
      output: { container: 'outputs', blob: `${runId}/out.txt`, bytes: 6 },
      errors: { lines: 1 },
    });
    const output = await blobs
      .getContainerClient('outputs')
      .getBlobClient(`${runId}/out.txt`)
      .downloadToBuffer();
    expect(output.toString()).toBe('a\nb\nc\n');
    const errors = await blobs
      .getContainerClient(containers.runs)
      .getBlobClient(runPaths.errors(runId))
      .downloadToBuffer();
    expect(
      errors
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([{ item: 'd', mini_batch: 1, attempts: 1, kind: 'named', error: 'bad d' }]);
  });

  it('returns the same summary when it runs again (at-least-once)', async () => {
    const again = await finalizeRun(store, {
      runId,
      status: 'Failed',
      reason: 'should be ignored',
      totals: {
        items: 0,
        miniBatches: 0,
        itemsSucceeded: 0,
        itemsFailed: 0,
        miniBatchesSucceeded: 0,
        miniBatchesFailed: 0,
        tries: 0,
      },
      startedAt: new Date().toISOString(),
    });
    expect(again).toMatchObject({ status: 'Completed', errors: { lines: 1 } });
  });
});

describe('a try the host lost after it had written its rows', () => {
  it('ends as error lines only: its rows leave the output', async () => {
    const lostRun = `${runId}-lost`;
    await putRun(lostRun);
    const manifest: ManifestShard = { shard: 0, first: 0, miniBatches: [['x'], ['y']] };
    await put(runPaths.manifestShard(lostRun, 0), JSON.stringify(manifest));
    await put(runPaths.part(lostRun, 0), 'x: ok\n', { failed: '0' });
    // Mini-batch 1's last try wrote its part, then the host lost the activity.
    await put(runPaths.part(lostRun, 1), 'y: ok\n', { failed: '0' });
    await recordLostMiniBatch(store, {
      runId: lostRun,
      shard: 0,
      index: 1,
      attempt: 3,
      error: 'host lost it',
    });
    const summary = await finalizeRun(store, {
      runId: lostRun,
      status: 'Completed',
      totals: {
        items: 2,
        miniBatches: 2,
        itemsSucceeded: 1,
        itemsFailed: 1,
        miniBatchesSucceeded: 1,
        miniBatchesFailed: 1,
        tries: 4,
      },
      startedAt: new Date().toISOString(),
    });
    expect(summary).toMatchObject({ errors: { lines: 1 } });
    const output = await blobs
      .getContainerClient('outputs')
      .getBlobClient(`${lostRun}/out.txt`)
      .downloadToBuffer();
    expect(output.toString()).toBe('x: ok\n');
  });
});

describe("a table's try the host lost", () => {
  it('names its ranges as error lines name them, without the version the manifest keeps', async () => {
    const lostRun = `${runId}-lost-table`;
    await putRun(lostRun, { type: 'table', container: 'any', path: 'rows/' });
    const manifest: ManifestShard = {
      shard: 0,
      first: 0,
      miniBatches: [['a.csv#bytes=0-10&etag=0x8DC1', 'a.csv#bytes=10-20&etag=0x8DC1']],
    };
    await put(runPaths.manifestShard(lostRun, 0), JSON.stringify(manifest));
    await recordLostMiniBatch(store, {
      runId: lostRun,
      shard: 0,
      index: 0,
      attempt: 3,
      error: 'host lost it',
    });
    await finalizeRun(store, {
      runId: lostRun,
      status: 'Completed',
      totals: {
        items: 2,
        miniBatches: 1,
        itemsSucceeded: 0,
        itemsFailed: 2,
        miniBatchesSucceeded: 0,
        miniBatchesFailed: 1,
        tries: 3,
      },
      startedAt: new Date().toISOString(),
    });
    const lines = (
      await blobs
        .getContainerClient(containers.runs)
        .getBlobClient(runPaths.errors(lostRun))
        .downloadToBuffer()
    )
      .toString()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { item: string }).item);
    expect(lines).toEqual(['a.csv#bytes=0-10', 'a.csv#bytes=10-20']);
  });
});

describe("a group's part, covering several consecutive mini-batches", () => {
  it('is composed once, and an older single part inside its range is left out', async () => {
    const groupRun = `${runId}-group`;
    await putRun(groupRun);
    // Mini-batches 0-2 as one group's part; an earlier run of the same group wrote mini-batch 1 alone.
    await put(runPaths.part(groupRun, 0), 'a\nb\nc\n', { failed: '0', rows: '3', last: '2' });
    await put(runPaths.part(groupRun, 1), 'stale b\n', { failed: '0', rows: '1' });
    await put(runPaths.part(groupRun, 3), 'd\n', { failed: '0', rows: '1' });
    // The earlier run also failed mini-batch 2: its record is stale, as the group's part says.
    const stale: FailureRecord = { index: 2, attempts: 1, items: [{ item: 'c', error: 'old', kind: 'try' }] };
    await put(runPaths.failure(groupRun, 2), JSON.stringify(stale));
    const summary = await finalizeRun(store, {
      runId: groupRun,
      status: 'Completed',
      totals: {
        items: 4,
        miniBatches: 4,
        itemsSucceeded: 4,
        itemsFailed: 0,
        miniBatchesSucceeded: 4,
        miniBatchesFailed: 0,
        tries: 4,
      },
      startedAt: new Date().toISOString(),
    });
    expect(summary).toMatchObject({ status: 'Completed', errors: { lines: 0 } });
    const output = await blobs
      .getContainerClient('outputs')
      .getBlobClient(`${groupRun}/out.txt`)
      .downloadToBuffer();
    expect(output.toString()).toBe('a\nb\nc\nd\n');
  });

  it('counts each of its mini-batches once when a canceled run is counted from storage', async () => {
    const canceledRun = `${runId}-group-canceled`;
    await putRun(canceledRun);
    await put(runPaths.part(canceledRun, 0), 'a\nb\n', { failed: '0', rows: '2', last: '1' });
    await put(runPaths.part(canceledRun, 1), 'stale b\n', { failed: '0', rows: '1' });
    const failed: FailureRecord = {
      index: 2,
      attempts: 3,
      items: [{ item: 'c', error: 'bad', kind: 'try' }],
    };
    await put(runPaths.failure(canceledRun, 2), JSON.stringify(failed));
    const zero = { itemsSucceeded: 0, itemsFailed: 0, miniBatchesSucceeded: 0, miniBatchesFailed: 0 };
    const summary = await finalizeRun(store, {
      runId: canceledRun,
      status: 'Canceled',
      totals: { items: 6, miniBatches: 6, ...zero, tries: 3 },
      startedAt: new Date().toISOString(),
    });
    expect(summary.totals).toMatchObject({
      itemsSucceeded: 2,
      itemsFailed: 1,
      miniBatchesSucceeded: 2,
      miniBatchesFailed: 1,
    });
  });
});
