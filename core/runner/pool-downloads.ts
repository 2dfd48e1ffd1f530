import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isFolderMarker } from '../datasets/files.js';
import { localPathFor } from '../datasets/materialize.js';
import { downloadModel, parseModelRef } from '../storage/models.js';
import { errorMessage, NotFoundError } from '../errors.js';
import { isNotFound, type Storage } from '../storage/storage.js';
import { processRunScratch } from './paths.js';
import type { RunRecord } from '../runs/record.js';

type SideInput = RunRecord['settings']['side_inputs'][string];

/** What a pool downloads once before its processes start: the run's side inputs and its models. */

/** The run's side inputs under `<scratch>/<runId>/<this process>/side/<name>`: a folder, or the one blob's file. */
export async function downloadSideInputs(storage: Storage, run: RunRecord): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(run.settings.side_inputs)) {
    const target = path.join(processRunScratch(run.runId), 'side', name);
    try {
      out[name] = await downloadSideInput(storage, ref, target);
    } catch (err) {
      throw sideInputError(name, ref, err);
    }
  }
  return out;
}

/** One side input under `target`: the folder's files, or the one blob's file; its local path. */
async function downloadSideInput(storage: Storage, ref: SideInput, target: string): Promise<string> {
  const container = storage.blobs.getContainerClient(ref.container);
  const prefix = ref.path.endsWith('/') || ref.path === '' ? ref.path : `${ref.path}/`;
  let files = 0;
  for await (const blob of container.listBlobsFlat({ prefix, includeMetadata: true })) {
    // An ADLS Gen2 folder marker is not a file (writing it would block the folder it names).
    if (isFolderMarker(blob.name, blob.metadata)) continue;
    const local = localPathFor(target, blob.name.slice(prefix.length));
    await mkdir(path.dirname(local), { recursive: true });
    await writeFile(local, await container.getBlobClient(blob.name).downloadToBuffer());
    files++;
  }
  if (files > 0) return target;
  // Not a folder: a single blob.
  await mkdir(target, { recursive: true });
  const local = path.join(target, path.basename(ref.path));
  await writeFile(local, await container.getBlobClient(ref.path).downloadToBuffer());
  return local;
}

/**
 * Submit checked the side input was there; it can still be gone when a pool starts. The storage
 * error of a missing blob has no message at all (a HEAD answered 404): say which input and where.
 */
function sideInputError(name: string, ref: SideInput, err: unknown): Error {
  const field = `side_inputs.${name}`;
  if (isNotFound(err))
    return new NotFoundError(
      `${field}: nothing at ${ref.container}/${ref.path} any more (deleted since the run was submitted?): the script's init() cannot be given it`,
      field,
    );
  return new Error(`${field}: ${ref.container}/${ref.path} could not be downloaded: ${errorMessage(err)}`);
}

/**
 * The run's models, downloaded once for the pool's processes, each under the name the settings gave it,
 * its pinned `name:version` and its bare name: `getModel('mnist')` in a run declaring `mnist:1`
 * loads version 1, not whatever was registered since.
 */
export async function pinnedModels(
  storage: Storage,
  run: RunRecord,
  cache: string,
): Promise<Record<string, string>> {
  const pins = run.models ?? Object.fromEntries(run.settings.models.map((ref) => [ref, ref]));
  const folders: Record<string, string> = {};
  for (const [declared, pinned] of Object.entries(pins)) {
    const folder = await downloadModel(storage, pinned, cache);
    folders[pinned] = folder;
    folders[declared] = folder;
    folders[parseModelRef(pinned).name] ??= folder;
  }
  return folders;
}
