import { settingsForRun } from '../config/parameters.js';
import { isObject } from '../config/issues.js';
import { loadPipeline } from '../runs/pipelines.js';
import { loadRun, type RunRecord } from '../runs/record.js';
import { NotFoundError } from '../errors.js';
import { prepareRun } from '../runner/submit.js';
import type { InboxContainers } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import type { BatchRecord } from './records.js';

/**
 * The settings of a batch's run: the published pipeline with its defaults, as `POST
 * /api/pipelines/{name}/runs` with no parameters resolves them, its input replaced by exactly the
 * files the batch took (a manifest blob, streamed at plan: 10,000 names stay out of the settings).
 */
export async function inboxRunSettings(
  storage: Storage,
  names: InboxContainers,
  batch: BatchRecord,
): Promise<unknown> {
  const settings = settingsForRun(await loadPipeline(storage, batch.pipeline), {});
  return {
    ...(isObject(settings) ? settings : {}),
    input: {
      type: 'files',
      container: names.inbox,
      path: `${batch.pipeline}/`,
      names_from: batch.manifest,
    },
  };
}

/**
 * Validates and writes the batch's `run.json` under the run id the batch was cut with, once: a retry
 * finds it written. Throws the typed error of settings that no longer validate.
 */
export async function prepareInboxRun(
  storage: Storage,
  names: InboxContainers,
  batch: BatchRecord,
): Promise<RunRecord> {
  const runId = batch.runId;
  if (runId === undefined)
    throw new NotFoundError(`inbox batch ${batch.batch} of "${batch.pipeline}" has no run`);
  const written = await loadRun(storage, runId).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (written) return written;
  const source: RunRecord['source'] = {
    kind: 'inbox',
    pipeline: batch.pipeline,
    batch: batch.batch,
    files: batch.files,
    from: batch.from,
    to: batch.to,
    manifest: batch.manifest,
  };
  return prepareRun(storage, await inboxRunSettings(storage, names, batch), source, runId);
}
