import { BlobServiceClient } from '@azure/storage-blob';
import { parse } from 'csv-parse/sync';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { containers } from '../../core/storage/layout.js';
import { uniqueNames } from '../support/devhost.js';
import { runToEnd, startApp } from '../support/pipeline.js';

const storage = () => inject('storage');
const container = `tables-${uniqueNames().hub.toLowerCase()}`;
let host: DevHostProcess;

/** `id,name,score` rows; the row whose id is in `fail` is named "fail" (the script fails it). */
function csv(ids: number[], fail: number[] = []): string {
  const lines = ids.map((id) => `${id},${fail.includes(id) ? 'fail' : `n${id}`},${id / 10}`);
  return `id,name,score\n${lines.join('\n')}\n`;
}

/** A deterministic string that does not compress away. */
const tag = (i: number) => ((i * 2654435761) >>> 0).toString(36).padStart(8, '0');

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function upload(name: string, body: string | Buffer): Promise<void> {
  const client = BlobServiceClient.fromConnectionString(storage()).getContainerClient(container);
  await client.createIfNotExists();
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  await client.getBlockBlobClient(name).upload(bytes, bytes.length);
}

const base = { entry_script: 'table_score.js', process_count_per_node: 2 };

beforeAll(async () => {
  await upload('three/a.csv', csv(range(1, 3)));
  // About 3.4 KB: four or more mini-batches of "1KB".
  await upload('three/b.csv', csv(range(4, 203), [100]));
  // Row 2 of c.csv is ragged.
  await upload('three/c.csv', 'id,name,score\n204,n204,20.4\n205,ragged\n206,n206,20.6\n');
  // Four row groups of about 20 KB each (the tags barely compress).
  const columnData = [
    { name: 'id', data: range(1, 4000), type: 'INT32' as const },
    { name: 'score', data: range(1, 4000).map((i) => i / 2), type: 'DOUBLE' as const },
    { name: 'tag', data: range(1, 4000).map(tag), type: 'STRING' as const },
  ];
  await upload('pq/rows.parquet', Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: 1000 })));
  await upload('by-species/species=setosa/1.csv', csv([1, 2]));
  await upload('by-species/species=versicolor/1.csv', csv([3]));
  await upload('by-species/species=setosa/2.csv', csv([4]));
  // About 2 KB: two or more mini-batches of "1KB"; rows 7 and 120 are failed by the script.
  await upload('keys/k.csv', csv(range(1, 150), [7, 120]));
  await upload('keys-drop/d.csv', 'id,name,score\n1,n1,0.1\n2,drop,0.2\n3,n3,0.3\n');
  // A header of about 1.3 KB, longer than "1KB": the first range of its split file holds only the header.
  const pad = range(1, 200).map((i) => `pad${i}`);
  await upload(
    'long-header/h.csv',
    `id,name,score,${pad.join(',')}\n1,n1,0.1,${pad.map(() => '').join(',')}\n`,
  );
  host = await startApp(storage());
});

afterAll(async () => {
  await host.kill();
});

describe('tabular datasets end to end on the devhost', () => {
  it('splits a big CSV, never across files, and writes every row once, in order, under one header', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { type: 'table', container, path: 'three/' },
      mini_batch_size: '1KB',
      append_row_file_name: 'scores.csv',
    });
    expect(run.view.status).toBe('Completed');
    // a.csv and c.csv whole, b.csv (about 2.5 KB) in three ranges: every mini-batch holds one file's rows.
    expect(run.view.summary?.totals.miniBatches).toBe(5);
    expect(run.view.summary?.totals).toMatchObject({ items: 206, itemsSucceeded: 204, itemsFailed: 2 });
    expect(run.output[0]).toBe('id,doubled');
    expect(run.output.filter((l) => l === 'id,doubled')).toHaveLength(1);
    const rows = parse<{ id: number; doubled: number }>(run.output.join('\n'), { columns: true, cast: true });
    const expected = [...range(1, 99), ...range(101, 204), 206];
    expect(rows.map((r) => r.id)).toEqual(expected);
    expect(rows[0]).toEqual({ id: 1, doubled: 0.2 });
    const errors = run.errors.map((e) => ({ item: e.item, kind: e.kind, error: e.error }));
    expect(errors).toHaveLength(2);
    expect(errors).toContainEqual({
      item: 'c.csv#row=2',
      kind: 'missing',
      error: 'has 2 fields; the header has 3 (id, name, score)',
    });
    expect(errors.find((e) => e.kind === 'named')).toMatchObject({ error: 'asked to fail' });
    expect(errors.find((e) => e.kind === 'named')?.item).toMatch(/^b\.csv#bytes=\d+-\d+&row=\d+$/);
  });

  it('counts failed records against error_threshold', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { type: 'table', container, path: 'three/' },
      mini_batch_size: '1KB',
      error_threshold: 1,
    });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toMatch(/error_threshold/);
  });

  it('splits a Parquet file by row groups and writes JSON Lines', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { type: 'table', container, path: 'pq/' },
      mini_batch_size: '16KB',
      append_row_format: 'jsonl',
    });
    expect(run.view.status).toBe('Completed');
    expect(run.view.summary?.totals.miniBatches).toBe(4);
    expect(run.output.map((l) => JSON.parse(l) as unknown)).toEqual(
      range(1, 4000).map((id) => ({ id, doubled: id })),
    );
  });

  it('a table run allow_reuse finds done reads none of its files again: no manifest, no tries', async () => {
    const settings = { ...base, input: { type: 'table', container, path: 'pq/' }, mini_batch_size: '20KB' };
    const first = await runToEnd(host, { ...settings, allow_reuse: false });
    expect(first.view.status).toBe('Completed');
    const second = await runToEnd(host, { ...settings, allow_reuse: true });
    expect(second.view.reusedFrom).toBe(first.view.runId);
    expect(second.output).toEqual(first.output);
    const runs = BlobServiceClient.fromConnectionString(storage()).getContainerClient(containers.runs);
    const manifest: string[] = [];
    for await (const blob of runs.listBlobsFlat({ prefix: `${second.view.runId}/manifest/` }))
      manifest.push(blob.name);
    expect(manifest).toEqual([]);
    const planned: string[] = [];
    for await (const blob of runs.listBlobsFlat({ prefix: `${first.view.runId}/manifest/` }))
      planned.push(blob.name);
    expect(planned.length).toBeGreaterThan(0);
  });

  it('writes a typed Parquet output that reads back with hyparquet, in input order', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { type: 'table', container, path: 'three/' },
      mini_batch_size: '1KB',
      append_row_format: 'parquet',
      append_row_file_name: 'scores.parquet',
    });
    expect(run.view.status).toBe('Completed');
    const out = run.view.summary?.output;
    const bytes = await BlobServiceClient.fromConnectionString(storage())
      .getContainerClient(out?.container ?? '')
      .getBlobClient(out?.blob ?? '')
      .downloadToBuffer();
    const file = Uint8Array.from(bytes).buffer;
    const metadata = parquetMetadata(file);
    expect(metadata.schema.map((s) => [s.name, s.type])).toEqual([
      ['root', undefined],
      ['id', 'INT32'],
      ['doubled', 'DOUBLE'],
    ]);
    const rows = await parquetReadObjects({ file });
    expect(rows.map((r) => r.id as number)).toEqual([...range(1, 99), ...range(101, 204), 206]);
    expect(rows[9]).toEqual({ id: 10, doubled: 2 });
  });

  it('groups rows by partition key, one mini-batch per key, the key values in the context', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { type: 'table', container, path: 'by-species/' },
      partition_keys: ['species'],
    });
    expect(run.view.status).toBe('Completed');
    expect(run.view.summary?.totals.miniBatches).toBe(2);
    const rows = parse<Record<string, unknown>>(run.output.join('\n'), { columns: true, cast: true });
    expect(rows).toEqual([
      { id: 1, doubled: 0.2, species: 'setosa' },
      { id: 2, doubled: 0.4, species: 'setosa' },
      { id: 4, doubled: 0.8, species: 'setosa' },
      { id: 3, doubled: 0.6, species: 'versicolor' },
    ]);
  });

  it('refuses partition keys the layout does not have, at submit, naming the setting', async () => {
    const { call } = await import('../support/devhost.js');
    const reply = await call(host.baseUrl, 'POST', '/api/runs', {
      ...base,
      input: { type: 'table', container, path: 'by-species/' },
      partition_keys: ['region'],
    });
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/partition_keys/);
  });
});

describe('tabular edges end to end on the devhost', () => {
  it('reads a split CSV whose header fills its first range without a false failure', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { type: 'table', container, path: 'long-header/' },
      mini_batch_size: '1KB',
      error_threshold: 0,
    });
    expect(run.errors).toEqual([]);
    expect(run.view.status).toBe('Completed');
    expect(run.view.summary?.totals.miniBatches).toBe(2);
    expect(run.view.summary?.totals).toMatchObject({ items: 1, itemsSucceeded: 1, itemsFailed: 0 });
  });

  it('takes a bare byte count over 100,000 for a table', async () => {
    const run = await runToEnd(host, {
      ...base,
      input: { type: 'table', container, path: 'three/' },
      mini_batch_size: 1048576,
    });
    expect(run.view.status).toBe('Completed');
    expect(run.view.summary?.totals.miniBatches).toBe(3);
  });

  it('refuses partition keys named like object members that the layout lacks', async () => {
    const { call } = await import('../support/devhost.js');
    for (const key of ['constructor', '__proto__']) {
      const reply = await call(host.baseUrl, 'POST', '/api/runs', {
        ...base,
        input: { type: 'table', container, path: 'by-species/' },
        partition_keys: [key],
      });
      expect(reply.status).toBe(400);
      expect(reply.text).toContain(`${key}=<value>/`);
    }
  });

  it('refuses an inbox for a pipeline whose input is a table, naming inbox', async () => {
    const { call } = await import('../support/devhost.js');
    const reply = await call(host.baseUrl, 'PUT', `/api/pipelines/${container}`, {
      settings: { ...base, input: { type: 'table', container, path: 'three/' } },
      inbox: {},
    });
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('"field":"inbox"');
    expect(reply.text).toContain('input.type \\"files\\"');
  });
});

describe('carry_columns end to end on the devhost', () => {
  const carry = { entry_script: 'table_carry.js', process_count_per_node: 2 };

  it('joins each result to the keys of the row it scored, keys first, past rows failed with ctx.fail', async () => {
    const run = await runToEnd(host, {
      ...carry,
      input: { type: 'table', container, path: 'keys/' },
      mini_batch_size: '1KB',
      carry_columns: ['id', 'name'],
    });
    expect(run.view.status).toBe('Completed');
    expect(run.view.summary?.totals.miniBatches).toBeGreaterThan(1);
    expect(run.output[0]).toBe('id,name,doubled');
    const rows = parse<Record<string, unknown>>(run.output.join('\n'), { columns: true, cast: true });
    const ids = range(1, 150).filter((id) => id !== 7 && id !== 120);
    expect(rows).toEqual(ids.map((id) => ({ id, name: `n${id}`, doubled: (id / 10) * 2 })));
    expect(run.errors.map((e) => [e.kind, e.error])).toEqual([
      ['named', 'asked to fail'],
      ['named', 'asked to fail'],
    ]);
  });

  it('types carried keys in Parquet, and makes a result that is not an object the column value', async () => {
    const run = await runToEnd(host, {
      ...carry,
      input: { type: 'table', container, path: 'keys/' },
      mini_batch_size: '1KB',
      carry_columns: ['id'],
      arguments: ['--as', 'string'],
      append_row_format: 'parquet',
      append_row_file_name: 'keys.parquet',
    });
    expect(run.view.status).toBe('Completed');
    const out = run.view.summary?.output;
    const bytes = await BlobServiceClient.fromConnectionString(storage())
      .getContainerClient(out?.container ?? '')
      .getBlobClient(out?.blob ?? '')
      .downloadToBuffer();
    const file = Uint8Array.from(bytes).buffer;
    expect(parquetMetadata(file).schema.map((s) => [s.name, s.type])).toEqual([
      ['root', undefined],
      ['id', 'INT32'],
      ['value', 'BYTE_ARRAY'],
    ]);
    const rows = await parquetReadObjects({ file });
    expect(rows[0]).toEqual({ id: 1, value: '0.2' });
    expect(rows.map((r) => r.id as number)).toEqual(range(1, 150).filter((id) => id !== 7 && id !== 120));
  });

  it('fails a mini-batch whose results cannot be joined by position, each of its rows named', async () => {
    const run = await runToEnd(host, {
      ...carry,
      input: { type: 'table', container, path: 'keys-drop/' },
      carry_columns: ['id'],
      arguments: ['--drop'],
      run_max_try: 1,
    });
    expect(run.view.summary?.totals).toMatchObject({ items: 3, itemsSucceeded: 0, itemsFailed: 3 });
    expect(run.errors.map((e) => e.item)).toEqual(['d.csv#row=1', 'd.csv#row=2', 'd.csv#row=3']);
    expect(run.errors[0]?.error).toMatch(
      /carry_columns joins results to rows by position.*2 results for 3 rows/,
    );
  });

  it('fails a result whose column of the same name holds another value than the carried key', async () => {
    const run = await runToEnd(host, {
      ...carry,
      input: { type: 'table', container, path: 'keys-drop/' },
      carry_columns: ['id'],
      arguments: ['--clash'],
      run_max_try: 1,
    });
    expect(run.view.summary?.totals).toMatchObject({ itemsSucceeded: 0, itemsFailed: 3 });
    expect(run.errors[0]?.error).toMatch(
      /the result's column "id" is -1 where the input row's carried "id" is 1/,
    );
  });

  it('refuses carry_columns for a files dataset, naming the setting', async () => {
    const { call } = await import('../support/devhost.js');
    const reply = await call(host.baseUrl, 'POST', '/api/runs', {
      entry_script: 'echo.js',
      input: { container, path: 'keys/' },
      carry_columns: ['id'],
    });
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/carry_columns/);
    expect(reply.text).toMatch(/applies to tables/);
  });
});

describe('the columns view end to end on the devhost', () => {
  /** The run's output and error lines, for the same settings read with each view. */
  async function bothViews(settings: Record<string, unknown>) {
    const [rows, columns] = await Promise.all(
      ['table_score.js', 'table_columns.js'].map((entry_script) =>
        // Never reused: an earlier test may have run the same settings.
        runToEnd(host, { ...base, ...settings, entry_script, allow_reuse: false }),
      ),
    );
    const seen = (run: typeof rows) => ({
      status: run?.view.status,
      totals: run?.view.summary?.totals,
      output: run?.output,
      errors: run?.errors.map((e) => [e.item, e.kind, e.error]).sort(),
    });
    return { rows: seen(rows), columns: seen(columns) };
  }

  it('writes the same rows and error lines as the rows view: split CSV, Parquet, partitions, carried keys', async () => {
    const cases = [
      { input: { type: 'table', container, path: 'three/' }, mini_batch_size: '1KB' },
      {
        input: { type: 'table', container, path: 'pq/' },
        mini_batch_size: '16KB',
        append_row_format: 'jsonl',
      },
      { input: { type: 'table', container, path: 'by-species/' }, partition_keys: ['species'] },
      {
        input: { type: 'table', container, path: 'keys/' },
        mini_batch_size: '1KB',
        carry_columns: ['id', 'name'],
      },
    ];
    for (const settings of cases) {
      const { rows, columns } = await bothViews(settings);
      expect(rows.status).toBe('Completed');
      expect(rows.output?.length).toBeGreaterThan(1);
      expect(columns).toEqual(rows);
    }
  });

  it('says in the script log when ctx.fail names no row, and the row it left out still ends as an error line', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'table_columns.js',
      input: { type: 'table', container, path: 'keys-drop/' },
      arguments: ['--fail-nowhere'],
      allow_reuse: false,
    });
    expect(run.view.summary?.totals).toMatchObject({ items: 3, itemsSucceeded: 2, itemsFailed: 1 });
    expect(run.errors.map((e) => e.kind)).toEqual(['unknown']);
    const log = (
      await BlobServiceClient.fromConnectionString(storage())
        .getContainerClient(containers.runs)
        .getBlobClient(run.view.summary?.logs.script ?? '')
        .downloadToBuffer()
    ).toString('utf8');
    expect(log).toContain(
      "ctx.fail(8, …) in mini-batch 0 names none of its inputs, so its reason (named past the end) is on no error line: pass the row's position (or an object row(i) gave)",
    );
  });

  it('fails a script that asks for a view that does not exist, naming tableView and the views', async () => {
    const run = await runToEnd(host, {
      ...base,
      entry_script: 'table_bad_view.js',
      input: { type: 'table', container, path: 'keys-drop/' },
    });
    expect(run.view.status).toBe('Failed');
    expect(run.view.reason).toContain(
      `entry script table_bad_view.js exports tableView = a string ("dataframe"); it must be 'rows' (row objects, the default) or 'columns'`,
    );
    // The stack of the service's own error names no folder of this machine.
    const stacks = run.errors.map((e) => e.stack ?? '');
    // The scoring process runs from the build's bundle of it (scripts/bundle-worker.ts).
    expect(stacks.some((stack) => stack.includes('<parallel-run>/dist/core/runner/worker.bundle.js'))).toBe(
      true,
    );
    expect(stacks.filter((stack) => stack.includes(process.cwd()))).toEqual([]);
  });
});
