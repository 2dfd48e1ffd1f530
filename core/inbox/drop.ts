import type { InboxSettings } from '../config/inbox.js';
import { isPipelineName } from '../config/parameters.js';
import { BLOB_NAME_MAX, BLOB_NAME_RULE, pathProblem } from '../config/paths.js';
import { isFolderMarker } from '../datasets/files.js';
import { NotFoundError } from '../errors.js';
import { loadPipeline } from '../runs/pipelines.js';
import { MAX_RUN_ID_LENGTH } from '../runner/submit.js';
import type { InboxContainers } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import { bareEtag, fileMetadata, stateContainer, statePaths } from './records.js';
import { rejectDrop } from './reject.js';

/** What the trigger knows of a created blob: its name in the inbox container, ETag, size and metadata. */
export interface Drop {
  blobName: string;
  etag: string;
  size: number;
  metadata?: Record<string, string>;
}

export type DropOutcome =
  | { kind: 'ignored'; why: string }
  | { kind: 'rejected'; reason: string }
  /** This version was taken by a batch already: a duplicated event. */
  | { kind: 'duplicate'; pipeline: string }
  /** Recorded as pending: the pipeline's collector must be told. */
  | { kind: 'pending'; pipeline: string };

/** `mnist/a b.png` → pipeline `mnist`, name `a b.png`. */
export function splitDrop(blobName: string): { pipeline: string; name: string } {
  const slash = blobName.indexOf('/');
  return slash < 0
    ? { pipeline: '', name: blobName }
    : { pipeline: blobName.slice(0, slash), name: blobName.slice(slash + 1) };
}

const HOW = (inbox: string) =>
  `drop files under ${inbox}/<pipeline>/, for a pipeline published with "inbox": {"quiet_seconds": 10} (PUT /api/pipelines/<pipeline>)`;

/** The pipeline's inbox settings, or why the drop cannot go to it. */
export async function inboxOf(
  storage: Storage,
  names: InboxContainers,
  pipeline: string,
): Promise<InboxSettings | string> {
  if (!isPipelineName(pipeline))
    return `"${pipeline}" is not a pipeline name (1 to 63 letters, digits, "_" and "-"): ${HOW(names.inbox)}`;
  try {
    const definition = await loadPipeline(storage, pipeline);
    if (definition.inbox) return definition.inbox;
    return `pipeline "${pipeline}" has no inbox: publish it again with "inbox": {"quiet_seconds": 10} to start runs from dropped files`;
  } catch (err) {
    if (err instanceof NotFoundError)
      return `pipeline "${pipeline}" does not exist: publish it with PUT /api/pipelines/${pipeline}, with "inbox": {…}, then drop the file again`;
    throw err;
  }
}

/**
 * Why a name under the pipeline's folder cannot be an item of a run (traversal, control characters…),
 * if it cannot. With after_run "move", the file moves to `<done>/<pipeline>/<runId>/<name>` after its run: a name too long
 * for that would be taken, run, and then never moved (the move failing after its retries).
 */
function nameProblem(pipeline: string, name: string, done: string, moved: boolean): string | undefined {
  const problem = pathProblem(name, BLOB_NAME_RULE);
  if (problem !== undefined) return `the name "${name}" cannot be a file of a run: ${problem}`;
  const longest = BLOB_NAME_MAX - pipeline.length - MAX_RUN_ID_LENGTH - 2;
  if (moved && name.length > longest)
    return `the name "${name.slice(0, 40)}…" has ${name.length} characters: after its run a file moves to ${done}/${pipeline}/<runId>/<name>, and a blob name holds at most ${BLOB_NAME_MAX}, so names under ${pipeline}/ may have at most ${longest}`;
  return undefined;
}

/**
 * One created blob in the inbox: ignored (folder markers, empty marker files), rejected with its
 * reason, or recorded as pending for its pipeline's collector. The pending record is written before
 * anyone is told, so a crash after it loses nothing (the event comes again, and the record is
 * rewritten to the same content). A version already taken by a batch is a duplicated event.
 */
export async function receiveDrop(
  storage: Storage,
  names: InboxContainers,
  drop: Drop,
): Promise<DropOutcome> {
  if (isFolderMarker(drop.blobName, drop.metadata)) return { kind: 'ignored', why: 'a folder marker' };
  if (drop.size === 0) return { kind: 'ignored', why: 'an empty (zero-byte) marker' };
  const { pipeline, name } = splitDrop(drop.blobName);
  const settings =
    pipeline === ''
      ? `it is not in a pipeline's folder: ${HOW(names.inbox)}`
      : await inboxOf(storage, names, pipeline);
  const reason =
    typeof settings === 'string'
      ? settings
      : nameProblem(pipeline, name, names.done, settings.after_run === 'move');
  if (reason !== undefined) {
    await rejectDrop(storage, names, drop.blobName, drop.etag, reason);
    return { kind: 'rejected', reason };
  }
  const file = { name, etag: bareEtag(drop.etag) };
  const state = await stateContainer(storage, names);
  if (await state.getBlobClient(statePaths.claim(pipeline, file.name, file.etag)).exists())
    return { kind: 'duplicate', pipeline };
  await state
    .getBlockBlobClient(statePaths.pending(pipeline, name))
    .upload('', 0, { metadata: fileMetadata(file, new Date()) });
  return { kind: 'pending', pipeline };
}
