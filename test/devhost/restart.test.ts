import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, inject, it, vi } from 'vitest';
import { call, spawnDevHost, startOrchestration, uniqueNames, waitForInstance } from '../support/devhost.js';

describe('kill -9 and restart', () => {
  it('finishes every in-flight instance with the result of an uninterrupted run', async () => {
    const storage = inject('storage');
    const names = uniqueNames();
    const first = await spawnDevHost({ storage, names });

    const fanOut = await startOrchestration(first, 'slowFanOut', 40);
    const events = await startOrchestration(first, 'twoEvents');
    const race = await startOrchestration(first, 'race', 600_000);
    await first.waitForLine(new RegExp(`Functions\\.twoEvents' \\(Succeeded.*Instance=${events}`));
    await first.waitForLine(new RegExp(`Functions\\.race' \\(Succeeded.*Instance=${race}`));
    expect(
      (await call(first.baseUrl, 'POST', `/api/raise/${events}/a`, JSON.stringify('before'))).status,
    ).toBe(202);
    // Kill while the fan-out is part-way: some activities done, some running, most not started.
    await first.waitForLine(/Executed 'Functions\.slowWork' \(Succeeded/, { count: 8 });
    await first.kill('SIGKILL');

    const second = await spawnDevHost({ storage, names });
    try {
      expect(second.lines.some((l) => /Host started: .* 3 unfinished instance\(s\) resumed/.test(l))).toBe(
        true,
      );
      const fanOutStatus = await waitForInstance(second, fanOut);
      expect(fanOutStatus.runtimeStatus).toBe('Completed');
      expect(fanOutStatus.output).toBe(
        Array.from({ length: 40 }, (_, i) => i * i).reduce((a, b) => a + b, 0),
      );

      await call(second.baseUrl, 'POST', `/api/raise/${events}/b`, JSON.stringify('after'));
      expect((await waitForInstance(second, events)).output).toEqual(['before', 'after']);

      await call(second.baseUrl, 'POST', `/api/raise/${race}/approve`, JSON.stringify('late'));
      expect((await waitForInstance(second, race)).output).toEqual({
        outcome: 'approved:"late"',
        after: 8,
        timerCanceled: true,
      });
    } finally {
      await second.kill();
    }
  });

  it('hands each blob to its trigger exactly once across a restart', async () => {
    const storage = inject('storage');
    const names = uniqueNames();
    const blobs = BlobServiceClient.fromConnectionString(storage);
    const inbox = blobs.getContainerClient(names.inbox);
    const results = blobs.getContainerClient(names.results);
    const count = async (prefix: string) => {
      let n = 0;
      if (!(await results.exists())) return 0;
      for await (const b of results.listBlobsFlat({ prefix })) n += b.name ? 1 : 0;
      return n;
    };
    const allOnce = async (files: string[]) => {
      for (const f of files) expect(await count(`blob/${f}/`)).toBe(1);
    };

    const receiptsOf = async (files: string[]) => {
      const receipts = blobs.getContainerClient('azure-webjobs-hosts');
      if (!(await receipts.exists())) return 0;
      let n = 0;
      for await (const r of receipts.listBlobsFlat({ prefix: 'blobreceipts/devhost/' }))
        if (r.name.includes(`/${names.inbox}/`) && files.some((f) => r.name.endsWith(`/${f}`))) n++;
      return n;
    };

    const first = await spawnDevHost({ storage, names });
    await inbox.createIfNotExists();
    const early = ['a.bin', 'b.bin', 'c.bin'];
    for (const f of early) await inbox.getBlockBlobClient(f).upload('data', 4);
    await vi.waitFor(() => allOnce(early), { timeout: 20_000, interval: 100 });
    // Handled is not yet done: a blob's receipt follows its function's end, and a kill between the two
    // hands it over again (at least once, as in Azure). Killed once every early blob has its receipt.
    await vi.waitFor(async () => expect(await receiptsOf(early)).toBe(early.length), {
      timeout: 20_000,
      interval: 100,
    });
    await first.kill('SIGKILL');

    const second = await spawnDevHost({ storage, names });
    try {
      const late = ['d.bin', 'e.bin'];
      for (const f of late) await inbox.getBlockBlobClient(f).upload('data', 4);
      await vi.waitFor(() => allOnce(late), { timeout: 20_000, interval: 100 });
      // The second host has scanned the whole inbox since it handled the late blobs; the early ones stay at one.
      await allOnce([...early, ...late]);
    } finally {
      await second.kill();
    }
  });
});
