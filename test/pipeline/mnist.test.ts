import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { sampleImages } from '../../samples/mnist/images.js';
import { sourceModelDir } from '../../samples/mnist/paths.js';
import { call, repoRoot, uniqueNames } from '../support/devhost.js';
import { runToEnd, startApp } from '../support/pipeline.js';

const storage = () => inject('storage');
const container = `mnist-${uniqueNames().hub.toLowerCase()}`;
const images = [...sampleImages()].slice(0, 12);
let host: DevHostProcess;

beforeAll(async () => {
  // The real sample, deployed as the app deploys it: the scripts folder is the built samples.
  host = await startApp(storage(), {
    env: { PARALLEL_RUN_SCRIPTS: path.join(repoRoot, 'dist/samples/scripts') },
  });
  const model = readFileSync(path.join(sourceModelDir(), 'mnist.onnx'));
  const registered = await fetch(`${host.baseUrl}/api/models/mnist?file=mnist.onnx`, {
    method: 'PUT',
    body: model,
  });
  expect(registered.status).toBe(201);
  const blobs = BlobServiceClient.fromConnectionString(storage()).getContainerClient(container);
  await blobs.createIfNotExists();
  await Promise.all(
    images.map((i) => blobs.getBlockBlobClient(`digits/${i.name}`).upload(i.bytes, i.bytes.length)),
  );
  await blobs.getBlockBlobClient('digits/broken.png').upload('not a png at all', 16);
});

afterAll(async () => {
  await host.kill();
});

describe('the MNIST sample on the devhost', () => {
  it('classifies every good image and fails only the corrupt one, naming it', async () => {
    const run = await runToEnd(host, {
      entry_script: 'digit_identification.js',
      source_directory: 'mnist',
      models: ['mnist'],
      input: { container, path: 'digits/' },
      mini_batch_size: '5',
      output_action: 'append_row',
      append_row_file_name: 'mnist_outputs.txt',
    });
    expect(run.view.status).toBe('Completed');
    const expected = images.map((i) => `${i.name}: ${i.label}`).sort((a, b) => (a < b ? -1 : 1));
    // The first twelve digits are all classified right by the committed model (deterministic).
    expect(run.output).toEqual(expected);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatchObject({ item: 'broken.png', kind: 'named' });
    expect(run.errors[0]?.error).toMatch(/^not a 28×28 PNG: /);
  });

  it('deploys no tooling where entry scripts are found: the trainer cannot be run as one', async () => {
    for (const entry_script of ['train.ts', '../mnist/train.ts', 'mnist.onnx', 'model']) {
      const reply = await call(host.baseUrl, 'POST', '/api/runs', {
        entry_script,
        source_directory: 'mnist',
        input: { container, path: 'digits/' },
      });
      expect(reply.status, entry_script).toBe(400);
      expect(reply.body, entry_script).toMatchObject({ error: { field: 'entry_script' } });
    }
  });
});
