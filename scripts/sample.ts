import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listVersions, registerModel, type ModelInfo } from '../core/storage/models.js';
import { ensureContainer, storage, type Storage } from '../core/storage/storage.js';
import { sampleImages } from '../samples/mnist/images.js';
import { sourceModelDir } from '../samples/mnist/paths.js';

export const SAMPLE_CONTAINER = 'sampledata';
export const SAMPLE_PREFIX = 'mnist/';
const UPLOADS_IN_PARALLEL = 32;

/** Registers model `mnist` version 1 from the committed ONNX file, unless some version already is. */
export async function seedModel(log: (line: string) => void, store: Storage = storage()): Promise<void> {
  if ((await listVersions(store, 'mnist')).length > 0) return;
  const dir = sourceModelDir();
  const meta = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as Partial<ModelInfo>;
  const info = await registerModel(
    store,
    'mnist',
    [{ name: 'mnist.onnx', bytes: await readFile(path.join(dir, 'mnist.onnx')) }],
    {
      ...(meta.description ? { description: meta.description } : {}),
      ...(meta.tags ? { tags: meta.tags } : {}),
    },
  );
  log(`registered model mnist:${info.version}`);
}

/** Writes the 10,000 digits as `sampledata/mnist/<i>.png`, skipping the ones already there. */
export async function seedImages(log: (line: string) => void, store: Storage = storage()): Promise<number> {
  const container = await ensureContainer(store.blobs.getContainerClient(SAMPLE_CONTAINER));
  const present = new Set<string>();
  for await (const b of container.listBlobsFlat({ prefix: SAMPLE_PREFIX })) present.add(b.name);
  const images = sampleImages();
  let uploaded = 0;
  const worker = async () => {
    for (let next = images.next(); !next.done; next = images.next()) {
      const name = `${SAMPLE_PREFIX}${next.value.name}`;
      if (present.has(name)) continue;
      await container.getBlockBlobClient(name).upload(next.value.bytes, next.value.bytes.length, {
        blobHTTPHeaders: { blobContentType: 'image/png' },
      });
      if (++uploaded % 2000 === 0) log(`  ${uploaded} images written`);
    }
  };
  await Promise.all(Array.from({ length: UPLOADS_IN_PARALLEL }, worker));
  if (uploaded > 0) log(`wrote ${uploaded} images to ${SAMPLE_CONTAINER}/${SAMPLE_PREFIX}`);
  return present.size + uploaded;
}
