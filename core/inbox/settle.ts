import type { InboxSettings } from '../config/inbox.js';
import { INBOX_DEFAULTS } from '../config/inbox.js';
import type { RunRecord } from '../runs/record.js';
import type { InboxContainers } from '../storage/layout.js';
import { writeJson, type Storage } from '../storage/storage.js';
import { readBatch } from './batches.js';
import { inboxOf } from './drop.js';
import { openJsonLines, readJsonLines } from './jsonl.js';
import { inGroups, inLanes } from './lanes.js';
import { containerOf, moveVersion } from './move.js';
import { inboxBlobName, stateContainer, statePaths, type BatchRecord, type DroppedFile } from './records.js';
import { rejectDrop } from './reject.js';

const MOVES_AT_ONCE = 16;
const MOVES_PER_GROUP = 1000;

export interface RunEnd {
  status: string;
  reason?: string;
}

async function afterRunOf(
  storage: Storage,
  names: InboxContainers,
  pipeline: string,
): Promise<InboxSettings['after_run']> {
  const settings = await inboxOf(storage, names, pipeline);
  return typeof settings === 'string' ? INBOX_DEFAULTS.after_run : settings.after_run;
}

/**
 * After a batch's run ended, however it ended: its files move under
 * `<inbox>-done/<pipeline>/<runId>/` (after_run "move"; the run's errors name the files by the same
 * relative names), or stay where they are ("leave"). A moved version's claim is deleted: that version
 * is gone from the inbox, and a file dropped again under the same name is a new file. Claims of files
 * left in place stay, so a duplicated event for them never starts a second run. Idempotent.
 */
export async function settleBatch(
  storage: Storage,
  names: InboxContainers,
  batch: BatchRecord,
  end: RunEnd,
): Promise<BatchRecord> {
  if (batch.settled) return batch;
  const state = await stateContainer(storage, names);
  const afterRun = await afterRunOf(storage, names, batch.pipeline);
  const files = await openJsonLines<DroppedFile>(
    state.getBlobClient(statePaths.taken(batch.pipeline, batch.batch)),
  );
  if (afterRun === 'move' && files && batch.runId !== undefined) {
    const inbox = await containerOf(storage, names.inbox);
    const done = await containerOf(storage, names.done);
    const runId = batch.runId;
    const move = async (file: DroppedFile) => {
      const target = `${batch.pipeline}/${runId}/${file.name}`;
      await moveVersion(inbox, inboxBlobName(batch.pipeline, file.name), file.etag, done, target);
      await state.getBlobClient(statePaths.claim(batch.pipeline, file.name, file.etag)).deleteIfExists();
    };
    for await (const group of inGroups(files, MOVES_PER_GROUP)) await inLanes(group, MOVES_AT_ONCE, move);
  }
  const settled: BatchRecord = {
    ...batch,
    settled: {
      status: end.status,
      ...(end.reason === undefined ? {} : { reason: end.reason }),
      time: new Date().toISOString(),
      after_run: afterRun,
    },
  };
  await writeJson(state, statePaths.batch(batch.pipeline, batch.batch), settled);
  return settled;
}

/**
 * A batch whose run could not even start (its pipeline's settings no longer validate, its script is
 * gone): its files are rejected with that reason, not left waiting for a run that will never come.
 */
export async function rejectBatch(
  storage: Storage,
  names: InboxContainers,
  batch: BatchRecord,
  reason: string,
): Promise<BatchRecord> {
  if (batch.settled) return batch;
  const state = await stateContainer(storage, names);
  const files =
    (await readJsonLines<DroppedFile>(state.getBlobClient(statePaths.taken(batch.pipeline, batch.batch)))) ??
    [];
  const why = `its run could not start: ${reason}`;
  for (const file of files) {
    await rejectDrop(storage, names, inboxBlobName(batch.pipeline, file.name), file.etag, why);
    await state.getBlobClient(statePaths.claim(batch.pipeline, file.name, file.etag)).deleteIfExists();
  }
  const settled: BatchRecord = {
    ...batch,
    settled: { status: 'Rejected', reason: why, time: new Date().toISOString(), after_run: 'move' },
  };
  await writeJson(state, statePaths.batch(batch.pipeline, batch.batch), settled);
  return settled;
}

/**
 * Why a run started from the inbox cannot be resumed, if it cannot: with after_run "move" its files
 * went (or go, once it settles) to `<inbox>-done/<pipeline>/<runId>/`, so the input a resume would read
 * again is gone, and the resume could only fail as if the user had changed it.
 */
export async function inboxResumeProblem(
  storage: Storage,
  names: InboxContainers,
  run: RunRecord,
): Promise<string | undefined> {
  const source = run.source;
  if (source.kind !== 'inbox') return undefined;
  const batch = await readBatch(storage, names, source.pipeline, source.batch);
  const afterRun = batch?.settled?.after_run ?? (await afterRunOf(storage, names, source.pipeline));
  if (afterRun !== 'move') return undefined;
  const moved = `${names.done}/${source.pipeline}/${batch?.runId ?? run.runId}/`;
  return `run '${run.runId}' ran on files dropped into ${names.inbox}/${source.pipeline}/, which were moved to ${moved} when their run ended (the pipeline's inbox has "after_run": "move"): its input is gone, so it cannot be resumed; drop the files again for a new run, or publish the pipeline with "inbox": {"after_run": "leave"} so that its runs can be resumed`;
}
