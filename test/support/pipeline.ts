import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { spawnDevHostProcess, type DevHostProcess } from '../../devhost/process.js';
import type { RunView } from '../../functions/api/runs.js';
import { call, repoRoot, uniqueNames } from './devhost.js';

/** The real parallel-run app on a devhost process, with the test entry scripts as its scripts folder. */
export async function startApp(
  storage: string,
  options: { hub?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<DevHostProcess> {
  return spawnDevHostProcess({
    app: repoRoot,
    storage,
    args: ['--hub', options.hub ?? uniqueNames().hub, '--log-level', 'info', ...(options.args ?? [])],
    env: { PARALLEL_RUN_SCRIPTS: path.join(repoRoot, 'test/fixtures/scripts/dist'), ...options.env },
  });
}

/** Writes small text files `names` into `container/prefix`. */
export async function uploadFiles(
  storage: string,
  container: string,
  prefix: string,
  names: string[],
): Promise<void> {
  const client = BlobServiceClient.fromConnectionString(storage).getContainerClient(container);
  await client.createIfNotExists();
  await Promise.all(names.map((n) => client.getBlockBlobClient(`${prefix}${n}`).upload(n, n.length)));
}

export interface ErrorLine {
  item: string;
  mini_batch: number;
  attempts: number;
  kind: string;
  error: string;
  stack?: string;
}

export interface Finished {
  view: RunView;
  /** Lines of the output, or none when the output endpoint answered otherwise than 200 (see `statuses`). */
  output: string[];
  errors: ErrorLine[];
  /** What the output and errors endpoints answered: an empty list above may be a missing file. */
  statuses: { output: number; errors: number };
}

export async function submit(host: DevHostProcess, settings: object): Promise<string> {
  const reply = await call(host.baseUrl, 'POST', '/api/runs', settings);
  if (reply.status !== 202) throw new Error(`POST /api/runs answered ${reply.status}: ${reply.text}`);
  return (reply.body as { runId: string }).runId;
}

/** Waits (long-poll, no sleeps) until the run's orchestration ends, then reads its view, output and errors. */
export async function finish(host: DevHostProcess, runId: string): Promise<Finished> {
  await call(
    host.baseUrl,
    'GET',
    `/runtime/webhooks/durabletask/instances/${runId}?waitForCompletionSeconds=120`,
  );
  const view = (await call(host.baseUrl, 'GET', `/api/runs/${runId}`)).body as RunView;
  const out = await call(host.baseUrl, 'GET', `/api/runs/${runId}/output`);
  const errs = await call(host.baseUrl, 'GET', `/api/runs/${runId}/errors`);
  const lines = (text: string) => text.split('\n').filter((l) => l !== '');
  return {
    view,
    output: out.status === 200 ? lines(out.text) : [],
    errors: errs.status === 200 ? lines(errs.text).map((l) => JSON.parse(l) as ErrorLine) : [],
    statuses: { output: out.status, errors: errs.status },
  };
}

export async function runToEnd(host: DevHostProcess, settings: object): Promise<Finished> {
  return finish(host, await submit(host, settings));
}
