import { beforeAll, describe, expect, inject, it } from 'vitest';
import { containers, runPaths } from '../storage/layout.js';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import { ScriptLog } from './script-log.js';

let storage: Storage;

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  await storage.blobs.getContainerClient(containers.runs).createIfNotExists();
});

async function userLog(runId: string): Promise<string> {
  const blob = storage.blobs.getContainerClient(containers.runs).getBlobClient(runPaths.scriptLog(runId));
  return (await blob.downloadToBuffer()).toString('utf8');
}

describe("a run's user.log", () => {
  it('keeps the first 64 MiB a try printed, in order, in blocks, and says how many lines it left out', async () => {
    const runId = `script-log-${Date.now()}`;
    const log = new ScriptLog(storage, runId);
    const printed = 1_000_000; // about 130 MB: more than one append block may hold (100 MiB)
    const echo = console.log;
    console.log = () => undefined;
    try {
      for (let i = 0; i < printed; i++) log.add(0, 'INFO', `line ${i} ${'x'.repeat(80)}`);
    } finally {
      console.log = echo;
    }
    await log.flush();
    const lines = (await userLog(runId)).split('\n').filter((l) => l !== '');
    const note = lines.pop() ?? '';
    const kept = lines.map((l) => Number(/ line (\d+) /.exec(l)?.[1]));
    expect(kept.length).toBeGreaterThan(400_000);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => i));
    expect(note).toContain(`parallel-run: ${printed - kept.length} more lines were printed and not kept`);
  }, 120_000);
});
