import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { storageFromEnv } from '../storage/storage.js';
import { listFolderFiles } from './listing.js';

describe('a blob folder listing', () => {
  it('works through a page in turns of the event loop, not in one', async () => {
    const storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
    const container = storage.blobs.getContainerClient(`turns-${randomBytes(4).toString('hex')}`);
    await container.create();
    const names = Array.from({ length: 600 }, (_, i) => `f/${String(i).padStart(4, '0')}.txt`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((n) => container.getBlockBlobClient(n).upload('x', 1)));
    }
    // Turns the event loop took while the one page (600 files) was read: a for-await that never
    // awaits anything else gives it none of its own.
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    const seen: string[] = [];
    for await (const file of listFolderFiles(storage, { container: container.containerName, path: 'f' })) {
      if (seen.length === 0) {
        turns = 0;
        setImmediate(count);
      }
      seen.push(file.name);
    }
    counting = false;
    expect(seen).toEqual(names.map((n) => n.slice(2)));
    expect(turns).toBeGreaterThanOrEqual(2);
  });
});
