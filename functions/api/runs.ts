import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { errorMessage, NotFoundError, ParallelRunError } from '../../core/errors.js';
import { writeCanceledSummary } from '../../core/outputs/finalize.js';
import { headLines, readAll } from '../../core/outputs/read.js';
import type { RunSummary } from '../../core/outputs/summary.js';
import type { RunRecord } from '../../core/runner/runs.js';
import { describeDataset } from '../../core/datasets/files.js';
import { prepareRun } from '../../core/runner/submit.js';
import { containers, runPaths } from '../../core/storage/layout.js';
import { readJson, storage } from '../../core/storage/storage.js';
import type { RunProgress, ShardProgress } from '../../orchestrations/contracts.js';
import { orchestrators, shardInstanceId } from '../../orchestrations/names.js';
import type { RunOutput } from '../../orchestrations/parallelRun.js';
import { runIdParam } from '../http/params.js';
import { guarded, json, problem, readJsonBody } from '../http/respond.js';
import { progressView, type ProgressView } from './progress.js';

type RunState = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Canceled';

export interface RunView {
  runId: string;
  status: RunState;
  phase?: RunProgress['phase'];
  reason?: string;
  createdTime: string;
  lastUpdatedTime: string;
  progress?: ProgressView;
  summary?: RunSummary;
  links: Record<string, string>;
}

function links(runId: string): Record<string, string> {
  const base = `/api/runs/${encodeURIComponent(runId)}`;
  return { status: base, output: `${base}/output`, errors: `${base}/errors`, cancel: `${base}/cancel` };
}

async function statusOf(client: df.DurableClient, runId: string): Promise<df.DurableOrchestrationStatus> {
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

async function viewOf(
  client: df.DurableClient,
  status: df.DurableOrchestrationStatus,
  live: boolean,
): Promise<RunView> {
  const runId = status.instanceId;
  const progress = status.customStatus as RunProgress | null;
  const view: RunView = {
    runId,
    status: 'Running',
    createdTime: new Date(status.createdTime).toISOString(),
    lastUpdatedTime: new Date(status.lastUpdatedTime).toISOString(),
    links: links(runId),
  };
  if (progress) view.phase = progress.phase;
  switch (status.runtimeStatus) {
    case df.OrchestrationRuntimeStatus.Pending:
      view.status = 'Pending';
      break;
    case df.OrchestrationRuntimeStatus.Completed: {
      const out = status.output as RunOutput;
      view.status = out.status;
      if (out.reason) view.reason = out.reason;
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
  if (progress && progress.phase !== 'planning') {
    view.progress = progressView(
      progress,
      live && view.status === 'Running' ? await liveShards(client, runId, progress) : [],
      new Date(),
    );
  }
  if (live && view.status !== 'Running' && view.status !== 'Pending') {
    const summary = await readJson<RunSummary>(
      storage().blobs.getContainerClient(containers.runs),
      runPaths.summary(runId),
    );
    if (summary) view.summary = summary;
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
  const run = await prepareRun(settings, source);
  await client.startNew(orchestrators.run, { instanceId: run.runId, input: { runId: run.runId } });
  context.log(
    `run ${run.runId} started: ${run.settings.entry_script} over ${describeDataset(run.settings.input)}`,
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
    startRun(client, context, readJsonBody(await request.text()), { kind: 'api' }),
);

const list = guarded(async (_request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const all = await client.getStatusAll();
  const runs = all.filter((s) => s.name.toLowerCase() === orchestrators.run.toLowerCase());
  const views = await Promise.all(runs.map((s) => viewOf(client, s, false)));
  views.sort((a, b) => b.createdTime.localeCompare(a.createdTime));
  return json(200, { runs: views });
});

const get = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const status = await statusOf(client, runIdParam(request));
  return json(200, await viewOf(client, status, true));
});

const cancel = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const runId = runIdParam(request);
  const status = await statusOf(client, runId);
  const view = await viewOf(client, status, false);
  if (view.status !== 'Running' && view.status !== 'Pending') {
    throw new ParallelRunError(
      'CONFLICT',
      `run '${runId}' is already ${view.status}: only a pending or running run can be canceled`,
    );
  }
  const progress = status.customStatus as RunProgress | null;
  if (progress?.phase === 'finalizing') {
    // Terminating would not stop the finalize activity: its summary and ours would race.
    throw new ParallelRunError(
      'CONFLICT',
      `run '${runId}' is finalizing (all its mini-batches have ended): it can no longer be canceled`,
    );
  }
  const reason = 'canceled by request';
  await client.terminate(runId, reason);
  for (const shard of progress?.inFlightShards ?? [])
    await client.terminate(shardInstanceId(runId, shard), reason).catch(() => undefined);
  const live = progress
    ? progressView(progress, await liveShards(client, runId, progress), new Date())
    : undefined;
  await writeCanceledSummary(
    runId,
    {
      items: live?.items.total ?? 0,
      miniBatches: live?.miniBatches.total ?? 0,
      itemsSucceeded: live?.items.succeeded ?? 0,
      itemsFailed: live?.items.failed ?? 0,
      miniBatchesSucceeded: live?.miniBatches.succeeded ?? 0,
      miniBatchesFailed: live?.miniBatches.failed ?? 0,
      tries: progress?.done.tries ?? 0,
    },
    progress?.startedAt ?? view.createdTime,
    reason,
  );
  return json(202, { runId, status: 'Canceled', links: links(runId) });
});

function headParam(request: HttpRequest): number | undefined {
  const raw = request.query.get('head');
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
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

const output = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const runId = runIdParam(request);
  const head = headParam(request);
  const view = await viewOf(client, await statusOf(client, runId), true);
  const out = view.summary?.output;
  if (!out) {
    const why =
      view.status === 'Running' || view.status === 'Pending'
        ? `it is ${view.status}`
        : `it ended ${view.status}${view.reason ? `: ${view.reason}` : ''}`;
    throw new NotFoundError(`run '${runId}' has no output: ${why}`);
  }
  const text = await textOf(out.container, out.blob, head);
  if (text === undefined)
    throw new NotFoundError(`run '${runId}': output ${out.container}/${out.blob} is missing`);
  return {
    status: 200,
    body: text,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-output-blob': `${out.container}/${out.blob}` },
  };
});

const errors = guarded(async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
  const runId = runIdParam(request);
  const head = headParam(request);
  await statusOf(client, runId);
  const text = await textOf(containers.runs, runPaths.errors(runId), head);
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
