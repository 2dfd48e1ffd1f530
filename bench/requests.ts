import type { Azurite } from '../devhost/azurite.js';
import { spawnDevHostProcess } from '../devhost/process.js';
import type { RunView } from '../functions/api/runs.js';
import { ApiClient } from '../scripts/client.js';
import { tutorialSettings } from '../scripts/demo.js';
import { seedImages, seedModel } from '../scripts/sample.js';
import { countRequests } from './request-count.js';
import { printTable, repoRoot, withAzurite, writeResult } from './report.js';

/** The tutorial's whole dataset: a run's fixed costs (plan, finalize) weigh as they do for users. */
const ITEMS = 10_000;

export interface RequestsPerItem {
  requestsPerItem: number;
  requests: Record<string, number>;
}

/**
 * Storage requests per item of one run over the tutorial's 10,000 images, whoever made them (the app, the durable
 * store, retries), counted by a proxy in front of Azurite: a run's round trips and, in Azure, its
 * billed transactions.
 */
export async function requestsPerItem(
  azurite: Azurite,
  miniBatchSizes: string[],
): Promise<Record<string, RequestsPerItem>> {
  const counter = await countRequests(azurite);
  const host = await spawnDevHostProcess({
    app: repoRoot,
    storage: counter.connectionString,
    args: ['--log-level', 'warn'],
  });
  const result: Record<string, RequestsPerItem> = {};
  try {
    const api = new ApiClient(host.baseUrl);
    for (const size of miniBatchSizes) {
      const settings = {
        ...tutorialSettings,
        run_name: `requests-${size}`,
        mini_batch_size: size,
        allow_reuse: false,
      };
      counter.reset();
      const { runId } = await api.json<{ runId: string }>('POST', '/api/runs', settings, 202);
      await api.waitForInstance(runId);
      const requests = counter.counts();
      const total = counter.total();
      const view = await api.json<RunView>('GET', `/api/runs/${runId}`);
      const done = view.summary?.totals.itemsSucceeded ?? 0;
      if (view.status !== 'Completed' || done !== ITEMS)
        throw new Error(`run ${runId} ended ${view.status} with ${done} of ${ITEMS} images scored`);
      result[size] = { requestsPerItem: total / ITEMS, requests };
    }
  } finally {
    await host.kill();
    await counter.stop();
  }
  return result;
}

/** `npm run bench -- requests`: the request count alone, quicker than the whole mnist bench. */
export async function benchRequests(): Promise<void> {
  await withAzurite(async (storage, azurite) => {
    process.env.AzureWebJobsStorage = storage;
    const log = (line: string) => console.log(line);
    await seedModel(log);
    await seedImages(log);
    const result = await requestsPerItem(azurite, ['5', '100']);
    printTable(
      ['mini_batch_size', 'requests per item', 'requests'],
      Object.entries(result).map(([size, r]) => [
        size,
        r.requestsPerItem,
        Object.entries(r.requests)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ]),
    );
    writeResult('requests', result);
  });
}
