import type { BlockBlobClient } from '@azure/storage-blob';
import { loadRun, type RunRecord } from '../runs/record.js';
import { containers, indexOfPart, runPaths } from '../storage/layout.js';
import { listBlobs } from '../storage/list-blobs.js';
import { ensureContainer, readJson, writeJson, writeText, type Storage } from '../storage/storage.js';
import { composeOutput, type Part } from './compose-output.js';
import { listParts } from './part-listing.js';
import { decodeColumns, decodeTypes } from './formats.js';
import { registerCompleted } from './reuse.js';
import { errorOf, type FailureRecord, type RunTotals } from './records.js';
import { overviewText, type RunStatus, type RunSummary } from './summary.js';

export interface FinalizeInput {
  runId: string;
  status: RunStatus;
  reason?: string;
  totals: RunTotals;
  startedAt: string;
  /** The run's fingerprint: a Completed run is registered under it, for later runs to reuse. */
  fingerprint?: string;
  /** allow_reuse found this Completed run: its results are served, nothing was run. */
  reusedFrom?: string;
  /** A resume: the mini-batches (and their items) kept from the run it resumed. */
  reused?: { miniBatches: number; items: number };
}

const BLOCK_BYTES = 4 * 1024 * 1024;

/** Writes lines to a block blob in 4 MiB blocks: memory stays flat however many lines there are. */
async function writeLines(target: BlockBlobClient, lines: AsyncIterable<string>): Promise<number> {
  const ids: string[] = [];
  let chunk: string[] = [];
  let size = 0;
  let count = 0;
  const flush = async () => {
    const body = Buffer.from(chunk.join(''), 'utf8');
    const id = Buffer.from(String(ids.length).padStart(8, '0')).toString('base64');
    await target.stageBlock(id, body, body.length);
    ids.push(id);
    chunk = [];
    size = 0;
  };
  for await (const line of lines) {
    chunk.push(`${line}\n`);
    size += line.length + 1;
    count++;
    if (size >= BLOCK_BYTES) await flush();
  }
  if (size > 0) await flush();
  await target.commitBlockList(ids, {
    blobHTTPHeaders: { blobContentType: 'application/x-ndjson; charset=utf-8' },
  });
  return count;
}

/** Failed items reported by each written part (its metadata), by mini-batch index. */
type PartFailures = Map<number, number>;

/**
 * The parts in mini-batch order; as it goes it notes the failed-item count of each mini-batch a part
 * covers in `failures`.
 */
async function* scanParts(storage: Storage, runId: string, failures: PartFailures): AsyncGenerator<Part> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  for await (const { first, last, failed, blob } of listParts(storage, runId)) {
    for (let index = first; index <= last; index++) failures.set(index, failed);
    const rows = blob.metadata.rows;
    const columns = decodeColumns(blob.metadata.columns);
    const types = decodeTypes(blob.metadata.types);
    yield {
      blob: runs.getBlobClient(blob.name),
      size: blob.contentLength,
      ...(rows === undefined ? {} : { rows: Number(rows) }),
      ...(columns === undefined ? {} : { columns }),
      ...(types === undefined ? {} : { types }),
    };
  }
}

/** Lists the parts once: either while composing them, or here when there is nothing to compose. */
async function partFailures(storage: Storage, runId: string, known?: PartFailures): Promise<PartFailures> {
  if (known) return known;
  const failures: PartFailures = new Map();
  const parts = scanParts(storage, runId, failures);
  while (!(await parts.next()).done) {
    // draining the listing fills `failures`
  }
  return failures;
}

async function* errorLines(storage: Storage, runId: string, parts: PartFailures): AsyncGenerator<string> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  for await (const blob of listBlobs(runs, { prefix: runPaths.failuresPrefix(runId) })) {
    // A record whose mini-batch has a part reporting no failures was left by an earlier run of the same try.
    if (parts.get(indexOfPart(blob.name)) === 0) continue;
    const record = await readJson<FailureRecord>(runs, blob.name);
    if (!record) continue;
    for (const item of record.items) {
      const { error, stack } = errorOf(record, item);
      yield JSON.stringify({
        item: item.item,
        mini_batch: record.index,
        attempts: record.attempts,
        kind: item.kind,
        error,
        ...(stack ? { stack } : {}),
      });
    }
  }
}

/**
 * Fan-in: composes the append_row output in mini-batch order (server-side where the service allows),
 * writes errors.jsonl, summary.json and logs/overview.txt. Every name is fixed: running it again rewrites
 * the same files.
 */
export async function finalizeRun(storage: Storage, input: FinalizeInput): Promise<RunSummary> {
  const run = await loadRun(storage, input.runId);
  const runs = storage.blobs.getContainerClient(containers.runs);
  const done = await readJson<RunSummary>(runs, runPaths.summary(input.runId));
  if (done) {
    // Finalize ran before (at least once): its summary is written last, so everything else is in place,
    // but the reuse index, written after it, may not be.
    if (input.fingerprint) await registerCompleted(storage, input.fingerprint, done);
    return done;
  }
  if (input.reusedFrom) return writeReusedSummary(storage, run, input);
  const summary = await finalizeRan(storage, run, input);
  if (input.fingerprint) await registerCompleted(storage, input.fingerprint, summary);
  return summary;
}

/** What finalizeRun writes for a run whose mini-batches ran (all, some, or none before a cancel). */
async function finalizeRan(storage: Storage, run: RunRecord, input: FinalizeInput): Promise<RunSummary> {
  const s = run.settings;
  const blobs = storage.blobs;
  let status: RunStatus = input.status;
  let reason = input.reason;
  let output: RunSummary['output'];
  let failures: PartFailures | undefined;
  if (status === 'Canceled') {
    // The shards ended without waiting for their tries: the counts are what storage holds.
    failures = new Map();
    const written = await countWritten(storage, input.runId, failures);
    return writeSummary(
      storage,
      run,
      {
        status,
        ...(reason ? { reason } : {}),
        totals: rowTotals(run, { ...input.totals, ...written }),
        startedAt: input.startedAt,
        ...resumeLineage(run, input, { ...input.totals, ...written }),
      },
      failures,
    );
  }

  if (status === 'Completed' && s.output_action === 'append_row') {
    if (input.totals.itemsSucceeded === 0) {
      status = 'Failed';
      // Every item may have failed before run() was called (a table's files unreadable): not said as if run() had them.
      reason = `no result to append: none of the ${input.totals.items} items gave a row (each failed, or run() returned none for it; output_action append_row); see errors.jsonl for why`;
    } else {
      const container = await ensureContainer(blobs.getContainerClient(s.output.container));
      const blob = `${s.output.path ? `${s.output.path.replace(/\/$/, '')}/` : ''}${input.runId}/${s.append_row_file_name}`;
      const seen: PartFailures = new Map();
      failures = seen;
      const composed = await composeOutput(
        storage,
        input.runId,
        s.append_row_format,
        () => scanParts(storage, input.runId, seen),
        container.getBlockBlobClient(blob),
      );
      output = {
        container: s.output.container,
        blob,
        bytes: composed.bytes,
        composedServerSide: composed.serverSide,
      };
    }
  }
  return writeSummary(
    storage,
    run,
    {
      status,
      ...(reason ? { reason } : {}),
      totals: rowTotals(run, input.totals),
      startedAt: input.startedAt,
      ...(output ? { output } : {}),
      ...resumeLineage(run, input, input.totals),
    },
    failures,
  );
}

/**
 * A table's items are its rows, counted by the tries that read them (the plan counted byte and row
 * ranges): every row read ended as a row of the output or an error line.
 */
function rowTotals(run: RunRecord, totals: RunTotals): RunTotals {
  if (run.settings.input.type !== 'table') return totals;
  return { ...totals, items: totals.itemsSucceeded + totals.itemsFailed };
}

/** A resume's summary names the run it resumed and what it reused and ran again. */
function resumeLineage(
  run: RunRecord,
  input: FinalizeInput,
  totals: RunTotals,
): Pick<RunSummary, 'resumedFrom' | 'resume'> {
  if (!run.resumeOf) return {};
  const reused = input.reused ?? { miniBatches: 0, items: 0 };
  const ended = totals.miniBatchesSucceeded + totals.miniBatchesFailed;
  return {
    resumedFrom: run.resumeOf,
    resume: {
      miniBatchesReused: reused.miniBatches,
      itemsReused: reused.items,
      miniBatchesRerun: Math.max(ended - reused.miniBatches, 0),
    },
  };
}

/**
 * A reused run's summary: the earlier run's totals (no try of its own), output, errors and script log,
 * pointed at rather than copied (README, "Reuse and resume"); its own overview says so.
 */
async function writeReusedSummary(
  storage: Storage,
  run: RunRecord,
  input: FinalizeInput,
): Promise<RunSummary> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  const from = input.reusedFrom ?? '';
  const source = await readJson<RunSummary>(runs, runPaths.summary(from));
  const finishedAt = new Date();
  const summary: RunSummary = {
    runId: run.runId,
    status: source ? 'Completed' : 'Failed',
    ...(source
      ? {}
      : {
          reason: `the run it reuses, '${from}', has no summary any more: submit again with allow_reuse false`,
        }),
    totals: source ? { ...source.totals, tries: 0 } : input.totals,
    thresholds: thresholdsOf(run),
    models: run.models ?? {},
    startedAt: input.startedAt,
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.max((finishedAt.getTime() - new Date(input.startedAt).getTime()) / 1000, 0.001),
    itemsPerSecond: 0,
    ...(source?.output ? { output: source.output } : {}),
    errors: source?.errors ?? { container: containers.runs, blob: runPaths.errors(run.runId), lines: 0 },
    logs: {
      overview: runPaths.overview(run.runId),
      script: source?.logs.script ?? runPaths.scriptLog(run.runId),
    },
    reusedFrom: from,
  };
  await writeText(runs, runPaths.overview(run.runId), overviewText(summary));
  await writeJson(runs, runPaths.summary(run.runId), summary);
  return summary;
}

function thresholdsOf({ settings: s }: RunRecord): RunSummary['thresholds'] {
  return {
    error_threshold: s.error_threshold,
    mini_batch_error_threshold: s.mini_batch_error_threshold,
    allowed_failed_percent: s.allowed_failed_percent,
  };
}

/** errors.jsonl, logs/overview.txt, then summary.json last: a summary's presence means the rest is written. */
async function writeSummary(
  storage: Storage,
  run: RunRecord,
  end: Pick<RunSummary, 'status' | 'reason' | 'totals' | 'startedAt' | 'output' | 'resumedFrom' | 'resume'>,
  failures?: PartFailures,
): Promise<RunSummary> {
  const { runId } = run;
  const runs = storage.blobs.getContainerClient(containers.runs);
  const parts = await partFailures(storage, runId, failures);
  const lines = await writeLines(
    runs.getBlockBlobClient(runPaths.errors(runId)),
    errorLines(storage, runId, parts),
  );
  const finishedAt = new Date();
  const seconds = Math.max((finishedAt.getTime() - new Date(end.startedAt).getTime()) / 1000, 0.001);
  const summary: RunSummary = {
    runId,
    ...end,
    thresholds: thresholdsOf(run),
    models: run.models ?? {},
    finishedAt: finishedAt.toISOString(),
    durationSeconds: seconds,
    itemsPerSecond: (end.totals.itemsSucceeded + end.totals.itemsFailed) / seconds,
    errors: { container: containers.runs, blob: runPaths.errors(runId), lines },
    logs: { overview: runPaths.overview(runId), script: runPaths.scriptLog(runId) },
  };
  await writeText(runs, runPaths.overview(runId), overviewText(summary));
  await writeJson(runs, runPaths.summary(runId), summary);
  return summary;
}

type WrittenTotals = Pick<
  RunTotals,
  'itemsSucceeded' | 'itemsFailed' | 'miniBatchesSucceeded' | 'miniBatchesFailed'
>;

/**
 * What the run's mini-batches wrote: each part's rows (one a line) and its failed items (its metadata),
 * and the failure records of mini-batches that wrote no part (every try failed). A record beside a part
 * that reports no failures is stale (an earlier run of the same try), as in errors.jsonl.
 */
async function countWritten(storage: Storage, runId: string, parts: PartFailures): Promise<WrittenTotals> {
  const runs = storage.blobs.getContainerClient(containers.runs);
  const totals: WrittenTotals = {
    itemsSucceeded: 0,
    itemsFailed: 0,
    miniBatchesSucceeded: 0,
    miniBatchesFailed: 0,
  };
  for await (const part of scanParts(storage, runId, parts)) {
    if (part.rows !== undefined) {
      totals.itemsSucceeded += part.rows;
      continue;
    }
    // A part from before parts said their row count: one row a line.
    const text = part.size > 0 ? (await part.blob.downloadToBuffer()).toString('utf8') : '';
    let rows = 0;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) rows++;
    totals.itemsSucceeded += rows;
  }
  for (const failed of parts.values()) {
    totals.itemsFailed += failed;
    if (failed > 0) totals.miniBatchesFailed++;
    else totals.miniBatchesSucceeded++;
  }
  for await (const blob of listBlobs(runs, { prefix: runPaths.failuresPrefix(runId) })) {
    if (parts.has(indexOfPart(blob.name))) continue;
    const record = await readJson<FailureRecord>(runs, blob.name);
    totals.itemsFailed += record?.items.length ?? 0;
    totals.miniBatchesFailed++;
  }
  return totals;
}
