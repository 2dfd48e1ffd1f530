import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { NotFoundError } from '../errors.js';
import type { RunRecord } from '../runs/record.js';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import { downloadSideInputs } from './pool-downloads.js';
import { removeRunScratch } from './scratch.js';

let storage: Storage;
const container = `side-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  const client = storage.blobs.getContainerClient(container);
  await client.create();
  await client.getBlockBlobClient('labels.txt').upload('a b', 3);
});

function runWith(sideInputs: Record<string, { container: string; path: string }>): RunRecord {
  const runId = `side-test-${randomBytes(4).toString('hex')}`;
  return { runId, settings: { side_inputs: sideInputs } } as unknown as RunRecord;
}

describe('side inputs a pool downloads', () => {
  it('gives each its local file', async () => {
    const run = runWith({ labels: { container, path: 'labels.txt' } });
    try {
      const local = await downloadSideInputs(storage, run);
      expect(await readFile(local.labels ?? '', 'utf8')).toBe('a b');
    } finally {
      await removeRunScratch(run.runId);
    }
  });

  it('names the side input that is gone since submit, and where it was', async () => {
    const run = runWith({
      labels: { container, path: 'labels.txt' },
      vocabulary: { container, path: 'gone/vocabulary.txt' },
    });
    try {
      const failure = await downloadSideInputs(storage, run).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(NotFoundError);
      expect((failure as NotFoundError).field).toBe('side_inputs.vocabulary');
      expect((failure as Error).message).toBe(
        `side_inputs.vocabulary: nothing at ${container}/gone/vocabulary.txt any more (deleted since the run was submitted?): the script's init() cannot be given it`,
      );
    } finally {
      await removeRunScratch(run.runId);
    }
  });
});
