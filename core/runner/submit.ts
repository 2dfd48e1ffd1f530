import os from 'node:os';
import type { ContainerClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { configuredPools, poolStartTimeoutSeconds } from '../config/pools.js';
import { parseRunSettings, type ResumeOverrides, type RunSettings } from '../config/settings.js';
import { ParallelRunError } from '../errors.js';
import { checkSideInput } from '../datasets/files.js';
import { datasetKindOf } from '../datasets/index.js';
import { containers, runPaths } from '../storage/layout.js';
import { pinnedRef, resolveModel } from '../storage/models.js';
import { ensureContainer, writeJson, type Storage } from '../storage/storage.js';
import { readVersionedJson, writeVersionedJson } from '../storage/versioned-json.js';
import { exportsName } from './exports.js';
import { resolveEntryScript } from './paths.js';
import type { RunRecord } from '../runs/record.js';

/** The longest run id `newRunId` makes: a 40-character name, `-YYYYMMDD-HHMMSS-` and six hex digits. */
export const MAX_RUN_ID_LENGTH = 63;

/** `mnist-tutorial` + time + a random tail: readable in listings, unique without coordination. */
export function newRunId(name: string | undefined, now = new Date()): string {
  const slug =
    (name ?? 'run')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'run';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${slug}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Everything a run needs that can be checked before it starts: the script is deployed, the models
 * registered, the data there. Returns the models pinned to the versions registered now.
 */
export async function checkRunnable(
  storage: Storage,
  settings: RunSettings,
): Promise<Record<string, string>> {
  const script = resolveEntryScript(settings.entry_script, settings.source_directory);
  // Read, not run: importing a module here would run its code in the host.
  if ((await exportsName(script, 'run')) === false) {
    throw new ParallelRunError(
      'INVALID_SETTINGS',
      `entry_script '${settings.entry_script}' does not export a run(miniBatch, ctx) function: an entry script exports run, and may export init and shutdown`,
      'entry_script',
    );
  }
  const models: Record<string, string> = {};
  for (const ref of settings.models) models[ref] = pinnedRef(await resolveModel(storage, ref));
  for (const [name, side] of Object.entries(settings.side_inputs)) await checkSideInput(storage, name, side);
  settings.input = await datasetKindOf(settings.input).validate(storage, settings.input);
  return models;
}

/**
 * Validates a submitted body and writes `runs/<runId>/run.json`; the caller then starts the orchestration.
 * `runId` is given by a starter that must name its run before preparing it (the inbox, idempotently).
 */
export async function prepareRun(
  storage: Storage,
  body: unknown,
  source: RunRecord['source'],
  runId?: string,
): Promise<RunRecord> {
  const settings = parseRunSettings(body, {
    processCountPerNode: os.availableParallelism(),
    pools: configuredPools(),
  });
  // A pool run's start timeout is read when it is planned: a bad app setting is told now, not then.
  if (settings.compute !== 'functions') poolStartTimeoutSeconds();
  const models = await checkRunnable(storage, settings);
  const record: RunRecord = {
    runId: runId ?? newRunId(settings.run_name),
    settings,
    createdTime: new Date().toISOString(),
    models,
    source,
  };
  const runs = await ensureContainer(storage.blobs.getContainerClient(containers.runs));
  await writeJson(runs, runPaths.settings(record.runId), record);
  return record;
}

/**
 * A resume of `from`: its settings with `overrides` (thresholds, tries, timeouts), checked again
 * against the world (the script may have been redeployed, a model given as `name` re-pins to its
 * latest version), written as a new run's run.json naming the run it resumes.
 */
export async function prepareResume(
  storage: Storage,
  from: RunRecord,
  overrides: ResumeOverrides,
): Promise<RunRecord> {
  const settings: RunSettings = { ...from.settings, ...overrides };
  const models = await checkRunnable(storage, settings);
  const record: RunRecord = {
    runId: newRunId(settings.run_name),
    settings,
    createdTime: new Date().toISOString(),
    models,
    source: from.source,
    resumeOf: from.runId,
  };
  const runs = await ensureContainer(storage.blobs.getContainerClient(containers.runs));
  await claimResume(runs, from.runId, record.runId);
  await writeJson(runs, runPaths.settings(record.runId), record);
  return record;
}

/** A resume writes its run's settings within moments of its claim: one that has not after this, never will. */
const ABANDONED_RESUME_MS = 60_000;

/**
 * Records that `by` resumes `runId`, unless another run already does: two resumes of one run (two
 * requests at the same moment, a retried click) would each redo the same mini-batches. A claim whose
 * run still has no settings a minute later (a resume that failed half-way) is taken over. To go on after
 * a resume that failed too, resume that one: it keeps what both ran.
 */
async function claimResume(runs: ContainerClient, runId: string, by: string): Promise<void> {
  const claim = runs.getBlockBlobClient(runPaths.resumedBy(runId));
  const body = { runId: by };
  if (await writeVersionedJson(claim, body, { ifNoneMatch: '*' })) return;
  const seen = await readVersionedJson<{ runId?: string }>(claim);
  const holder = seen?.body.runId;
  // A claim this old whose run has no settings was left half-way.
  const abandoned =
    seen !== undefined &&
    seen.ageMs > ABANDONED_RESUME_MS &&
    (holder === undefined || !(await runs.getBlobClient(runPaths.settings(holder)).exists()));
  if (abandoned && (await writeVersionedJson(claim, body, { ifMatch: seen.etag }))) return;
  throw new ParallelRunError(
    'CONFLICT',
    `run '${runId}' is already resumed by run '${holder ?? '?'}': follow that one (GET /api/runs/${holder ?? ''}); if it ends Failed or Canceled, resume it instead`,
  );
}
