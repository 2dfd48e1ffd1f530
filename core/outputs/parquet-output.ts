import type { BlockBlobClient } from '@azure/storage-blob';
import { ByteWriter, ParquetWriter, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import { downloadBlob } from '../storage/storage.js';
import type { ComposeResult } from './compose.js';
import type { Part } from './part.js';
import { widen, type ColumnType } from './formats.js';
import { fieldOf } from './rows.js';

/** Rows gathered before a row group is written: memory holds one group, however big the output. */
const ROWS_PER_GROUP = 50_000;

/**
 * Hands each row group's bytes to the blob as a staged block and starts again at the buffer's
 * start: the Parquet writer counts file offsets itself, so the file never sits whole in memory.
 */
class BlockWriter extends ByteWriter {
  readonly ids: string[] = [];

  constructor(private readonly target: BlockBlobClient) {
    super(1024 * 1024);
  }

  async flush(): Promise<void> {
    if (this.index === 0) return;
    const bytes = Buffer.from(this.getBytes());
    this.index = 0;
    const id = Buffer.from(String(this.ids.length).padStart(8, '0')).toString('base64');
    this.ids.push(id);
    await this.target.stageBlock(id, bytes, bytes.length);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.target.commitBlockList(this.ids, {
      blobHTTPHeaders: { blobContentType: 'application/vnd.apache.parquet' },
    });
  }
}

const PARQUET_TYPE = { int32: 'INT32', double: 'DOUBLE', boolean: 'BOOLEAN', string: 'STRING' } as const;

function cellOf(value: unknown, type: ColumnType): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'string') return typeof value === 'string' ? value : JSON.stringify(value);
  return value;
}

/** Columns and their types over all parts, in the order columns first appear. */
async function schemaOf(parts: AsyncIterable<Part>): Promise<Map<string, ColumnType>> {
  const columns = new Map<string, ColumnType>();
  for await (const part of parts)
    (part.columns ?? []).forEach((c, i) =>
      columns.set(c, widen(columns.get(c) ?? null, part.types?.[i] ?? null)),
    );
  return columns;
}

/**
 * A Parquet output from the parts (JSON lines), in mini-batch order: one schema over all parts
 * (a column only some parts have is null elsewhere), row groups of up to ROWS_PER_GROUP rows.
 */
export async function composeParquet(
  parts: () => AsyncIterable<Part>,
  target: BlockBlobClient,
): Promise<ComposeResult> {
  const columns = await schemaOf(parts());
  const names = [...columns.keys()];
  const sources = (data: unknown[][]): ColumnSource[] =>
    names.map((name, i) => ({
      name,
      data: data[i] ?? [],
      type: PARQUET_TYPE[columns.get(name) ?? 'string'],
      nullable: true,
    }));
  const writer = new BlockWriter(target);
  const parquet = new ParquetWriter({ writer, schema: schemaFromColumnData({ columnData: sources([]) }) });
  let group: unknown[][] = names.map(() => []);
  let rows = 0;
  let count = 0;
  const writeGroup = async () => {
    if (rows === 0) return;
    await parquet.write({ columnData: sources(group) });
    group = names.map(() => []);
    rows = 0;
  };
  for await (const part of parts()) {
    if (part.size === 0) continue;
    count++;
    for (const line of (await downloadBlob(part.blob)).toString('utf8').split('\n')) {
      if (line === '') continue;
      const row = JSON.parse(line) as Record<string, unknown>;
      names.forEach((name, i) => group[i]?.push(cellOf(fieldOf(row, name), columns.get(name) ?? 'string')));
      if (++rows === ROWS_PER_GROUP) await writeGroup();
    }
  }
  await writeGroup();
  await parquet.finish();
  await writer.close();
  return { bytes: writer.offset, parts: count, serverSide: false };
}
