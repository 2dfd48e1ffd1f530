import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseRunSettings } from '../config/settings.js';
import type { RunRecord } from '../runs/record.js';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import { processRunScratch } from './paths.js';
import { endRun, runOnPool } from './pools.js';

let storage: Storage;
const container = `pools-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  await storage.blobs.getContainerClient(container).create();
});

describe("a run's pool on this instance", () => {
  it('that cannot start (a side input gone since submit) says which, and its scratch goes with the run', async () => {
    const settings = parseRunSettings({
      entry_script: 'digit_identification.ts',
      source_directory: 'mnist',
      input: { container, path: 'images/' },
      side_inputs: { vocabulary: { container, path: 'gone/vocabulary.txt' } },
      process_count_per_node: 1,
    });
    const run = {
      runId: `pools-test-${randomBytes(4).toString('hex')}`,
      settings,
      createdTime: new Date().toISOString(),
      source: { kind: 'api' },
    } satisfies RunRecord;
    await expect(runOnPool(storage, run, { inputs: [], miniBatchIndex: 0 })).rejects.toThrow(
      `side_inputs.vocabulary: nothing at ${container}/gone/vocabulary.txt any more`,
    );
    // What the pool had made for the run before the download failed.
    expect(existsSync(processRunScratch(run.runId))).toBe(true);
    await endRun(run.runId);
    expect(existsSync(processRunScratch(run.runId))).toBe(false);
  });
});
