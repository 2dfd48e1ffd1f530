import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { parseResumeOverrides } from '../../core/config/settings.js';
import { ParallelRunError } from '../../core/errors.js';
import { inboxResumeProblem } from '../../core/inbox/settle.js';
import { readPlan } from '../../core/outputs/carry.js';
import { loadRun } from '../../core/runs/record.js';
import { readFingerprint } from '../../core/runner/fingerprint.js';
import { prepareResume } from '../../core/runner/submit.js';
import { inboxContainers } from '../../core/storage/layout.js';
import { storage } from '../../core/storage/storage.js';
import { orchestrators } from '../../orchestrations/names.js';
import { runIdParam } from '../http/params.js';
import { bodyText, guarded, json, readJsonBody } from '../http/respond.js';
import { FULL_VIEW, links, statusOf, viewOf, type RunView } from './runs.js';

function conflict(message: string): ParallelRunError {
  return new ParallelRunError('CONFLICT', message);
}

/**
 * A Completed run is never resumed: its output is final. Its failures, if any, stayed within
 * error_threshold and are each an error line; saying "every mini-batch succeeded" of it was false.
 */
function completedWhyNot(id: string, view: RunView): string {
  const failed = view.summary?.totals.itemsFailed ?? 0;
  if (failed === 0)
    return `${id} is Completed: every mini-batch succeeded and its output is complete, so there is nothing to resume`;
  return `${id} is Completed: its ${failed} failed item(s) stayed within error_threshold and are listed in its errors (GET /api/runs/${view.runId}/errors), and a Completed run's output is final, so it is not resumed; to try those items again, submit a run of them`;
}

/** Why `view`'s run cannot be resumed, or undefined when it can (it ended Failed or Canceled, its summary written). */
function whyNot(view: RunView): string | undefined {
  const id = `run '${view.runId}'`;
  switch (view.status) {
    case 'Completed':
      return completedWhyNot(id, view);
    case 'Running':
    case 'Pending':
      return `${id} is ${view.status}: only a Failed or Canceled run can be resumed; wait for it to end, or cancel it first`;
    default:
      return view.summary
        ? undefined
        : `${id} is ${view.status} but has not written its summary yet: try again once it has`;
  }
}

/**
 * POST /api/runs/{id}/resume: a new run with the settings of a Failed or Canceled run (optionally new
 * thresholds, `run_max_try` and timeouts) that keeps every mini-batch that succeeded there and runs
 * only the others. 202 with the new run's links; 404 for an unknown run; 409 naming why a run cannot
 * be resumed. Its input listing is compared with the resumed run's once it starts (a listing may be
 * too long to read within a request): a changed input ends it Failed with that reason, nothing run.
 */
const resume = guarded(
  async (
    request: HttpRequest,
    client: df.DurableClient,
    context: InvocationContext,
  ): Promise<HttpResponseInit> => {
    const runId = runIdParam(request);
    const text = await bodyText(request);
    const overrides = parseResumeOverrides(text.trim() === '' ? undefined : readJsonBody(text));
    const view = await viewOf(client, await statusOf(client, runId), FULL_VIEW);
    const why = whyNot(view);
    if (why) throw conflict(why);
    const store = storage();
    if (!(await readPlan(store, runId)) || !(await readFingerprint(store, runId))) {
      throw conflict(
        `run '${runId}' ended before its mini-batches were planned${view.reason ? ` (${view.reason})` : ''}: there is nothing to resume; submit it again`,
      );
    }
    const resumed = await loadRun(store, runId);
    const gone = await inboxResumeProblem(store, inboxContainers(), resumed);
    if (gone) throw conflict(gone);
    const run = await prepareResume(store, resumed, overrides);
    await client.startNew(orchestrators.run, { instanceId: run.runId, input: { runId: run.runId } });
    context.log(`run ${run.runId} started: a resume of ${runId}`);
    return json(
      202,
      { runId: run.runId, status: 'Pending', resumedFrom: runId, links: links(run.runId) },
      { location: links(run.runId).status ?? '' },
    );
  },
);

df.app.client.http('resumeRun', {
  route: 'runs/{id}/resume',
  methods: ['POST'],
  authLevel: 'function',
  handler: resume,
});
