import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WatchedProcess } from '../../devhost/lines.js';
import type { DevHostProcess } from '../../devhost/process.js';
import { sampleImages } from '../../samples/mnist/images.js';
import { sourceModelDir } from '../../samples/mnist/paths.js';
import { downloadBlob } from '../../core/storage/storage.js';
import { spawnWorker } from '../../scripts/workers.js';
import { repoRoot, uniqueNames } from '../support/devhost.js';
import { finish, runToEnd, startApp, submit } from '../support/pipeline.js';

const storage = () => inject('storage');
const tag = uniqueNames().hub.toLowerCase().slice(3);
const pool = `gpu${tag}`;
const container = `mnist-pool-${tag}`;
const images = [...sampleImages()].slice(0, 200);
const scripts = path.join(repoRoot, 'dist/samples/scripts');
let host: DevHostProcess;
const workers: WatchedProcess[] = [];

const settings: { models: string[] } & Record<string, unknown> = {
  entry_script: 'digit_identification.js',
  source_directory: 'mnist',
  // Pinned once registered below: other test files register `mnist` on the same Azurite.
  models: ['mnist'],
  input: { container, path: 'digits/' },
  mini_batch_size: '10',
  node_count: 2,
  process_count_per_node: 2,
  output_action: 'append_row',
  append_row_file_name: 'mnist_outputs.txt',
  // The pool run must run, not reuse the Functions run (compute is not part of a fingerprint).
  allow_reuse: false,
};

interface Claim {
  state: string;
  worker?: string;
}

/** The pool claims of a run now, by blob name (core/compute/claims.ts). */
async function claims(runId: string): Promise<Map<string, Claim>> {
  const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient('runs');
  const found = new Map<string, Claim>();
  for await (const b of runs.listBlobsFlat({ prefix: `${runId}/pool/` })) {
    // One GET: a heartbeat may rewrite the claim between the requests of a ranged download.
    const body = await downloadBlob(runs.getBlobClient(b.name));
    found.set(b.name, JSON.parse(body.toString('utf8')) as Claim);
  }
  return found;
}

beforeAll(async () => {
  host = await startApp(storage(), {
    env: {
      PARALLEL_RUN_SCRIPTS: scripts,
      PARALLEL_RUN_POOLS: pool,
      PARALLEL_RUN_POOL_START_TIMEOUT: '20',
      PARALLEL_RUN_RESULTS_QUEUE: `results-${tag}`,
    },
  });
  const model = readFileSync(path.join(sourceModelDir(), 'mnist.onnx'));
  const registered = await fetch(`${host.baseUrl}/api/models/mnist?file=mnist.onnx`, {
    method: 'PUT',
    body: model,
  });
  expect(registered.status).toBe(201);
  const { version } = (await registered.json()) as { version: number };
  settings.models = [`mnist:${version}`];
  const blobs = BlobServiceClient.fromConnectionString(storage()).getContainerClient(container);
  await blobs.createIfNotExists();
  await Promise.all(
    images.map((i) => blobs.getBlockBlobClient(`digits/${i.name}`).upload(i.bytes, i.bytes.length)),
  );
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await host.kill();
});

describe('the MNIST sample on a pool of two local workers', () => {
  it('ends with every image exactly once, in input order, as on functions, when one worker is killed mid-run', async () => {
    const onFunctions = await runToEnd(host, settings);
    expect(onFunctions.view.status, onFunctions.view.reason).toBe('Completed');
    expect(onFunctions.output).toHaveLength(images.length);

    for (let i = 0; i < 2; i++) {
      workers.push(await spawnWorker({ pool, storage: storage(), env: { PARALLEL_RUN_SCRIPTS: scripts } }));
    }
    const [doomed, survivor] = workers as [WatchedProcess, WatchedProcess];
    const doomedId = /worker (\S+) of pool/.exec(doomed.lines.join('\n'))?.[1];
    const runId = await submit(host, { ...settings, compute: pool });
    // Killed as soon as it holds a try: its first one still starts its processes and loads the model.
    const held = async () => [...(await claims(runId))].some(([, c]) => c.worker === doomedId);
    while (!(await held())) {
      // each look is one listing of the run's claims
    }
    await doomed.kill('SIGKILL');
    const orphaned = [...(await claims(runId))].filter(
      ([, c]) => c.worker === doomedId && c.state === 'running',
    );
    expect(orphaned.length).toBeGreaterThan(0);

    const onPool = await finish(host, runId);
    expect(onPool.view.status).toBe('Completed');
    expect(onPool.errors).toEqual([]);
    expect(onPool.output).toEqual(onFunctions.output);
    // Each orphaned try was taken over and finished by the other worker, under the same attempt.
    const after = await claims(runId);
    const survivorId = /worker (\S+) of pool/.exec(survivor.lines.join('\n'))?.[1];
    for (const [name] of orphaned)
      expect(after.get(name)).toMatchObject({ state: 'done', worker: survivorId });
    expect(survivor.lines.some((l) => l.includes(`try run=${runId} `) && l.includes('outcome=ok'))).toBe(
      true,
    );
    // Two runs of 200 images, and a wait for the killed worker's messages to reappear.
  }, 240_000);
});
