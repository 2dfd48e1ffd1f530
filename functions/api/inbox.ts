import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import * as df from 'durable-functions';
import { inboxView } from '../../core/inbox/view.js';
import { loadPipeline } from '../../core/runs/pipelines.js';
import type { RunRecord } from '../../core/runs/record.js';
import { inboxContainers } from '../../core/storage/layout.js';
import { storage } from '../../core/storage/storage.js';
import type { CollectorStatus } from '../../orchestrations/inboxDecisions.js';
import { collectorInstanceId } from '../../orchestrations/names.js';
import { pipelineNameParam } from '../http/params.js';
import { guarded, json } from '../http/respond.js';
import { statusOrNone } from '../inbox/collector.js';
import { runFilters } from './run-filters.js';
import { listRunViews, originOf, type RunView } from './runs.js';

/**
 * GET /api/pipelines/{name}/runs: the pipeline's runs, newest first, each with where it came from;
 * an inbox run says how many files it took, from when to when, and the blob that lists them.
 */
const pipelineRuns = guarded(
  async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
    const name = pipelineNameParam(request);
    await loadPipeline(storage(), name);
    const runs: (RunView & { source: RunRecord['source'] })[] = [];
    for (const view of await listRunViews(client, {
      ...runFilters(request, ['status', 'top']),
      pipeline: name,
    })) {
      // The list kept only this pipeline's runs; their origin is cached from building it.
      const { source } = await originOf(view.runId);
      if (source) runs.push({ ...view, source });
    }
    return json(200, { pipeline: name, runs });
  },
);

/**
 * GET /api/pipelines/{name}/inbox: where to drop files, the files waiting, when the next run starts
 * (the collector's own word), and the recent batches with their runs.
 */
const pipelineInbox = guarded(
  async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
    const name = pipelineNameParam(request);
    const pipeline = await loadPipeline(storage(), name);
    const view = await inboxView(storage(), inboxContainers(), name, pipeline.inbox);
    const status = await statusOrNone(client, collectorInstanceId(name));
    const collector = status?.customStatus as CollectorStatus | null | undefined;
    return json(200, {
      ...view,
      enabled: pipeline.inbox !== undefined,
      collector: status ? { runtimeStatus: status.runtimeStatus, ...(collector ?? {}) } : null,
      nextRunAt: collector?.phase === 'waiting' ? (collector.nextRunAt ?? null) : null,
    });
  },
);

df.app.client.http('listPipelineRuns', {
  route: 'pipelines/{name}/runs',
  methods: ['GET'],
  authLevel: 'function',
  handler: pipelineRuns,
});
df.app.client.http('getPipelineInbox', {
  route: 'pipelines/{name}/inbox',
  methods: ['GET'],
  authLevel: 'function',
  handler: pipelineInbox,
});
