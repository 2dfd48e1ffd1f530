import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import { materialize } from './materialize.js';

let storage: Storage;
let dir: string;
const container = `materialize-${randomBytes(4).toString('hex')}`;
/** A blob name may be 1,024 characters long; a file name 255 bytes. */
const long = `deep/${'é'.repeat(130)}.txt`;

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  const client = storage.blobs.getContainerClient(container);
  await client.create();
  for (const name of ['a.txt', long])
    await client.getBlockBlobClient(name).upload(name, Buffer.byteLength(name));
  dir = await mkdtemp(path.join(os.tmpdir(), 'materialize-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('materialize (blob files)', () => {
  it('fails a blob whose name cannot be a local file name as missing, saying why, and fetches the rest', async () => {
    const got = await materialize(storage, { type: 'files', container, path: '' }, [long, 'a.txt'], dir);
    expect(got.paths[0]).toBeUndefined();
    expect(await readFile(got.paths[1] ?? '', 'utf8')).toBe('a.txt');
    expect(got.missing).toEqual([
      {
        item: long,
        reason: `its name holds a part of 264 bytes ("${'é'.repeat(24)}…"), and a local file name holds at most 255: run() cannot be given it as a file`,
      },
    ]);
  });

  it("makes its input container's client once, not once per try", async () => {
    let made = 0;
    const blobs = new Proxy(storage.blobs, {
      get(target, key, receiver) {
        if (key === 'getContainerClient') made++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const counted: Storage = { blobs, queues: storage.queues };
    for (let i = 0; i < 3; i++) {
      const got = await materialize(
        counted,
        { type: 'files', container, path: '' },
        ['a.txt'],
        path.join(dir, `${i}`),
      );
      expect(await readFile(got.paths[0] ?? '', 'utf8')).toBe('a.txt');
    }
    expect(made).toBe(1);
  });
});
