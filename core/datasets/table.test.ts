import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { TableInput } from '../config/resolved.js';
import { ParallelRunError } from '../errors.js';
import { containers, runPaths } from '../storage/layout.js';
import { readJson, storageFromEnv, type Storage } from '../storage/storage.js';
import type { ManifestShard } from './plan.js';
import { tableKind } from './table-kind.js';
import { itemName } from './table-items.js';
import { planTable } from './table-plan.js';

let storage: Storage;
const container = `tables-${Math.random().toString(36).slice(2, 10)}`;
const kb = (bytes: number) => ({ kind: 'bytes' as const, bytes, text: `${bytes}` });

async function upload(name: string, body: string | Buffer): Promise<void> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  await storage.blobs.getContainerClient(container).getBlockBlobClient(name).upload(bytes, bytes.length);
}

/**
 * The same storage, its blob clients' downloads counted (bytes asked for): the real clients and
 * Azurite do the work, the count only watches.
 */
function countingDownloads(real: Storage): { storage: Storage; bytes: () => number } {
  let bytes = 0;
  const watch = <T extends object>(target: T, wrap: Record<string, (made: unknown) => unknown>): T =>
    new Proxy(target, {
      get(object, name) {
        const value: unknown = Reflect.get(object, name, object);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        const around = typeof name === 'string' ? wrap[name] : undefined;
        return (...args: unknown[]) => {
          if (name === 'download') bytes += Number(args[1] ?? 0);
          const made = method.apply(object, args);
          return around ? around(made) : made;
        };
      },
    });
  const blobs = watch(real.blobs, {
    getContainerClient: (container) =>
      watch(container as object, { getBlobClient: (blob) => watch(blob as object, {}) }),
  });
  return { storage: { ...real, blobs }, bytes: () => bytes };
}

/**
 * The plan's mini-batches, read back from its manifest, each item by its range (`versioned`: as the
 * manifest holds it, with the file's version); `maxRange` stands for the most one range may hold.
 */
async function planned(input: TableInput, bytes: number, maxRange?: number): Promise<string[][]> {
  return (await versioned(input, bytes, maxRange)).map((batch) => batch.map(itemName));
}

async function versioned(input: TableInput, bytes: number, maxRange?: number): Promise<string[][]> {
  const runId = `table-${Math.random().toString(36).slice(2, 10)}`;
  const validated = await tableKind.validate(storage, input);
  const plan =
    maxRange === undefined
      ? await tableKind.plan(storage, runId, validated, kb(bytes))
      : await planTable(storage, runId, validated, bytes, { maxRange });
  const runs = storage.blobs.getContainerClient(containers.runs);
  const batches: string[][] = [];
  for (const ref of plan.shards)
    batches.push(
      ...((await readJson<ManifestShard>(runs, runPaths.manifestShard(runId, ref.shard)))?.miniBatches ?? []),
    );
  expect(batches.length).toBe(plan.miniBatches);
  return batches;
}

/** As a try reads it: the input as validated at submit (a path naming one blob is that file). */
const read = async (input: TableInput, items: string[]) =>
  tableKind.materialize(storage, await tableKind.validate(storage, input), items, '');

const toArrayBuffer = (bytes: Buffer) =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;

/** 300 rows of `id`: about 1.4 KB. */
const manyIds = `id\n${Array.from({ length: 300 }, (_, i) => i + 1).join('\n')}\n`;

/** 200 rows of `id,name,score`: about 4 KB. */
const longLineCsv = `id,text\n1,a\n2,${'x'.repeat(3000)}\n3,b\n4,${'y'.repeat(900)}\n5,c\n`;
const noBreaks = `id\r${'1\r'.repeat(128 * 1024)}`;
const bigCsv = `id,name,score\n${Array.from({ length: 200 }, (_, i) => `${i + 1},row-${i + 1},${(i * 0.5).toFixed(1)}`).join('\n')}\n`;

/** 200 tab-separated rows `id<TAB>name`, names holding commas: about 2.6 KB. */
const tsv = `id\tname\n${Array.from({ length: 200 }, (_, i) => `${i + 1}\tlast, first ${i + 1}`).join('\n')}\n`;

/**
 * Without a header, 3 fields a row but one: the first 1024 bytes end a line, so planned by 1024
 * bytes its second range starts at the short (ragged) row `2,x`.
 */
const headerless = `0,x,0\n1,${'y'.repeat(1013)},1\n2,x\n${Array.from({ length: 100 }, (_, i) => `${i + 3},x,${i + 3}`).join('\n')}\n`;

/** A header of 2 KB, longer than the mini-batch size the test plans with. */
const longColumns = Array.from({ length: 300 }, (_, i) => `column_${i}`);
const longHeader = `${longColumns.join(',')}\n${longColumns.map((_, i) => i).join(',')}\n`;

/** Every row of a table as its tries read them, range by range: rows, their names and the failures. */
async function readAll(input: TableInput, bytes: number) {
  const items = (await planned(input, bytes)).flat();
  const got = { items, inputs: [] as unknown[], missing: [] as { item: string; reason: string }[] };
  for (const item of items) {
    const one = await read(input, [item]);
    got.inputs.push(...one.inputs);
    got.missing.push(...one.missing);
  }
  return got;
}

beforeAll(async () => {
  storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  await storage.blobs.getContainerClient(container).create();
  await upload('csv/a.csv', 'id,name,score\n1,x,0.5\n');
  await upload('csv/b.csv', bigCsv);
  await upload('csv/c.csv', 'id,name,score\n9,z,1\n');
  await upload('bad/rows.csv', 'id,name,score\n1,ok,1\n2,ragged\n3,"bad"quote,1\n4,ok,2\n');
  await upload('bad/empty.csv', '');
  await upload('bad/empty.parquet', '');
  await upload('bad/old-mac.csv', 'id,name\r1,a\r2,b\r');
  await upload('bad/header-only.csv', 'id,name\n');
  await upload('bad/not.parquet', 'this is not parquet at all, only text\n');
  await upload('lines/a.jsonl', '{"id":1,"v":"x"}\n\nnot json\n[1,2]\n{"id":2,"v":"y"}\n');
  const columnData = [
    { name: 'id', data: Array.from({ length: 50 }, (_, i) => i + 1), type: 'INT32' as const },
    {
      name: 'species',
      data: Array.from({ length: 50 }, (_, i) => (i % 2 ? 'a' : 'b')),
      type: 'STRING' as const,
    },
  ];
  const parquet = Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: 10 }));
  await upload('pq/rows.parquet', parquet);
  await upload('pq-bad/truncated.parquet', parquet.subarray(0, parquet.length - 20));
  await upload('carry/k.jsonl', '{"id":1}\n{"x":2}\n{"id":3}\n');
  await upload('mix/x.csv', 'id\n1\nbad,extra\n3\n');
  await upload('mix/y.csv', manyIds);
  await upload('parts/species=setosa/1.csv', 'sepal\n1.1\n1.2\n');
  await upload('parts/species=virginica/1.csv', 'sepal\n3.1\n');
  await upload('parts/species=setosa/2.csv', 'sepal\n1.3\n');
  await upload('tsv/a.tsv', tsv);
  await upload('tsv-semi/a.tsv', 'id;name\n1;x\ty\n');
  await upload('noheader/dup.csv', '0,0\n1,1\n2,5\n');
  await upload('noheader/blank-first.csv', '\n\n7,8\n9,10\n');
  await upload('noheader/bad-first.csv', '"a"x,b\n1,2\n');
  await upload('noheader-split/short-rows.csv', headerless);
  // 9 bytes a line: the é of line 7,282 (from 1) is bytes 65,535 and 65,536, across the first 64 KB.
  await upload('noheader-accents/cafe.csv', 'nn,café\n'.repeat(22_000));
  await upload('long-header/a.csv', longHeader);
  await upload('blank-range/a.jsonl', `{"id":1}\n${'\n'.repeat(3000)}{"id":2}\n`);
  await upload('blank-only/a.jsonl', '\n\n\n');
  await upload('blank-only/b.csv', '\n\n\n');
  await upload(
    'pq-members/a.parquet',
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: [1, 2], type: 'INT32' },
          { name: '__proto__', data: ['x', 'y'], type: 'STRING' },
          { name: 'constructor', data: [0.5, 1.5], type: 'DOUBLE' },
        ],
      }),
    ),
  );
  await upload(
    'pq-twice/a.parquet',
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'a', data: [1, 2], type: 'INT32' },
          { name: 'a', data: [3, 4], type: 'INT32' },
        ],
      }),
    ),
  );
  await upload('quoted-header/a.csv', 'id,"first\nname"\n1,"a\nb"\n2,c\n');
  // Its first row group's pages garbled, its footer intact: only rows 1 to 10 cannot be read.
  const garbled = Buffer.from(parquet);
  const secondGroup = Number(parquetMetadata(toArrayBuffer(parquet)).row_groups[1]?.columns[0]?.file_offset);
  for (let i = 4; i < secondGroup; i++) garbled[i] = (i * 7) & 255;
  await upload('pq-garbled/a.parquet', garbled);
  await upload('big-ids/a.csv', 'id,score\n12345678901234567890,0.5\n7,1.5\n');
  // Old Mac line ends: no LF anywhere, so no line break a cut could use.
  await upload('no-breaks/a.csv', noBreaks);
  // Row 2 is about 3 KB: three nominal cuts of "1KB" fall inside it.
  await upload('long-line/a.csv', longLineCsv);
});

describe('planning a table by bytes', () => {
  it('splits a big CSV at line starts, never across files, and does not merge small files', async () => {
    const input: TableInput = { type: 'table', container, path: 'csv/' };
    const batches = await planned(input, 1024);
    expect(batches.every((b) => b.length === 1)).toBe(true);
    const items = batches.flat();
    expect(items[0]).toBe('a.csv#bytes=0-22');
    expect(items.at(-1)).toBe('c.csv#bytes=0-20');
    const ranges = items
      .filter((i) => i.startsWith('b.csv#'))
      .map((i) => i.slice('b.csv#bytes='.length).split('-').map(Number));
    expect(ranges.length).toBeGreaterThan(3);
    // Contiguous, covering the file, each cut just after a line break.
    expect(ranges[0]?.[0]).toBe(0);
    expect(ranges.at(-1)?.[1]).toBe(bigCsv.length);
    ranges.forEach(([start = 0], i) => {
      if (i > 0) expect(start).toBe(ranges[i - 1]?.[1]);
      if (start > 0) expect(bigCsv[start - 1]).toBe('\n');
    });
  });

  it('makes a mini-batch bigger than one range may hold of several ranges of its file, every row once', async () => {
    // As "1GB" is with ranges of at most 256 MB (a range is read as one string): here 3 KB of 1 KB ranges.
    const input: TableInput = { type: 'table', container, path: 'csv/' };
    const batches = (await planned(input, 3 * 1024, 1024)).filter((b) => b[0]?.startsWith('b.csv#'));
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.some((b) => b.length > 1)).toBe(true);
    const ranges = batches.map((b) => b.map((i) => i.slice('b.csv#bytes='.length).split('-').map(Number)));
    for (const group of ranges) {
      expect(group.every(([start = 0, end = 0]) => end - start <= 1024 + 64)).toBe(true);
      expect((group.at(-1)?.[1] ?? 0) - (group[0]?.[0] ?? 0)).toBeLessThanOrEqual(3 * 1024);
    }
    const rows: unknown[] = [];
    for (const batch of batches) rows.push(...(await read(input, batch)).inputs);
    expect(rows).toEqual(
      Array.from({ length: 200 }, (_, i) => ({ id: i + 1, name: `row-${i + 1}`, score: i * 0.5 })),
    );
  });

  it('reads each byte of a file without line breaks once at most while looking for cuts', async () => {
    // 256 KB with no line break, cut by "4KB": every nominal cut finds no line start before the
    // next one. Looking from each cut to the next line start read the rest of the file each time.
    const input: TableInput = { type: 'table', container, path: 'no-breaks/' };
    const counted = countingDownloads(storage);
    const runId = `table-${Math.random().toString(36).slice(2, 10)}`;
    const plan = await planTable(counted.storage, runId, input, 4096);
    expect(plan.miniBatches).toBe(1);
    expect(counted.bytes()).toBeLessThanOrEqual(noBreaks.length);
  });

  it('stops looking for cuts once its run has ended, reading little of a big file', async () => {
    // The same 256 KB without a line break: 63 cut lookups, the run ended after the third.
    const input: TableInput = { type: 'table', container, path: 'no-breaks/' };
    const counted = countingDownloads(storage);
    const runId = `table-${Math.random().toString(36).slice(2, 10)}`;
    let asked = 0;
    await expect(
      planTable(counted.storage, runId, input, 4096, { stopped: () => ++asked > 3 }),
    ).rejects.toThrow(`run '${runId}' ended while it was planned`);
    // The cuts already asked for ahead (8) at 4 KB each, and no more.
    expect(counted.bytes()).toBeLessThan(16 * 4096);
  });

  it('names a range too long to read as text, saying why, without reading it', async () => {
    // What the plan makes of a 600 MB file with newlines_in_quotes: one range, never split.
    const input: TableInput = { type: 'table', container, path: 'csv/', newlines_in_quotes: true };
    const got = await read(input, ['a.csv#bytes=0-629145600']);
    expect(got.inputs).toEqual([]);
    expect(got.missing).toEqual([
      {
        item: 'a.csv',
        reason:
          'is 600 MB in one range, more than a try can read as text (about 512 MB, the longest string V8 makes): with newlines_in_quotes a file is never split: split the file, or leave newlines_in_quotes out if no quoted field holds a line break',
      },
    ]);
  });

  it('leaves out the empty ranges between cuts that fall inside one long line', async () => {
    const input: TableInput = { type: 'table', container, path: 'long-line/' };
    const items = (await planned(input, 1024)).flat();
    const ranges = items.map((i) => i.slice('a.csv#bytes='.length).split('-').map(Number));
    expect(ranges.every(([start = 0, end = 0]) => end > start)).toBe(true);
    ranges.forEach(([start = 0], i) => expect(start).toBe(i === 0 ? 0 : ranges[i - 1]?.[1]));
    expect(ranges.at(-1)?.[1]).toBe(longLineCsv.length);
    const ids: unknown[] = [];
    for (const item of items)
      ids.push(...(await read(input, [item])).inputs.map((r) => (r as { id: unknown }).id));
    expect(ids).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives every range of a split CSV its header, and every row once, in order, typed', async () => {
    const input: TableInput = { type: 'table', container, path: 'csv/' };
    const items = (await planned(input, 1024)).flat().filter((i) => i.startsWith('b.csv#'));
    const rows: unknown[] = [];
    for (const item of items) {
      const got = await read(input, [item]);
      expect(got.missing).toEqual([]);
      expect(got.names[0]).toMatch(
        item.endsWith('#bytes=0-') || item.includes('#bytes=0-') ? /^b\.csv#row=1$/ : /&row=1$/,
      );
      rows.push(...got.inputs);
    }
    expect(rows).toEqual(
      Array.from({ length: 200 }, (_, i) => ({ id: i + 1, name: `row-${i + 1}`, score: i * 0.5 })),
    );
  });

  it('keeps a CSV whose quoted fields may hold line breaks whole', async () => {
    const input: TableInput = { type: 'table', container, path: 'csv/', newlines_in_quotes: true };
    expect((await planned(input, 1024)).flat()).toEqual([
      'a.csv#bytes=0-22',
      `b.csv#bytes=0-${bigCsv.length}`,
      'c.csv#bytes=0-20',
    ]);
  });

  it('splits a Parquet file by row groups, read from its footer', async () => {
    const input: TableInput = { type: 'table', container, path: 'pq/' };
    // Each row group its own mini-batch: not flattened, so a plan of one mini-batch would show.
    const items = (await planned(input, 1)).map((batch) => batch.join(' '));
    expect(items).toEqual([0, 10, 20, 30, 40].map((s) => `rows.parquet#rows=${s}-${s + 10}`));
    const got = await read(input, [items[2] ?? '']);
    expect(got.names).toEqual(Array.from({ length: 10 }, (_, i) => `rows.parquet#row=${21 + i}`));
    expect(got.inputs[0]).toEqual({ id: 21, species: 'b' });
    expect((await planned(input, 1024 * 1024)).flat()).toEqual(['rows.parquet#rows=0-50']);
  });
});

describe('a Parquet value with no plain form', () => {
  it('fails its row alone, naming the column: the rows beside it are read', async () => {
    await upload(
      'far-dates/t.parquet',
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'id', data: [1, 2, 3], type: 'INT32' },
            { name: 'at', data: [1n, 9223372036854775807n, 86_400_000n], type: 'TIMESTAMP' },
          ],
        }),
      ),
    );
    const got = await readAll({ type: 'table', container, path: 'far-dates/' }, 1024);
    expect(got.inputs).toEqual([
      { id: 1, at: '1970-01-01T00:00:00.001Z' },
      { id: 3, at: '1970-01-02T00:00:00.000Z' },
    ]);
    expect(got.missing).toEqual([
      {
        item: 't.parquet#row=2',
        reason: expect.stringMatching(/^column "at": a date or time outside/) as string,
      },
    ]);
  });
});

describe('text that is not UTF-8', () => {
  it('fails the file, saying what it is and to save it as UTF-8, instead of reading it garbled', async () => {
    const csv = 'id,name\n1,café\n';
    await upload(
      'encodings/utf16le.csv',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]),
    );
    await upload('encodings/latin1.jsonl', Buffer.from('{"id":1,"name":"café"}\n', 'latin1'));
    await upload('encodings/utf8.csv', `\ufeff${csv}`);
    const got = await readAll({ type: 'table', container, path: 'encodings/' }, 1024);
    expect(got.missing).toEqual([
      {
        item: 'latin1.jsonl',
        reason: expect.stringMatching(/^is not UTF-8 text .*save it as UTF-8/) as string,
      },
      { item: 'utf16le.csv', reason: expect.stringMatching(/^is UTF-16 text .*save it as UTF-8/) as string },
    ]);
    expect(got.inputs).toEqual([{ id: 1, name: 'café' }]);
  });

  it("fails a split file's later ranges too, whose own bytes look like text but whose header is not", async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `${i},x`).join('\n');
    await upload('encodings-split/latin1.csv', Buffer.from(`id,Größe\n${rows}\n`, 'latin1'));
    await upload('encodings-split/utf16-no-mark.csv', Buffer.from(`id,name\n${rows}\n`, 'utf16le'));
    const got = await readAll({ type: 'table', container, path: 'encodings-split/' }, 512);
    expect(got.items.length).toBeGreaterThan(4);
    expect(got.inputs).toEqual([]);
    expect(got.missing).toHaveLength(got.items.length);
    for (const { reason } of got.missing) expect(reason).toMatch(/^(is not UTF-8 text|holds NUL bytes)/);
  });
});

describe('a file changed after the plan', () => {
  it('is read at the version planned or not at all: each of its ranges fails, saying it changed', async () => {
    const input: TableInput = { type: 'table', container, path: 'versions/' };
    const parquet = (rows: number) =>
      Buffer.from(
        parquetWriteBuffer({
          columnData: [{ name: 'id', data: Array.from({ length: rows }, (_, i) => i + 1), type: 'INT32' }],
          rowGroupSize: 10,
        }),
      );
    await upload('versions/a.csv', bigCsv);
    await upload('versions/b.parquet', parquet(30));
    await upload('versions/c.csv', 'id\n1\n2\n');
    const items = (await versioned(input, 1024)).flat();
    expect(items.every((i) => /&etag=[^&]+$/.test(i))).toBe(true);
    // Rewritten under the plan: the same size with its lines elsewhere, and fewer rows.
    await upload(
      'versions/a.csv',
      `id,name,score\n${'9,x,1\n'.repeat(bigCsv.length / 6)}`.slice(0, bigCsv.length),
    );
    await upload('versions/b.parquet', parquet(5));
    const changed = items.filter((i) => !i.startsWith('c.csv#'));
    for (const item of changed) {
      const got = await read(input, [item]);
      expect(got.inputs, item).toEqual([]);
      expect(got.missing.map((m) => m.reason).join(), item).toMatch(
        /^blob .*versions\/[ab]\.[a-z]+ changed since the run was planned/,
      );
      // Named by its range, as a range that fails otherwise is; its version is the manifest's own.
      expect(got.missing.map((m) => m.item).join(), item).not.toContain('etag');
    }
    const unchanged = await read(
      input,
      items.filter((i) => i.startsWith('c.csv#')),
    );
    expect(unchanged.inputs).toEqual([{ id: 1 }, { id: 2 }]);
  });
});

describe('reading a table, record by record', () => {
  it('fails a ragged row and a malformed one alone, naming file and row', async () => {
    const input: TableInput = { type: 'table', container, path: 'bad/rows.csv' };
    const [[item = ''] = []] = await planned(input, 1024);
    const got = await read(input, [item]);
    expect(got.names).toEqual(['bad/rows.csv#row=1', 'bad/rows.csv#row=4']);
    expect(got.inputs).toEqual([
      { id: 1, name: 'ok', score: 1 },
      { id: 4, name: 'ok', score: 2 },
    ]);
    expect(got.missing.map((m) => m.item)).toEqual(['bad/rows.csv#row=2', 'bad/rows.csv#row=3']);
    expect(got.missing[0]?.reason).toBe('has 2 fields; the header has 3 (id, name, score)');
    expect(got.missing[1]?.reason).toMatch(/malformed CSV record: .*quote/i);
  });

  it('says an empty file, a header-only file and a file that is not Parquet are so', async () => {
    const reasons = async (path: string, format?: TableInput['format']) => {
      const input: TableInput = { type: 'table', container, path, ...(format ? { format } : {}) };
      const items = (await planned(input, 1024)).flat();
      return (await read(input, items)).missing;
    };
    expect(await reasons('bad/empty.csv')).toEqual([
      { item: 'bad/empty.csv', reason: 'is empty: no header and no rows' },
    ]);
    expect(await reasons('bad/empty.parquet')).toEqual([
      { item: 'bad/empty.parquet', reason: 'is empty: no Parquet footer and no rows' },
    ]);
    expect(await reasons('bad/old-mac.csv')).toEqual([
      {
        item: 'bad/old-mac.csv',
        reason:
          'has a header and no rows (its lines end with a carriage return alone, old Mac style: a line ends at \\n or \\r\\n; save it with those)',
      },
    ]);
    expect(await reasons('bad/header-only.csv')).toEqual([
      { item: 'bad/header-only.csv', reason: 'has a header and no rows' },
    ]);
    const notParquet = await reasons('bad/not.parquet');
    expect(notParquet).toHaveLength(1);
    expect(notParquet[0]?.reason).toMatch(/^is not a readable Parquet file/);
    const truncated = await reasons('pq-bad/truncated.parquet');
    expect(truncated[0]?.item).toBe('pq-bad/truncated.parquet');
    expect(truncated[0]?.reason).toMatch(/^is not a readable Parquet file/);
    // A format that does not match the bytes: a CSV read as Parquet.
    expect((await reasons('csv/a.csv', 'parquet'))[0]?.reason).toMatch(/^is not a readable Parquet file/);
  });

  it('reads JSON Lines objects, failing lines that are not objects, skipping blank ones', async () => {
    const input: TableInput = { type: 'table', container, path: 'lines/' };
    const got = await read(input, (await planned(input, 1024)).flat());
    expect(got.inputs).toEqual([
      { id: 1, v: 'x' },
      { id: 2, v: 'y' },
    ]);
    expect(got.names).toEqual(['a.jsonl#row=1', 'a.jsonl#row=4']);
    expect(got.missing.map((m) => m.item)).toEqual(['a.jsonl#row=2', 'a.jsonl#row=3']);
    expect(got.missing[0]?.reason).toMatch(/^not JSON/);
    expect(got.missing[1]?.reason).toMatch(/^not a JSON object/);
  });
});

describe('a mini-batch of several items', () => {
  it('names each row after its own file and row, a failed row left out of both lists', async () => {
    const input: TableInput = { type: 'table', container, path: 'mix/' };
    const items = (await planned(input, 256)).flat();
    const x = items.find((i) => i.startsWith('x.csv#'));
    const laterY = items.filter((i) => i.startsWith('y.csv#'))[1];
    if (!x || !laterY) throw new Error(`unexpected plan: ${items.join(' ')}`);
    const got = await read(input, [x, laterY]);
    expect(got.missing).toEqual([{ item: 'x.csv#row=2', reason: 'has 2 fields; the header has 1 (id)' }]);
    expect(got.names).toHaveLength(got.inputs.length);
    expect(got.names.slice(0, 3)).toEqual(['x.csv#row=1', 'x.csv#row=3', `${laterY}&row=1`]);
    // The later range's first row is the line its bytes start at.
    const start = Number(laterY.slice('y.csv#bytes='.length).split('-')[0]);
    const firstId = Number(manyIds.slice(start, manyIds.indexOf('\n', start)));
    expect(got.inputs.slice(0, 3)).toEqual([{ id: 1 }, { id: 3 }, { id: firstId }]);
    expect(got.names.at(-1)).toBe(`${laterY}&row=${got.inputs.length - 2}`);
  });
});

describe('carry_columns', () => {
  it('fails a CSV range whose header lacks a carried column as one line naming it', async () => {
    const input: TableInput = { type: 'table', container, path: 'csv/a.csv', carry_columns: ['id', 'key'] };
    const got = await read(input, (await planned(input, 1024)).flat());
    expect(got.inputs).toEqual([]);
    expect(got.missing).toEqual([
      { item: 'csv/a.csv', reason: 'has no column "key" (carry_columns); its columns: id, name, score' },
    ]);
  });

  it('fails a Parquet range whose schema lacks a carried column', async () => {
    const input: TableInput = { type: 'table', container, path: 'pq/', carry_columns: ['key'] };
    const got = await read(input, ['rows.parquet#rows=10-20']);
    expect(got.missing).toEqual([
      {
        item: 'rows.parquet#rows=10-20',
        reason: 'has no column "key" (carry_columns); its columns: id, species',
      },
    ]);
    const kept = await read({ ...input, carry_columns: ['species'] }, ['rows.parquet#rows=10-20']);
    expect(kept.inputs).toHaveLength(10);
  });

  it('fails a JSON line lacking a carried key alone, naming the key', async () => {
    const input: TableInput = { type: 'table', container, path: 'carry/', carry_columns: ['id'] };
    const got = await read(input, (await planned(input, 1024)).flat());
    expect(got.inputs).toEqual([{ id: 1 }, { id: 3 }]);
    expect(got.names).toEqual(['k.jsonl#row=1', 'k.jsonl#row=3']);
    expect(got.missing).toEqual([{ item: 'k.jsonl#row=2', reason: 'has no "id" (carry_columns)' }]);
  });
});

describe('partition_keys', () => {
  it('makes one mini-batch per key combination, whole files, with the key values', async () => {
    const input: TableInput = { type: 'table', container, path: 'parts/', partition_keys: ['species'] };
    const batches = await planned(input, 1024);
    expect(batches).toEqual([
      ['species=setosa/1.csv#bytes=0-14', 'species=setosa/2.csv#bytes=0-10'],
      ['species=virginica/1.csv#bytes=0-10'],
    ]);
    const setosa = await read(input, batches[0] ?? []);
    expect(setosa.partitionKeyValues).toEqual({ species: 'setosa' });
    expect(setosa.inputs).toEqual([{ sepal: 1.1 }, { sepal: 1.2 }, { sepal: 1.3 }]);
  });

  it('refuses keys the layout does not have, naming the setting', async () => {
    const input: TableInput = { type: 'table', container, path: 'parts/', partition_keys: ['region'] };
    const err: unknown = await tableKind.validate(storage, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParallelRunError);
    expect((err as ParallelRunError).field).toBe('partition_keys');
    expect((err as ParallelRunError).message).toMatch(/region=<value>\//);
  });

  it('refuses a file whose format is not known, naming input.format', async () => {
    await upload('odd/data.txt', 'a\n1\n');
    const err: unknown = await tableKind
      .validate(storage, { type: 'table', container, path: 'odd/' })
      .catch((e: unknown) => e);
    expect((err as ParallelRunError).field).toBe('input.format');
  });
});

describe('partition_keys named like object members', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'refuses %s when the folders lack it, at submit and at planning',
    async (key) => {
      const input: TableInput = { type: 'table', container, path: 'parts/', partition_keys: [key] };
      const err: unknown = await tableKind.validate(storage, input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParallelRunError);
      expect((err as ParallelRunError).field).toBe('partition_keys');
      expect((err as ParallelRunError).message).toContain(`${key}=<value>/`);
      const planErr: unknown = await tableKind
        .plan(storage, `table-${key.replaceAll('_', '')}`, input, kb(1024))
        .catch((e: unknown) => e);
      expect((planErr as ParallelRunError).field).toBe('partition_keys');
    },
  );
});

describe('Parquet columns named like object members', () => {
  it('keeps a column named __proto__ as a column of every row', async () => {
    const got = await readAll({ type: 'table', container, path: 'pq-members/' }, 1024);
    expect(got.missing).toEqual([]);
    expect(got.inputs).toHaveLength(2);
    const [first, second] = got.inputs as Record<string, unknown>[];
    expect(Object.keys(first ?? {})).toEqual(['id', '__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(first, '__proto__')?.value).toBe('x');
    expect(Object.getOwnPropertyDescriptor(second, '__proto__')?.value).toBe('y');
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(JSON.stringify(second)).toBe('{"id":2,"__proto__":"y","constructor":1.5}');
  });
});

describe('a Parquet schema naming a column twice', () => {
  it('fails the file as one error line naming the column, as a CSV header does', async () => {
    const got = await readAll({ type: 'table', container, path: 'pq-twice/' }, 1024);
    expect(got.inputs).toEqual([]);
    expect(got.missing).toEqual([{ item: 'a.parquet', reason: 'its schema names the column "a" twice' }]);
  });
});

describe('a header with a quoted line break', () => {
  it('is read as one record where quoted fields may hold line breaks', async () => {
    const input: TableInput = { type: 'table', container, path: 'quoted-header/', newlines_in_quotes: true };
    const got = await readAll(input, 1024);
    expect(got.missing).toEqual([]);
    expect(got.inputs).toEqual([
      { id: 1, 'first\nname': 'a\nb' },
      { id: 2, 'first\nname': 'c' },
    ]);
  });
});

describe('a Parquet file whose first row groups cannot be read', () => {
  it('names that range in its error line, not the file, whose other ranges are read', async () => {
    const got = await readAll({ type: 'table', container, path: 'pq-garbled/' }, 1);
    expect(got.items).toHaveLength(5);
    expect(got.inputs).toHaveLength(40);
    expect(got.missing.map((m) => m.item)).toEqual(['a.parquet#rows=0-10']);
    expect(got.missing[0]?.reason).toMatch(/^its rows 1 to 10 cannot be read: /);
  });
});

describe('tab-separated files', () => {
  it('reads a .tsv file by tabs, every range of a split one too', async () => {
    const input: TableInput = { type: 'table', container, path: 'tsv/' };
    const got = await readAll(input, 1024);
    expect(got.items.length).toBeGreaterThan(1);
    expect(got.missing).toEqual([]);
    expect(got.inputs).toEqual(
      Array.from({ length: 200 }, (_, i) => ({ id: i + 1, name: `last, first ${i + 1}` })),
    );
  });

  it('lets input.delimiter win over the extension', async () => {
    const input: TableInput = { type: 'table', container, path: 'tsv-semi/', delimiter: ';' };
    expect((await readAll(input, 1024)).inputs).toEqual([{ id: 1, name: 'x\ty' }]);
  });
});

describe('header: false', () => {
  it('reads a first record with repeated values as data', async () => {
    const input: TableInput = { type: 'table', container, path: 'noheader/dup.csv', header: false };
    const got = await readAll(input, 1024);
    expect(got.missing).toEqual([]);
    expect(got.inputs).toEqual([
      { c1: 0, c2: 0 },
      { c1: 1, c2: 1 },
      { c1: 2, c2: 5 },
    ]);
  });

  it('takes the width from the first record after blank lines, or from an unreadable one', async () => {
    const blank = await readAll(
      { type: 'table', container, path: 'noheader/blank-first.csv', header: false },
      1024,
    );
    expect(blank.missing).toEqual([]);
    expect(blank.inputs).toEqual([
      { c1: 7, c2: 8 },
      { c1: 9, c2: 10 },
    ]);
    const bad = await readAll(
      { type: 'table', container, path: 'noheader/bad-first.csv', header: false },
      1024,
    );
    expect(bad.inputs).toEqual([{ c1: 1, c2: 2 }]);
    expect(bad.missing.map((m) => m.item)).toEqual(['noheader/bad-first.csv#row=1']);
    expect(bad.missing[0]?.reason).toMatch(/^malformed CSV record/);
  });

  it("gives a split file's every range the width of the file's first record", async () => {
    const input: TableInput = { type: 'table', container, path: 'noheader-split/', header: false };
    const whole = await readAll(input, 1024 * 1024);
    expect(whole.items).toHaveLength(1);
    expect(whole.inputs).toHaveLength(102);
    expect(whole.missing).toEqual([
      { item: 'short-rows.csv#row=3', reason: 'has 2 fields; the header has 3 (c1, c2, c3)' },
    ]);
    const split = await readAll(input, 1024);
    expect(split.items[1]).toMatch(/^short-rows\.csv#bytes=1024-/);
    expect(split.inputs).toEqual(whole.inputs);
    expect(split.missing).toEqual([
      {
        item: `${split.items[1] ?? ''}&row=1`,
        reason: 'has 2 fields; the header has 3 (c1, c2, c3)',
      },
    ]);
  });
});

describe('header: false, a split file of accented text', () => {
  it("reads a later range's width from the file's start even where a character straddles the first window's end", async () => {
    const input: TableInput = { type: 'table', container, path: 'noheader-accents/', header: false };
    const got = await readAll(input, 100 * 1024);
    expect(got.items.length).toBeGreaterThan(1);
    expect(got.missing).toEqual([]);
    expect(got.inputs).toHaveLength(22_000);
    expect(got.inputs.at(-1)).toEqual({ c1: 'nn', c2: 'café' });
  });
});

describe('a split CSV whose header fills its first range', () => {
  it('reads the first range as empty, not as a file with a header and no rows', async () => {
    const input: TableInput = { type: 'table', container, path: 'long-header/' };
    const got = await readAll(input, 1024);
    expect(got.items.length).toBeGreaterThan(1);
    expect(got.missing).toEqual([]);
    expect(got.inputs).toEqual([Object.fromEntries(longColumns.map((c, i) => [c, i]))]);
  });
});

describe('integers beyond 2^53', () => {
  it('keeps them as text, carried join keys too', async () => {
    const input: TableInput = { type: 'table', container, path: 'big-ids/', carry_columns: ['id'] };
    expect((await readAll(input, 1024)).inputs).toEqual([
      { id: '12345678901234567890', score: 0.5 },
      { id: 7, score: 1.5 },
    ]);
  });
});

describe('a range that holds no rows', () => {
  it('is simply empty in a split file; only a whole file of blank lines is an error line', async () => {
    const split = await readAll({ type: 'table', container, path: 'blank-range/' }, 1024);
    expect(split.items.length).toBeGreaterThan(2);
    expect(split.missing).toEqual([]);
    expect(split.inputs).toEqual([{ id: 1 }, { id: 2 }]);
    const blank = await readAll({ type: 'table', container, path: 'blank-only/', header: false }, 1024);
    expect(blank.missing).toEqual([
      { item: 'a.jsonl', reason: 'has no rows (only blank lines)' },
      { item: 'b.csv', reason: 'has no rows (only blank lines)' },
    ]);
  });
});
