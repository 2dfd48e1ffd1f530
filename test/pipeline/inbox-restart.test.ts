import { describe, expect, inject, it } from 'vitest';
import { call, uniqueNames } from '../support/devhost.js';
import {
  containerOf,
  drop,
  inboxNames,
  listNames,
  outputOf,
  pipelineRuns,
  settledFiles,
  startInboxApp,
} from '../support/inbox.js';

describe('the inbox across kill -9 and restart', () => {
  it('loses no dropped file when the host dies between the burst and the run start', async () => {
    const storage = inject('storage');
    const names = inboxNames();
    const { hub } = uniqueNames();
    const pipeline = `crash-${hub.toLowerCase()}`;
    const files = Array.from({ length: 20 }, (_, i) => `f ${String(i).padStart(2, '0')} #.txt`);

    const first = await startInboxApp(storage, names, hub);
    const published = await call(first.baseUrl, 'PUT', `/api/pipelines/${pipeline}`, {
      settings: { entry_script: 'echo.js', input: { container: 'unused', path: 'x/' }, mini_batch_size: '3' },
      inbox: { quiet_seconds: 2 },
    });
    expect(published.status, published.text).toBe(201);
    await drop(storage, names, pipeline, files);
    // Part-way through the burst: some files recorded with the collector, the rest not yet delivered.
    await first.waitForLine(/Executed 'Functions\.inboxBlobCreated' \(Succeeded/, { count: 8 });
    await first.kill('SIGKILL');
    const before = await listNames(containerOf(storage, names.state), `${pipeline}/batches/`);
    expect(before).toEqual([]);

    const second = await startInboxApp(storage, names, hub);
    try {
      await settledFiles(second, pipeline, files.length).catch((err: unknown) => {
        console.log(second.lines.slice(-80).join('\n'));
        throw err;
      });
      const runs = await pipelineRuns(second, pipeline);
      const outputs = await Promise.all(runs.map((r) => outputOf(second, r.runId)));
      expect(outputs.flat().sort()).toEqual(files.map((f) => `${f}: ok`).sort());
      expect(await listNames(containerOf(storage, names.inbox), `${pipeline}/`)).toEqual([]);
      expect(await listNames(containerOf(storage, names.done), `${pipeline}/`)).toHaveLength(files.length);
    } finally {
      await second.kill();
    }
  }, 180_000);
});
