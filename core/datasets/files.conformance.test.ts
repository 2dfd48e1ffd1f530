import { stat } from 'node:fs/promises';
import { expect, inject } from 'vitest';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import { datasetConformance, type ConformanceFixture } from './conformance.js';
import { filesKind } from './files-kind.js';
import { blobNameOf, type BlobFiles } from './files.js';

/** A fresh container per fixture (a test may delete an item), on the Azurite of test/support/globalSetup.ts. */
async function blobFixture(
  files: string[],
  dataset: (container: string) => BlobFiles,
  items: string[],
): Promise<ConformanceFixture<BlobFiles>> {
  const storage: Storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  const container = `conformance-${Math.random().toString(36).slice(2, 10)}`;
  const client = storage.blobs.getContainerClient(container);
  await client.create();
  await Promise.all(files.map((name) => client.getBlockBlobClient(name).upload(name, name.length)));
  const input = dataset(container);
  return {
    storage,
    dataset: input,
    items,
    size: { kind: 'files', count: 3 },
    miniBatches: Math.ceil(items.length / 3),
    refused: [
      {
        what: 'a container that does not exist',
        input: { type: 'files', container: `${container}-missing`, path: '' },
        field: 'input.container',
      },
      {
        what: 'a folder with no file',
        input: { type: 'files', container, path: 'nothing/' },
        field: 'input',
      },
      {
        what: 'a glob matching no file',
        input: { type: 'files', container, path: '', glob: '*.none' },
        field: 'input.glob',
      },
    ],
    remove: async (item) => {
      await client.getBlobClient(blobNameOf(input, item)).delete();
    },
    inputNames: (some) => some,
    vanishedName: (item) => item,
    checkInput: async (entry) => {
      expect(typeof entry).toBe('string');
      expect((await stat(entry as string)).isFile()).toBe(true);
    },
  };
}

const names = Array.from({ length: 8 }, (_, i) => `${String(i).padStart(2, '0')}.txt`);

datasetConformance('blob folder', filesKind, () =>
  blobFixture(
    [...names.map((n) => `data/${n}`), 'other/zz.txt'],
    (container) => ({ type: 'files', container, path: 'data/' }),
    names,
  ),
);

datasetConformance('blob folder with a glob', filesKind, () =>
  blobFixture(
    [...names.map((n) => `data/${n}`), ...names.map((n) => `data/${n}.bak`)],
    (container) => ({ type: 'files', container, path: 'data', glob: '*.txt' }),
    names,
  ),
);

datasetConformance('explicit names', filesKind, () =>
  blobFixture(
    names.map((n) => `data/${n}`),
    (container) => ({ type: 'files', container, path: 'data/', names: names.slice(1).reverse() }),
    names.slice(1).reverse(),
  ),
);

datasetConformance('names listed in a blob (names_from)', filesKind, async () => {
  const listed = ['05.txt', 'a b/ünï #1 %2.txt', '01.txt'];
  const fixture = await blobFixture(
    listed.map((n) => `data/${n}`),
    (container) => ({
      type: 'files',
      container,
      path: 'data/',
      names_from: { container, path: 'lists/names.jsonl' },
    }),
    listed,
  );
  const container = fixture.dataset.container;
  const list = `${listed.map((n) => JSON.stringify(n)).join('\n')}\n`;
  await fixture.storage.blobs
    .getContainerClient(container)
    .getBlockBlobClient('lists/names.jsonl')
    .upload(list, Buffer.byteLength(list));
  fixture.refused.push({
    what: 'a names_from blob that does not exist',
    input: { ...fixture.dataset, names_from: { container, path: 'lists/none.jsonl' } },
    field: 'input.names_from',
  });
  return { ...fixture, size: { kind: 'files', count: 2 }, miniBatches: 2 };
});
