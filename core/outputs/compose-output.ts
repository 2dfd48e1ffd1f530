import { parse } from 'csv-parse/sync';
import type { BlobClient, BlockBlobClient } from '@azure/storage-blob';
import type { AppendRowFormat } from '../config/settings.js';
import { containers, indexOfPart, runPaths } from '../storage/layout.js';
import { downloadBlob, type Storage } from '../storage/storage.js';
import { composeBlobs, type ComposeResult } from './compose.js';
import { csvHeader, csvLines } from './formats.js';
import type { Part } from './part.js';

export type { Part } from './part.js';
import { composeParquet } from './parquet-output.js';

/** The columns of a CSV output: every part's, in the order they first appear in mini-batch order. */
async function outputColumns(parts: AsyncIterable<Part>): Promise<string[]> {
  const seen = new Set<string>();
  for await (const part of parts) for (const column of part.columns ?? []) seen.add(column);
  return [...seen];
}

function sameColumns(a: string[] | undefined, b: string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((c, i) => c === b[i]);
}

/**
 * A CSV part whose columns differ from the output's is written again under them (a column it lacks
 * stays empty), beside the parts; the others are composed as they are.
 */
async function* underColumns(
  storage: Storage,
  runId: string,
  parts: AsyncIterable<Part>,
  columns: string[],
): AsyncGenerator<{ blob: BlobClient; size: number }> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  const header = runs.getBlockBlobClient(runPaths.outputHeader(runId));
  const headerBytes = Buffer.from(csvHeader(columns), 'utf8');
  await header.upload(headerBytes, headerBytes.length);
  yield { blob: header, size: headerBytes.length };
  for await (const part of parts) {
    if (part.size === 0 || part.columns === undefined || sameColumns(part.columns, columns)) {
      yield part;
      continue;
    }
    const own = part.columns;
    const records: string[][] = parse((await downloadBlob(part.blob)).toString('utf8'), {
      relax_column_count: true,
    });
    const rows = records.map((fields) => Object.fromEntries(own.map((c, i) => [c, fields[i] ?? null])));
    const bytes = Buffer.from(csvLines(rows, columns), 'utf8');
    const again = runs.getBlockBlobClient(runPaths.outputPart(runId, indexOfPart(part.blob.name)));
    await again.upload(bytes, bytes.length);
    yield { blob: again, size: bytes.length };
  }
}

/**
 * The append_row output from the parts, in mini-batch order. CSV gets one header (the columns of all
 * parts) before the parts' lines; Parquet is written from them with one schema; text and JSON Lines
 * are the parts as they are.
 */
export async function composeOutput(
  storage: Storage,
  runId: string,
  format: AppendRowFormat | undefined,
  parts: () => AsyncIterable<Part>,
  target: BlockBlobClient,
): Promise<ComposeResult> {
  if (format === 'parquet') return composeParquet(parts, target);
  if (format !== 'csv') return composeBlobs(storage.blobs, parts(), target);
  const columns = await outputColumns(parts());
  if (columns.length === 0) return composeBlobs(storage.blobs, parts(), target);
  return composeBlobs(storage.blobs, underColumns(storage, runId, parts(), columns), target);
}
