import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { runCli } from '../support/cli.js';
import { call, uniqueNames } from '../support/devhost.js';
import { runToEnd, startApp } from '../support/pipeline.js';

const storage = () => inject('storage');
const container = `pq-out-${uniqueNames().hub.toLowerCase()}`;
let host: DevHostProcess;
let runId: string;
let stored: Buffer;

const rowsOf = async (bytes: Uint8Array) => parquetReadObjects({ file: Uint8Array.from(bytes).buffer });

beforeAll(async () => {
  const client = BlobServiceClient.fromConnectionString(storage()).getContainerClient(container);
  await client.createIfNotExists();
  const csv = 'id,name,score\n1,a,0.5\n2,b,1.5\n3,c,2.5\n';
  await client.getBlockBlobClient('t/a.csv').upload(csv, csv.length);
  host = await startApp(storage());
  const run = await runToEnd(host, {
    entry_script: 'table_score.js',
    input: { type: 'table', container, path: 't/' },
    append_row_format: 'parquet',
    append_row_file_name: 'scores.parquet',
  });
  runId = run.view.runId;
  const out = run.view.summary?.output;
  stored = await BlobServiceClient.fromConnectionString(storage())
    .getContainerClient(out?.container ?? '')
    .getBlobClient(out?.blob ?? '')
    .downloadToBuffer();
});

afterAll(async () => {
  await host.kill();
});

describe('a Parquet output through the API and the CLI', () => {
  it('is served as the stored bytes, with its content type', async () => {
    const res = await fetch(`${host.baseUrl}/api/runs/${runId}/output`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(stored)).toBe(true);
    expect(await rowsOf(bytes)).toEqual([
      { id: 1, doubled: 1 },
      { id: 2, doubled: 3 },
      { id: 3, doubled: 5 },
    ]);
  });

  it('refuses head, which only text outputs have, naming it', async () => {
    const reply = await call(host.baseUrl, 'GET', `/api/runs/${runId}/output?head=2`);
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/"field":"head"/);
    expect(reply.text).toMatch(/not lines of text/);
  });

  it('is saved whole by results --out, and not printed without it', async () => {
    const printed = await runCli(['results', runId], host.baseUrl);
    expect(printed.code).not.toBe(0);
    expect(printed.stdout).toBe('');
    expect(printed.stderr).toMatch(/save it with --out/);
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'pq-out-')), 'scores.parquet');
    const saved = await runCli(['results', runId, '--out', file], host.baseUrl);
    expect(saved.code).toBe(0);
    expect((await readFile(file)).equals(stored)).toBe(true);
  });
});
