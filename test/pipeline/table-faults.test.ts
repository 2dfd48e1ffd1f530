import { BlobServiceClient } from '@azure/storage-blob';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { uniqueNames } from '../support/devhost.js';
import { runToEnd, startApp } from '../support/pipeline.js';

const storage = () => inject('storage');
const container = `table-faults-${uniqueNames().hub.toLowerCase()}`;
let host: DevHostProcess;

const ROWS = 3000;
const ROWS_PER_GROUP = 100;

const CRASHING_GROUP = 3;

/** Where row group `g`'s column chunks lie in the file. */
function groupBytes(file: Buffer, g: number): { from: number; to: number } {
  const view = Uint8Array.from(file).buffer;
  const chunks = parquetMetadata(view).row_groups[g]?.columns ?? [];
  const spans = chunks.map(({ meta_data: m }) => {
    const from = Number(m?.dictionary_page_offset ?? m?.data_page_offset ?? 0);
    return { from, to: from + Number(m?.total_compressed_size ?? 0) };
  });
  return { from: Math.min(...spans.map((c) => c.from)), to: Math.max(...spans.map((c) => c.to)) };
}

/**
 * 30 row groups of 100 rows, the pages of one of them garbled (the footer stays whole, so the plan
 * reads it): reading rows 300–400 makes hyparquet grow an array past V8's limit, a fatal error that
 * ends the process reading them whatever it catches ("Fatal JavaScript invalid size error").
 */
function corruptParquet(): Buffer {
  const n = Array.from({ length: ROWS }, (_, i) => i);
  const columnData = [
    { name: 'id', data: n, type: 'INT32' as const },
    { name: 'i64', data: n.map((i) => BigInt(i) * 1000003n), type: 'INT64' as const },
    { name: 's', data: n.map((i) => `s${i}`), type: 'STRING' as const },
    { name: 't', data: n.map((i) => new Date(1_700_000_000_000 + i * 1000)), type: 'TIMESTAMP' as const },
    { name: 'b', data: n.map((i) => i % 2 === 0), type: 'BOOLEAN' as const },
  ];
  const bytes = Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: ROWS_PER_GROUP }));
  const { from, to } = groupBytes(bytes, CRASHING_GROUP);
  // Every seventh byte from offset 4 on, within that group: a pattern found to hit the fatal.
  for (let at = 4 + Math.ceil((from - 4) / 7) * 7; at < to; at += 7) bytes[at] = (bytes[at] ?? 0) ^ 0x5a;
  return bytes;
}

beforeAll(async () => {
  const client = BlobServiceClient.fromConnectionString(storage()).getContainerClient(container);
  await client.createIfNotExists();
  const bytes = corruptParquet();
  await client.getBlockBlobClient('corrupt/a.parquet').upload(bytes, bytes.length);
  host = await startApp(storage());
});

afterAll(async () => {
  await host.kill();
});

describe('a table whose bytes crash their reader', () => {
  it('fails those rows as one error line, and the host that names them keeps serving', async () => {
    const run = await runToEnd(host, {
      entry_script: 'table_score.js',
      input: { type: 'table', container, path: 'corrupt/' },
      mini_batch_size: '1KB',
      run_max_try: 1,
      error_threshold: -1,
    });
    // The host answered for the run after it ended: it outlived the crashes.
    expect(run.view.status).toBe('Completed');
    // The range whose rows crash any reader is named whole, with why its try failed.
    expect(run.errors.map((e) => e.item)).toEqual(['a.parquet#rows=300-400']);
    expect(run.errors[0]?.error).toMatch(/worker process/);
    // Every other row group scored, each row once.
    expect(run.output).toHaveLength(1 + ROWS - ROWS_PER_GROUP);
    expect(run.view.summary?.totals.miniBatches).toBe(ROWS / ROWS_PER_GROUP);
    // Each crash (the try's process, then the one naming its rows) runs to V8's limit first: seconds.
  }, 180_000);
});
