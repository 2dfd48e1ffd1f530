import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { containers, runPaths } from '../storage/layout.js';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import { endedElsewhere, hasEnded, NOT_ENDED_FOR_MS, watchEnded } from './ended-runs.js';

let storage: Storage;

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  await storage.blobs.getContainerClient(containers.runs).createIfNotExists();
});

const writeSummary = (runId: string) =>
  storage.blobs
    .getContainerClient(containers.runs)
    .getBlockBlobClient(runPaths.summary(runId))
    .upload('{}', 2);

describe('endedElsewhere (real Azurite)', () => {
  it("reads a run's summary at most once per interval while the run goes on, then knows it ended", async () => {
    const runId = `ended-${randomBytes(4).toString('hex')}`;
    const t0 = 1_000_000;
    expect(await endedElsewhere(storage, runId, { now: t0 })).toBe(false);
    await writeSummary(runId);
    // Within the interval the last answer stands: no read per heartbeat.
    expect(await endedElsewhere(storage, runId, { now: t0 + NOT_ENDED_FOR_MS - 1 })).toBe(false);
    expect(hasEnded(runId)).toBe(false);
    // After it, the summary is read again, and the run is known to have ended from then on.
    expect(await endedElsewhere(storage, runId, { now: t0 + NOT_ENDED_FOR_MS })).toBe(true);
    expect(hasEnded(runId)).toBe(true);
    expect(await endedElsewhere(storage, runId, { now: t0 })).toBe(true);
  });

  it('watches a run: ended() turns true once its summary is written, and stays so', async () => {
    const runId = `ended-${randomBytes(4).toString('hex')}`;
    const watch = watchEnded(storage, runId, 20);
    try {
      expect(watch.ended()).toBe(false);
      await writeSummary(runId);
      await expect.poll(() => watch.ended(), { timeout: 10_000, interval: 20 }).toBe(true);
      expect(watch.ended()).toBe(true);
    } finally {
      watch.stop();
    }
  });

  it('reads the summary again when asked for a fresh answer', async () => {
    const runId = `ended-${randomBytes(4).toString('hex')}`;
    expect(await endedElsewhere(storage, runId, { now: 1_000_000 })).toBe(false);
    await writeSummary(runId);
    expect(await endedElsewhere(storage, runId, { now: 1_000_000, fresh: true })).toBe(true);
  });
});
