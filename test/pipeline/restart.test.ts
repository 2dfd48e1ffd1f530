import { describe, expect, inject, it } from 'vitest';
import { uniqueNames } from '../support/devhost.js';
import { finish, startApp, submit, uploadFiles } from '../support/pipeline.js';

describe('a run across kill -9 and restart', () => {
  it('finishes with every input exactly once, in order', async () => {
    const storage = inject('storage');
    const { hub } = uniqueNames();
    const container = `restart-${hub.toLowerCase()}`;
    const names = Array.from({ length: 240 }, (_, i) => `item-${String(i).padStart(3, '0')}.txt`);
    await uploadFiles(storage, container, 'in/', names);

    const first = await startApp(storage, { hub });
    const runId = await submit(first, {
      entry_script: 'echo.js',
      input: { container, path: 'in/' },
      mini_batch_size: '2',
      node_count: 2,
      process_count_per_node: 2,
    });
    // Part-way: some mini-batches written, some in flight, most not started. Its 120 mini-batches of
    // 2 files run 3 to an activity (runMiniBatchGroup): 10 of its 40 activities done.
    await first.waitForLine(/Executed 'Functions\.runMiniBatch(Group)?' \(Succeeded/, { count: 10 });
    await first.kill('SIGKILL');

    const second = await startApp(storage, { hub });
    try {
      expect(
        second.lines.some((l) => /Host started: .* [1-9]\d* unfinished instance\(s\) resumed/.test(l)),
      ).toBe(true);
      const run = await finish(second, runId);
      expect(run.view.status).toBe('Completed');
      expect(run.output).toEqual(names.map((n) => `${n}: ok`));
      expect(run.statuses.errors).toBe(200);
      expect(run.errors).toEqual([]);
      expect(run.view.summary?.totals).toMatchObject({
        items: 240,
        itemsSucceeded: 240,
        itemsFailed: 0,
        miniBatches: 120,
      });
    } finally {
      await second.kill();
    }
  });
});
