import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { errorMessage, NotFoundError, ParallelRunError } from '../../core/errors.js';
import { finalizeRun } from '../../core/outputs/finalize.js';
import { contentTypeOf, headLines, holdsText, readAll, readBytes } from '../../core/outputs/read.js';
import type { RunSummary } from '../../core/outputs/summary.js';
import { loadRun, type RunRecord } from '../../core/runs/record.js';
import { datasetKindOf } from '../../core/datasets/index.js';
import { endRun } from '../../core/runner/pools.js';
import { prepareRun } from '../../core/runner/submit.js';
import { containers, runPaths } from '../../core/storage/layout.js';
import { readJson, storage } from '../../core/storage/storage.js';
import type { CancelRun, RunProgress, ShardProgress, StopShard } from '../../orchestrations/contracts.js';
import { events, orchestrators, shardInstanceId } from '../../orchestrations/names.js';
import type { RunOutput } from '../../orchestrations/parallelRun.js';
import { knownQuery, runIdParam } from '../http/params.js';
import { bodyText, guarded, json, problem, readJsonBody } from '../http/respond.js';
import { progressClock, progressView, type ProgressView } from './progress.js';
import { filterRuns, runFilters, type RunFilters, type RunState } from './run-filters.js';

export interface RunView {
  runId: string;
  status: RunState;
  phase?: RunProgress['phase'];
  reason?: string;
  /** The published pipeline it is a run of, if any. */
  pipeline?: string;
  runName?: string;
  createdTime: string;
  lastUpdatedTime: string;
  progress?: ProgressView;
  summary?: RunSummary;
  /** allow_reuse: the earlier Completed run whose results this run serves (known once it is fingerprinted). */
  reusedFrom?: string;
  /** A resume: the run it resumed. */
  resumedFrom?: string;
  links: Record<string, string>;
}

export function links(runId: string): Record<string, string> {
  const base = `/api/runs/${encodeURIComponent(runId)}`;
  return { status: base, output: `${base}/output`, errors: `${base}/errors`, cancel: `${base}/cancel` };
}

export async function statusOf(
  client: df.DurableClient,
  runId: string,
): Promise<df.DurableOrchestrationStatus> {
  let status: df.DurableOrchestrationStatus;
  try {
    status = await client.getStatus(runId);
  } catch (err) {
    // The client has no error type for "no such instance", only this message; anything else is a real failure.
    if (!errorMessage(err).includes('replied with HTTP 404')) throw err;
    throw new NotFoundError(`run '${runId}' does not exist`);
  }
  if (status.name.toLowerCase() !== orchestrators.run.toLowerCase()) {
    throw new NotFoundError(`run '${runId}' does not exist`);
  }
  return status;
}

async function liveShards(
  client: df.DurableClient,
  runId: string,
  progress: RunProgress,
): Promise<ShardProgress[]> {
  const out: ShardProgress[] = [];
  for (const shard of progress.inFlightShards) {
    const s = await client.getStatus(shardInstanceId(runId, shard)).catch(() => undefined);
    if (s?.customStatus) out.push(s.customStatus as ShardProgress);
  }
  return out;
}

/** What run.json says of a run that a list shows: who started it (`source`) and its name. */
interface Origin {
  source?: RunRecord['source'];
  runName?: string;
}

/** Origins already read: run.json never changes, and a list of hundreds of runs is asked every few seconds. */
const origins = new Map<string, Origin>();
const MAX_ORIGINS = 10_000;

/** Who started the run and its name, from run.json (read once per process: it never changes). */
export async function originOf(runId: string): Promise<Origin> {
  const known = origins.get(runId);
  if (known) return known;
  const record = await loadRun(storage(), runId).catch(() => undefined);
  // Not kept when unread: run.json may be written a moment after the run's instance appears.
  if (!record) return {};
  const origin = {
    source: record.source,
    ...(record.settings.run_name === undefined ? {} : { runName: record.settings.run_name }),
  };
  if (origins.size >= MAX_ORIGINS) origins.delete(origins.keys().next().value ?? '');
  origins.set(runId, origin);
  return origin;
}

/** What a view reads beyond the run's own status: its shards in flight (live progress), its summary once ended. */
export interface ViewDetail {
  shards: boolean;
  summary: boolean;
}

/** A run's own view (GET /api/runs/{id}): everything. */
export const FULL_VIEW: ViewDetail = { shards: true, summary: true };
/** The runs list: live progress, no summary per run. */
const LISTED_VIEW: ViewDetail = { shards: true, summary: false };
/** An answer to a request about the run (cancel): its status only. */
const STATUS_VIEW: ViewDetail = { shards: false, summary: false };

export async function viewOf(
  client: df.DurableClient,
  status: df.DurableOrchestrationStatus,
  detail: ViewDetail,
): Promise<RunView> {
  const runId = status.instanceId;
  const progress = status.customStatus as RunProgress | null;
  const { source, runName } = await originOf(runId);
  const view: RunView = {
    runId,
    status: 'Running',
    ...(source && source.kind !== 'api' ? { pipeline: source.pipeline } : {}),
    ...(runName === undefined ? {} : { runName }),
    createdTime: new Date(status.createdTime).toISOString(),
    lastUpdatedTime: new Date(status.lastUpdatedTime).toISOString(),
    links: links(runId),
  };
  if (progress) view.phase = progress.phase;
  if (progress?.reusedFrom) view.reusedFrom = progress.reusedFrom;
  switch (status.runtimeStatus) {
    case df.OrchestrationRuntimeStatus.Pending:
      view.status = 'Pending';
      break;
    case df.OrchestrationRuntimeStatus.Completed: {
      const out = status.output as RunOutput;
      view.status = out.status;
      if (out.reason) view.reason = out.reason;
      if (out.reusedFrom) view.reusedFrom = out.reusedFrom;
      if (out.resumedFrom) view.resumedFrom = out.resumedFrom;
      break;
    }
    case df.OrchestrationRuntimeStatus.Terminated:
      view.status = 'Canceled';
      view.reason = typeof status.output === 'string' ? status.output : 'canceled';
      break;
    case df.OrchestrationRuntimeStatus.Failed:
      view.status = 'Failed';
      view.reason = String(status.output);
      break;
    default:
      break;
  }
  // A reused run ran nothing: counts of zero would read as a run that did no work; its summary tells.
  if (progress && progress.phase !== 'planning' && !view.reusedFrom) {
    const running = view.status === 'Running' || view.status === 'Pending';
    view.progress = progressView(
      progress,
      detail.shards && view.status === 'Running' ? await liveShards(client, runId, progress) : [],
      progressClock(!running, status.lastUpdatedTime),
    );
  }
  if (detail.summary && view.status !== 'Running' && view.status !== 'Pending') {
    const summary = await readJson<RunSummary>(
      storage().blobs.getContainerClient(containers.runs),
      runPaths.summary(runId),
    );
    if (summary) view.summary = summary;
    if (summary?.reusedFrom) view.reusedFrom = summary.reusedFrom;
    if (summary?.resumedFrom) view.resumedFrom = summary.resumedFrom;
  }
  return view;
}

/** Validates, writes run.json and starts the run's orchestration: 202 with the run's links. */
export async function startRun(
  client: df.DurableClient,
  context: InvocationContext,
  settings: unknown,
  source: RunRecord['source'],
): Promise<HttpResponseInit> {
  const run = await prepareRun(storage(), settings, source);
  await client.startNew(orchestrators.run, { instanceId: run.runId, input: { runId: run.runId } });
  context.log(
    `run ${run.runId} started: ${run.settings.entry_script} over ${datasetKindOf(run.settings.input).describe(run.settings.input)}`,
  );
  return json(
    202,
    { runId: run.runId, status: 'Pending', links: links(run.runId) },
    { location: links(run.runId).status ?? '' },
  );
}

const submit = guarded(
  async (
    request: HttpRequest,
    client: df.DurableClient,
    context: InvocationContext,
  ): Promise<HttpResponseInit> =>
    startRun(client, context, readJsonBody(await bodyText(request)), { kind: 'api' }),
);

/** Views built at once while a list is read: each reads the run's origin and its shards in flight. */
const VIEWS_AT_ONCE = 32;

/**
 * Runs' views newest first, less those the filters leave out: a running run's progress as live as
 * its own view shows it (its shards in flight report there first), an ended run's without its
 * summary. Views are built only until `top` runs are shown: the newest 20 of thousands of runs
 * read 20 runs' details, not all.
 */
export async function listRunViews(client: df.DurableClient, filters: RunFilters = {}): Promise<RunView[]> {
  const all = await client.getStatusAll();
  const runs = all
    .filter((s) => s.name.toLowerCase() === orchestrators.run.toLowerCase())
    .sort((a, b) => new Date(b.createdTime).getTime() - new Date(a.createdTime).getTime());
  const shown: RunView[] = [];
  const top = filters.top ?? Number.POSITIVE_INFINITY;
  for (let at = 0; at < runs.length && shown.length < top; at += VIEWS_AT_ONCE) {
    const views = await Promise.all(
      runs.slice(at, at + VIEWS_AT_ONCE).map((s) => viewOf(client, s, LISTED_VIEW)),
    );
    shown.push(...filterRuns(views, filters));
  }
  return shown.slice(0, filters.top);
}

const list = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> =>
  json(200, { runs: await listRunViews(client, runFilters(request)) }),
);

const get = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const status = await statusOf(client, runIdParam(request));
  return json(200, await viewOf(client, status, FULL_VIEW));
});

const cancelReason = 'canceled by request';

/** The run's view after the cancel event went in: it may have ended, or begun finalizing, just before. */
async function afterCancel(client: df.DurableClient, runId: string): Promise<RunView> {
  return viewOf(client, await statusOf(client, runId), STATUS_VIEW);
}

/**
 * Tells every shard of a run that no longer runs (terminated through the durable API) to stop at once:
 * Durable Functions does not terminate sub-orchestrations with their parent, and no run is left to tell them.
 */
async function stopOrphanShards(
  client: df.DurableClient,
  runId: string,
  progress: RunProgress | null,
): Promise<void> {
  const shards = new Set(progress?.inFlightShards ?? []);
  for (let n = 0; n < (progress?.shards ?? 0); n++) shards.add(n);
  const stop: StopShard = { reason: cancelReason, cancel: true };
  for (const shard of shards) {
    const id = shardInstanceId(runId, shard);
    const s = await client.getStatus(id).catch(() => undefined);
    const running =
      s?.runtimeStatus === df.OrchestrationRuntimeStatus.Running ||
      s?.runtimeStatus === df.OrchestrationRuntimeStatus.Pending;
    if (running) await client.raiseEvent(id, events.stop, stop).catch(() => undefined);
  }
}

/**
 * Cancel: a `cancel` event to the run, which ends every shard at once and writes a Canceled summary
 * counting what was written. The event is durable, so a cancel that comes before the run has started,
 * or while the host restarts, is taken as soon as the run runs. 202 while the run is canceling (a second
 * cancel too), 409 once it has ended or is finalizing.
 */
const cancel = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const runId = runIdParam(request);
  const status = await statusOf(client, runId);
  const progress = status.customStatus as RunProgress | null;
  const view = await viewOf(client, status, STATUS_VIEW);
  const canceling = (message: string) =>
    json(202, { runId, status: 'Canceling', message, links: links(runId) });
  if (status.runtimeStatus === df.OrchestrationRuntimeStatus.Terminated) {
    // Ended through the durable API: its shards may still run, and nobody wrote its summary.
    await stopOrphanShards(client, runId, progress);
    const runs = storage().blobs.getContainerClient(containers.runs);
    if (!(await readJson<RunSummary>(runs, runPaths.summary(runId)))) {
      await endRun(runId);
      await finalizeRun(storage(), {
        runId,
        status: 'Canceled',
        reason: view.reason ?? cancelReason,
        totals: {
          items: progress?.items ?? 0,
          miniBatches: progress?.miniBatches ?? 0,
          ...(progress?.done ?? emptyDone),
        },
        startedAt: progress?.startedAt ?? view.createdTime,
      });
    }
  }
  if (view.status !== 'Running' && view.status !== 'Pending') {
    throw new ParallelRunError(
      'CONFLICT',
      `run '${runId}' is already ${view.status}: only a pending or running run can be canceled`,
    );
  }
  if (progress?.phase === 'canceling') {
    await endRun(runId);
    return canceling(`run '${runId}' is already being canceled`);
  }
  if (progress?.phase === 'finalizing' || progress?.phase === 'done') {
    throw new ParallelRunError(
      'CONFLICT',
      `run '${runId}' is finalizing (all its mini-batches have ended): it can no longer be canceled`,
    );
  }
  await client.raiseEvent(runId, events.cancel, { reason: cancelReason } satisfies CancelRun);
  // The run may have ended or begun finalizing between the read above and the event: say so.
  const now = await afterCancel(client, runId);
  if (now.status === 'Completed' || now.status === 'Failed' || now.phase === 'finalizing') {
    throw new ParallelRunError(
      'CONFLICT',
      `run '${runId}' ${now.phase === 'finalizing' ? 'began finalizing' : `ended ${now.status}`} before the cancel arrived: it can no longer be canceled`,
    );
  }
  // Its tries on this instance end now, not when finalize gets an activity slot: tries that hang
  // would otherwise hold every slot, and the run's stop signal and finalize would wait behind them.
  await endRun(runId);
  return canceling(`run '${runId}' is being canceled: its shards stop, then its summary is written`);
});

const emptyDone: RunProgress['done'] = {
  itemsSucceeded: 0,
  itemsFailed: 0,
  miniBatchesSucceeded: 0,
  miniBatchesFailed: 0,
  tries: 0,
};

function headParam(request: HttpRequest): number | undefined {
  knownQuery(request, ['head']);
  const raw = request.query.get('head');
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 100_000) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `head '${raw}' is not allowed: use a whole number from 1 to 100000`,
      'head',
    );
  }
  return n;
}

async function textOf(
  container: string,
  blob: string,
  head: number | undefined,
): Promise<string | undefined> {
  const client = storage().blobs.getContainerClient(container).getBlobClient(blob);
  if (head === undefined) return readAll(client);
  const lines = await headLines(client, head);
  return lines === undefined ? undefined : lines.map((l) => `${l}\n`).join('');
}

/** Why a run has no output file: still running, ended without one, or told to write none. */
async function whyNoOutput(view: RunView): Promise<string> {
  if (view.status === 'Running' || view.status === 'Pending') return `it is ${view.status}`;
  const run =
    view.status === 'Completed' ? await loadRun(storage(), view.runId).catch(() => undefined) : undefined;
  if (run?.settings.output_action === 'summary_only') {
    return `its output_action is "summary_only", which writes no output file: its counts are in its summary (GET ${view.links.status ?? ''}), its failed items at ${view.links.errors ?? ''}`;
  }
  return `it ended ${view.status}${view.reason ? `: ${view.reason}` : ''}`;
}

/**
 * A header value holds bytes 0x20–0x7e only (a character over 255 fails the response): anything
 * else in a blob name (`append_row_file_name: "结果.txt"`), and "%", is percent-encoded as UTF-8.
 */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

const output = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const runId = runIdParam(request);
  const head = headParam(request);
  const view = await viewOf(client, await statusOf(client, runId), FULL_VIEW);
  const out = view.summary?.output;
  if (!out) throw new NotFoundError(`run '${runId}' has no output: ${await whyNoOutput(view)}`);
  const missing = () => new NotFoundError(`run '${runId}': output ${out.container}/${out.blob} is missing`);
  const blob = storage().blobs.getContainerClient(out.container).getBlobClient(out.blob);
  const type = await contentTypeOf(blob);
  if (!type) throw missing();
  const where = { 'x-output-blob': `${out.container}/${headerSafe(out.blob)}` };
  if (!holdsText(type.contentType)) {
    // Parquet: bytes, never decoded as text (that corrupts them), and no lines to cut.
    if (head !== undefined)
      throw new ParallelRunError(
        'INVALID_REQUEST',
        `head is not allowed for run '${runId}': its output is ${type.contentType ?? 'binary'}, not lines of text; download it whole`,
        'head',
      );
    const bytes = await readBytes(blob);
    if (!bytes) throw missing();
    return { status: 200, body: bytes, headers: { 'content-type': type.contentType ?? '', ...where } };
  }
  const text = await textOf(out.container, out.blob, head);
  if (text === undefined) throw missing();
  return { status: 200, body: text, headers: { 'content-type': 'text/plain; charset=utf-8', ...where } };
});

const errors = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const runId = runIdParam(request);
  const head = headParam(request);
  await statusOf(client, runId);
  // Where the summary says: a reused run's errors are the earlier run's errors.jsonl.
  const summary = await readJson<RunSummary>(
    storage().blobs.getContainerClient(containers.runs),
    runPaths.summary(runId),
  );
  const at = summary?.errors ?? { container: containers.runs, blob: runPaths.errors(runId) };
  const text = await textOf(at.container, at.blob, head);
  if (text === undefined)
    return problem(
      404,
      'NOT_FOUND',
      `run '${runId}' has no errors.jsonl yet: it is written when the run ends`,
    );
  return { status: 200, body: text, headers: { 'content-type': 'application/x-ndjson; charset=utf-8' } };
});

df.app.client.http('submitRun', { route: 'runs', methods: ['POST'], authLevel: 'function', handler: submit });
df.app.client.http('listRuns', { route: 'runs', methods: ['GET'], authLevel: 'function', handler: list });
df.app.client.http('getRun', { route: 'runs/{id}', methods: ['GET'], authLevel: 'function', handler: get });
df.app.client.http('cancelRun', {
  route: 'runs/{id}/cancel',
  methods: ['POST'],
  authLevel: 'function',
  handler: cancel,
});
df.app.client.http('getRunOutput', {
  route: 'runs/{id}/output',
  methods: ['GET'],
  authLevel: 'function',
  handler: output,
});
df.app.client.http('getRunErrors', {
  route: 'runs/{id}/errors',
  methods: ['GET'],
  authLevel: 'function',
  handler: errors,
});
