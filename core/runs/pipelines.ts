import { parsePipeline, type PipelineDefinition } from '../config/parameters.js';
import { NotFoundError } from '../errors.js';
import { containers } from '../storage/layout.js';
import { ensureContainer, readJson, writeJson, type Storage } from '../storage/storage.js';

/** Published pipelines: `pipelines/<name>.json`, a run's settings with named parameters. */
async function pipelinesContainer(storage: Storage) {
  return ensureContainer(storage.blobs.getContainerClient(containers.pipelines));
}

/** Validates and stores a definition; returns it and whether it replaced an earlier one. */
export async function savePipeline(
  storage: Storage,
  name: string,
  body: unknown,
): Promise<{ pipeline: PipelineDefinition; replaced: boolean }> {
  const pipeline = parsePipeline(body, name);
  const container = await pipelinesContainer(storage);
  const replaced = await container.getBlobClient(`${name}.json`).exists();
  await writeJson(container, `${name}.json`, pipeline);
  return { pipeline, replaced };
}

export async function loadPipeline(storage: Storage, name: string): Promise<PipelineDefinition> {
  const pipeline = await readJson<PipelineDefinition>(await pipelinesContainer(storage), `${name}.json`);
  if (!pipeline)
    throw new NotFoundError(`pipeline '${name}' does not exist: publish it with PUT /api/pipelines/${name}`);
  return pipeline;
}

export interface PipelineEntry {
  name: string;
  parameters: string[];
  updated: string;
}

/** Every published pipeline, by name: its parameter names and when it was last published. */
export async function listPipelines(storage: Storage): Promise<PipelineEntry[]> {
  const container = await pipelinesContainer(storage);
  const out: PipelineEntry[] = [];
  for await (const blob of container.listBlobsFlat()) {
    if (!blob.name.endsWith('.json')) continue;
    const name = blob.name.slice(0, -'.json'.length);
    const pipeline = await readJson<PipelineDefinition>(container, blob.name);
    if (!pipeline) continue;
    out.push({
      name,
      parameters: Object.keys(pipeline.parameters),
      updated: blob.properties.lastModified.toISOString(),
    });
  }
  return out;
}
