import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { AccountSASPermissions } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SETTING } from '../config/app-settings.js';
import { containers, runPaths } from '../storage/layout.js';
import { readJson, storageFromEnv } from '../storage/storage.js';
import { planFileDataset, SHARD_SIZE, type ManifestShard } from './plan.js';

describe('planning many shards', () => {
  const storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  const root = mkdtempSync(path.join(os.tmpdir(), 'plan-shards-'));
  const before = process.env[SETTING.localData];
  // Six shards of one-file mini-batches, the last one short: more than the writes kept in flight.
  const files = Array.from({ length: SHARD_SIZE * 5 + 17 }, (_, i) => `f${String(i).padStart(5, '0')}.txt`);

  beforeAll(() => {
    process.env[SETTING.localData] = root;
    mkdirSync(path.join(root, 'data'));
    for (const name of files) writeFileSync(path.join(root, 'data', name), name);
  });

  afterAll(() => {
    if (before === undefined) delete process.env.PARALLEL_RUN_LOCAL_DATA;
    else process.env[SETTING.localData] = before;
    rmSync(root, { recursive: true, force: true });
  });

  it('writes every shard, in order, each item once, before the plan returns', async () => {
    const runId = `plan-${randomUUID()}`;
    const plan = await planFileDataset(storage, runId, { type: 'files', local_path: 'data' }, 1);
    expect(plan.items).toBe(files.length);
    expect(plan.shards.map((s) => [s.shard, s.first, s.count])).toEqual([
      [0, 0, SHARD_SIZE],
      [1, SHARD_SIZE, SHARD_SIZE],
      [2, SHARD_SIZE * 2, SHARD_SIZE],
      [3, SHARD_SIZE * 3, SHARD_SIZE],
      [4, SHARD_SIZE * 4, SHARD_SIZE],
      [5, SHARD_SIZE * 5, 17],
    ]);
    const runs = storage.blobs.getContainerClient(containers.runs);
    const read: string[] = [];
    for (const ref of plan.shards) {
      const shard = await readJson<ManifestShard>(runs, runPaths.manifestShard(runId, ref.shard));
      expect(shard?.first).toBe(ref.first);
      read.push(...(shard?.miniBatches.flat() ?? []));
    }
    expect(read).toEqual(files);
  });

  it('fails when a shard cannot be written, naming why, with writes still in flight', async () => {
    // A read-only SAS: the listing is local, every manifest write is refused (403, not retried).
    const sas = storage.blobs.generateAccountSasUrl(
      new Date(Date.now() + 3_600_000),
      AccountSASPermissions.parse('rl'),
      'sco',
    );
    const endpoints = inject('storage')
      .split(';')
      .filter((part) => /^(Blob|Queue|Table)Endpoint=/.test(part));
    const readOnly = storageFromEnv({
      AzureWebJobsStorage: [...endpoints, `SharedAccessSignature=${new URL(sas).search.slice(1)}`].join(';'),
    });
    const planned = planFileDataset(
      readOnly,
      `plan-${randomUUID()}`,
      { type: 'files', local_path: 'data' },
      1,
    );
    await expect(planned).rejects.toMatchObject({ statusCode: 403 });
  });
});
