import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SETTING } from '../config/app-settings.js';
import { storageFromEnv } from '../storage/storage.js';
import { listFiles } from './files.js';

async function collect(names: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const name of names) out.push(name);
  return out;
}

describe('a local folder dataset', () => {
  const storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  const root = mkdtempSync(path.join(os.tmpdir(), 'local-dataset-'));
  const before = process.env[SETTING.localData];
  // Names where a folder-by-folder order and the whole name's order disagree: '-', '.' and ' ' sort before '/'.
  const names = [
    'a/x.txt',
    'a.txt',
    'a-b.txt',
    'a b.txt',
    'a/y/z.txt',
    'a0.txt',
    'B.txt',
    'b.txt',
    'a/y.txt',
  ];

  beforeAll(() => {
    process.env[SETTING.localData] = root;
    for (const name of names) {
      mkdirSync(path.dirname(path.join(root, 'data', name)), { recursive: true });
      writeFileSync(path.join(root, 'data', name), name);
    }
  });

  afterAll(() => {
    if (before === undefined) delete process.env.PARALLEL_RUN_LOCAL_DATA;
    else process.env[SETTING.localData] = before;
    rmSync(root, { recursive: true, force: true });
  });

  it('lists its files in the order a blob listing gives the same names', async () => {
    const container = storage.blobs.getContainerClient(
      `local-order-${Math.random().toString(36).slice(2, 10)}`,
    );
    await container.create();
    for (const name of names) await container.getBlockBlobClient(name).upload(name, name.length);

    const local = await collect(listFiles(storage, { type: 'files', local_path: 'data' }));
    const blobs = await collect(
      listFiles(storage, { type: 'files', container: container.containerName, path: '' }),
    );

    expect(local).toEqual(blobs);
    expect(local).toEqual([...names].sort());
  });
});
