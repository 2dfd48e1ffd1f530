import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { SETTING_NAMES, type RunSettings, type SettingName } from '../config/settings.js';
import { inOrderAhead } from '../storage/in-flight.js';
import { datasetKindOf } from '../datasets/index.js';
import type { VersionedItem } from '../datasets/kind.js';
import type { RunRecord } from '../runs/record.js';
import { containers, runPaths } from '../storage/layout.js';
import { resolveModel } from '../storage/models.js';
import { readJson, writeJson, type Storage } from '../storage/storage.js';
import { localImports } from './imports.js';
import { resolveEntryScript, scriptsRoot } from './paths.js';

/** Bumped whenever what goes into a fingerprint changes: an older fingerprint then never matches. */
const FORMAT = 'parallel-run fingerprint 1';

/**
 * Settings left out of the fingerprint, as ParallelRunStep leaves them out of reuse (README, "Reuse
 * and resume"): `node_count` and `process_count_per_node` (how many workers, not what they compute),
 * `compute` (where tries run), `run_name` (a label), `allow_reuse` itself; `partition_keys` is hashed
 * as part of `input` (it is copied there) and `models` as their pinned versions. Every other setting
 * is in: a new one changes the fingerprint unless it is named here (a forgotten `append_row_format`
 * once let a CSV run reuse a Parquet run's output).
 */
const NOT_FINGERPRINTED: readonly SettingName[] = [
  'node_count',
  'process_count_per_node',
  'compute',
  'run_name',
  'allow_reuse',
  'partition_keys',
  'models',
];

/** The settings that can change a run's output, errors or verdict, in ParallelRunStep's names. */
export const FINGERPRINTED_SETTINGS = SETTING_NAMES.filter((name) => !NOT_FINGERPRINTED.includes(name));

/** `runs/<runId>/fingerprint.json`. */
export interface FingerprintRecord {
  /** sha256 over everything that can change the run's result (see `fingerprintRun`). */
  fingerprint: string;
  /** sha256 over the input listing alone (every item with its version): what a resume compares. */
  listing: string;
  items: number;
}

/** JSON with object keys sorted at every depth: the same settings always hash the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  // JSON.stringify(undefined) is undefined, whatever its declared type says.
  return value === undefined ? 'null' : JSON.stringify(value);
}

/** One labelled field per line, so that no two different contents can run together into the same bytes. */
function field(hash: Hash, label: string, value: string): void {
  hash.update(`${label}\u0000${value}\n`);
}

function isFileBehind(link: string): boolean {
  try {
    return statSync(link).isFile();
  } catch {
    return false; // a dangling link: nothing to hash
  }
}

/** Files of the scripts folder read at once while it is hashed. */
const FILES_AHEAD = 8;

/** sha256 of a file, streamed: a large file bundled beside a script is never held whole. */
async function fileDigest(file: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(file)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}

/**
 * Every file of the folder the entry script is deployed in, by relative path, sorted: names and bytes;
 * then each file it imports from outside that folder.
 */
async function hashScripts(hash: Hash, settings: RunSettings): Promise<void> {
  const script = resolveEntryScript(settings.entry_script, settings.source_directory);
  const root = scriptsRoot();
  const folder =
    settings.source_directory === undefined ? root : path.resolve(root, settings.source_directory);
  field(hash, 'entry_script.bytes', await fileDigest(script));
  const files = (await readdir(folder, { recursive: true, withFileTypes: true }))
    // A link to a file counts as the file (its bytes are hashed through it); a link to a folder is
    // not walked here, but what the script imports through it is (below).
    .filter((e) => e.isFile() || (e.isSymbolicLink() && isFileBehind(path.join(e.parentPath, e.name))))
    .map((e) => path.relative(folder, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
  // Read a few at once, hashed in name order: a folder of many small files is many round trips to the disk.
  const digests = inOrderAhead(
    files.length,
    (k) => fileDigest(path.join(folder, files[k] ?? '')),
    FILES_AHEAD,
  );
  let k = 0;
  for await (const digest of digests) field(hash, `source_directory.file ${files[k++] ?? ''}`, digest);
  // What the script imports from outside its folder (a helper shared by several scripts) changes its
  // rows as much as its own bytes: a run after a redeployed helper must not reuse the rows before it.
  const realFolder = await realpath(folder);
  const imports = await localImports(script);
  // Too many to follow: a run whose code cannot all be hashed is never reused (nor reuses).
  if (!imports.complete) field(hash, 'imported.unfollowed', randomUUID());
  const outside = imports.files
    .filter((file) => !file.startsWith(realFolder + path.sep))
    .map((file) => ({ file, name: path.relative(root, file).split(path.sep).join('/') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { file, name } of outside) field(hash, `imported.file ${name}`, await fileDigest(file));
}

/** Each model as pinned at submit, with the time its version was registered (a re-created version differs). */
async function hashModels(hash: Hash, storage: Storage, run: RunRecord): Promise<void> {
  for (const given of [...run.settings.models].sort()) {
    const pinned = run.models?.[given] ?? given;
    const info = await resolveModel(storage, pinned);
    field(hash, `model ${given}`, `${info.name}:${info.version} ${info.created}`);
  }
}

/** Every blob under each side input's path, with its ETag. */
async function hashSideInputs(hash: Hash, storage: Storage, settings: RunSettings): Promise<void> {
  for (const name of Object.keys(settings.side_inputs).sort()) {
    const side = settings.side_inputs[name];
    if (!side) continue;
    const container = storage.blobs.getContainerClient(side.container);
    for await (const blob of container.listBlobsFlat({ prefix: side.path })) {
      field(hash, `side_input ${name}`, `${blob.name} ${blob.properties.etag}`);
    }
  }
}

/** What a fingerprint keeps of the input listing: its digest and how many items it had. */
export interface ListingDigest {
  digest: string;
  items: number;
}

/**
 * Hashes the input listing as it streams by (every item with its version, in plan order): fed by
 * the plan as it lists (`DatasetKind.plan`'s `listed`), or by the kind's `listing`. Memory stays flat.
 */
export class ListingHasher {
  private readonly hash = createHash('sha256');
  private items = 0;

  readonly add = ({ item, version }: VersionedItem): void => {
    field(this.hash, item, version);
    this.items++;
  };

  result(): ListingDigest {
    return { digest: this.hash.digest('hex'), items: this.items };
  }
}

/** The input listing read on its own (a resume, which plans nothing, compares it with the run it resumes). */
async function hashListing(storage: Storage, settings: RunSettings): Promise<ListingDigest> {
  const hasher = new ListingHasher();
  for await (const entry of datasetKindOf(settings.input).listing(storage, settings.input)) hasher.add(entry);
  return hasher.result();
}

/**
 * The run's fingerprint: sha256 over a format tag, the settings of FINGERPRINTED_SETTINGS (canonical
 * JSON), the entry script's deployed bytes and every file of its source directory, each model's pinned
 * version and registration time, every side-input blob's name and ETag, and the input listing's digest
 * (every item with its ETag). Written to `runs/<runId>/fingerprint.json` (the same bytes when run again).
 * `listed` is the listing's digest when the plan already read it; otherwise the listing is read here.
 */
export async function fingerprintRun(
  storage: Storage,
  run: RunRecord,
  listed?: ListingDigest,
): Promise<FingerprintRecord> {
  const s = run.settings;
  const hash = createHash('sha256');
  field(hash, 'format', FORMAT);
  const settings = Object.fromEntries(FINGERPRINTED_SETTINGS.map((name) => [name, s[name]]));
  field(hash, 'settings', canonical(settings));
  await hashScripts(hash, s);
  await hashModels(hash, storage, run);
  await hashSideInputs(hash, storage, s);
  const listing = listed ?? (await hashListing(storage, s));
  field(hash, 'input.listing', `${listing.items} ${listing.digest}`);
  const record: FingerprintRecord = {
    fingerprint: hash.digest('hex'),
    listing: listing.digest,
    items: listing.items,
  };
  await writeJson(storage.blobs.getContainerClient(containers.runs), runPaths.fingerprint(run.runId), record);
  return record;
}

/** What `fingerprintRun` recorded for a run, if it got that far. */
export async function readFingerprint(
  storage: Storage,
  runId: string,
): Promise<FingerprintRecord | undefined> {
  return readJson<FingerprintRecord>(
    storage.blobs.getContainerClient(containers.runs),
    runPaths.fingerprint(runId),
  );
}
