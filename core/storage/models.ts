import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { type ContainerClient, RestError } from '@azure/storage-blob';
import { ParallelRunError } from '../errors.js';
import { containers } from './layout.js';
import { onnxProblem } from './onnx.js';
import { ensureContainer, readJson, writeJson, type Storage } from './storage.js';

/** models/<name>/<version>/model.json: what a registered model version says about itself. */
export interface ModelInfo {
  name: string;
  version: number;
  description?: string;
  tags?: Record<string, string>;
  files: string[];
  created: string;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

export function parseModelRef(ref: string): { name: string; version?: number } {
  const [name = '', version, extra] = ref.split(':');
  const v = version === undefined ? undefined : Number(version);
  if (!NAME.test(name) || extra !== undefined || (v !== undefined && (!Number.isInteger(v) || v < 1))) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `model '${ref}' is not a model reference: use 'name' or 'name:version', e.g. 'mnist:1'`,
      'models',
    );
  }
  return v === undefined ? { name } : { name, version: v };
}

async function modelsContainer(storage: Storage) {
  return ensureContainer(storage.blobs.getContainerClient(containers.models));
}

export async function listVersions(storage: Storage, name: string): Promise<number[]> {
  const container = await modelsContainer(storage);
  const versions: number[] = [];
  for await (const item of container.listBlobsByHierarchy('/', { prefix: `${name}/` })) {
    if (item.kind === 'prefix') {
      const v = Number(item.name.slice(name.length + 1, -1));
      if (Number.isInteger(v) && v > 0) versions.push(v);
    }
  }
  return versions.sort((a, b) => a - b);
}

/** `name:version` of a resolved model: the reference that always means this version. */
export function pinnedRef(info: Pick<ModelInfo, 'name' | 'version'>): string {
  return `${info.name}:${info.version}`;
}

/** Resolves `name` (latest) or `name:version` to a registered version, or says what is registered. */
export async function resolveModel(storage: Storage, ref: string): Promise<ModelInfo> {
  const { name, version } = parseModelRef(ref);
  const versions = await listVersions(storage, name);
  const container = await modelsContainer(storage);
  let info: ModelInfo | undefined;
  // Latest: the newest version whose upload finished (model.json is written last).
  for (const v of version === undefined ? [...versions].reverse() : [version]) {
    info = await readJson<ModelInfo>(container, `${name}/${v}/model.json`);
    if (info) break;
  }
  if (!info) {
    const known = versions.length
      ? `registered versions: ${versions.join(', ')}`
      : 'no version of it is registered (PUT /api/models/{name})';
    throw new ParallelRunError('MODEL_NOT_FOUND', `model '${ref}' is not registered: ${known}`, 'models');
  }
  return info;
}

export async function listModels(storage: Storage): Promise<{ name: string; versions: number[] }[]> {
  const container = await modelsContainer(storage);
  const out: { name: string; versions: number[] }[] = [];
  for await (const item of container.listBlobsByHierarchy('/')) {
    if (item.kind === 'prefix') {
      const name = item.name.slice(0, -1);
      out.push({ name, versions: await listVersions(storage, name) });
    }
  }
  return out;
}

/** Registers the next version of `name` from in-memory files. */
export async function registerModel(
  storage: Storage,
  name: string,
  files: { name: string; bytes: Buffer }[],
  meta: { description?: string; tags?: Record<string, string> } = {},
): Promise<ModelInfo> {
  if (!NAME.test(name)) {
    throw new ParallelRunError(
      'INVALID_REQUEST',
      `model name '${name}' is not allowed: letters, digits, '_' and '-', up to 63, starting with a letter or digit (the version is assigned)`,
      'name',
    );
  }
  for (const f of files) {
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(f.name) || f.name === 'model.json' || f.name.startsWith('.')) {
      throw new ParallelRunError(
        'INVALID_REQUEST',
        `file name '${f.name}' is not allowed: use letters, digits, '.', '_' and '-' (not model.json)`,
        'file',
      );
    }
    if (f.bytes.length === 0) {
      throw new ParallelRunError(
        'INVALID_REQUEST',
        `file '${f.name}' is empty: send the model file's bytes as the body`,
        'body',
      );
    }
    const problem = /\.onnx$/i.test(f.name) ? onnxProblem(f.bytes) : undefined;
    if (problem !== undefined) {
      throw new ParallelRunError(
        'INVALID_REQUEST',
        `file '${f.name}' is not an ONNX model: ${problem}. Send the .onnx file's bytes as they are (curl --data-binary @model.onnx), or name other files by what they are (?file=weights.bin)`,
        'body',
      );
    }
  }
  const container = await modelsContainer(storage);
  const version = await claimNextVersion(storage, container, name);
  for (const f of files)
    await container.getBlockBlobClient(`${name}/${version}/${f.name}`).upload(f.bytes, f.bytes.length);
  const info: ModelInfo = {
    name,
    version,
    ...meta,
    files: files.map((f) => f.name),
    created: new Date().toISOString(),
  };
  // model.json last: a version without it is not registered yet, so a half-written upload is never used.
  await writeJson(container, `${name}/${version}/model.json`, info);
  return info;
}

/**
 * The next version number of `name`, claimed by creating its `.claim` marker only if it does not
 * exist yet: two registrations at once get different versions instead of writing into one.
 */
async function claimNextVersion(storage: Storage, container: ContainerClient, name: string): Promise<number> {
  for (let version = ((await listVersions(storage, name)).at(-1) ?? 0) + 1; ; version++) {
    try {
      await container
        .getBlockBlobClient(`${name}/${version}/.claim`)
        .upload('', 0, { conditions: { ifNoneMatch: '*' } });
      return version;
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 409)) throw err;
    }
  }
}

/** model.json is written last, by a rename: a folder that has it is complete. */
async function isCached(dir: string): Promise<boolean> {
  return (await stat(path.join(dir, 'model.json')).catch(() => undefined)) !== undefined;
}

/** A local copy of a model version in `cacheRoot/<name>/<version>/`, downloaded once per machine. */
export async function downloadModel(storage: Storage, ref: string, cacheRoot: string): Promise<string> {
  const { name, version } = parseModelRef(ref);
  // A registered version never changes: its cached copy needs no request.
  if (version !== undefined && (await isCached(path.join(cacheRoot, name, String(version)))))
    return path.join(cacheRoot, name, String(version));
  const info = await resolveModel(storage, ref);
  const target = path.join(cacheRoot, info.name, String(info.version));
  if (await isCached(target)) return target;
  const staging = `${target}.${randomUUID()}.tmp`;
  await mkdir(staging, { recursive: true });
  const container = await modelsContainer(storage);
  for (const file of info.files) {
    const bytes = await container.getBlobClient(`${info.name}/${info.version}/${file}`).downloadToBuffer();
    await writeFile(path.join(staging, file), bytes);
  }
  await writeFile(path.join(staging, 'model.json'), JSON.stringify(info));
  // Another worker may have finished first: its copy is as good as ours.
  await rename(staging, target).catch(async () => rm(staging, { recursive: true, force: true }));
  return target;
}
