import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { containers, runPaths } from '../storage/layout.js';
import { ensureContainer, storageFromEnv, type Storage } from '../storage/storage.js';
import { composeOutput, type Part } from './compose-output.js';
import { encodeColumns, encodeTypes, partBody } from './formats.js';
import type { AppendRowFormat } from '../config/settings.js';

let storage: Storage;

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  await ensureContainer(storage.blobs.getContainerClient(containers.runs));
  await ensureContainer(storage.blobs.getContainerClient('composed'));
});

/** Writes each mini-batch's rows as a try would, and lists them back as finalize does. */
async function writeParts(
  runId: string,
  batches: unknown[][],
  format: AppendRowFormat,
): Promise<() => AsyncIterable<Part>> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  const parts: Part[] = [];
  for (const [index, rows] of batches.entries()) {
    const body = partBody(rows, format);
    const blob = runs.getBlockBlobClient(runPaths.part(runId, index));
    await blob.upload(body.bytes, body.bytes.length, {
      metadata: {
        ...(body.columns ? { columns: encodeColumns(body.columns) } : {}),
        ...(body.types ? { types: encodeTypes(body.types) } : {}),
      },
    });
    parts.push({
      blob,
      size: body.bytes.length,
      ...(body.columns ? { columns: body.columns } : {}),
      ...(body.types ? { types: body.types } : {}),
    });
  }
  return async function* () {
    await Promise.resolve();
    yield* parts;
  };
}

const batches = [
  [
    { id: 1, score: 0.5 },
    { id: 2, score: 1 },
  ],
  [{ id: 3, label: 'x,y' }],
  [{ id: 4, score: 2, label: 'z' }],
];

describe('composeOutput', () => {
  it('writes one CSV header over parts with different columns, rows in mini-batch order', async () => {
    const runId = randomUUID();
    const target = storage.blobs.getContainerClient('composed').getBlockBlobClient(`${runId}.csv`);
    await composeOutput(storage, runId, 'csv', await writeParts(runId, batches, 'csv'), target);
    const text = (await target.downloadToBuffer()).toString();
    expect(text.split('\n')[0]).toBe('id,score,label');
    expect(parse(text, { columns: true, cast: true })).toEqual([
      { id: 1, score: 0.5, label: '' },
      { id: 2, score: 1, label: '' },
      { id: 3, score: '', label: 'x,y' },
      { id: 4, score: 2, label: 'z' },
    ]);
  });

  it('writes one Parquet schema over the parts, nulls where a part lacks a column', async () => {
    const runId = randomUUID();
    const target = storage.blobs.getContainerClient('composed').getBlockBlobClient(`${runId}.parquet`);
    await composeOutput(storage, runId, 'parquet', await writeParts(runId, batches, 'parquet'), target);
    const bytes = await target.downloadToBuffer();
    const rows = await parquetReadObjects({ file: Uint8Array.from(bytes).buffer });
    expect(rows).toEqual([
      { id: 1, score: 0.5, label: null },
      { id: 2, score: 1, label: null },
      { id: 3, score: null, label: 'x,y' },
      { id: 4, score: 2, label: 'z' },
    ]);
  });
});
