import { expect, inject } from 'vitest';
import type { TableInput } from '../config/resolved.js';
import { storageFromEnv, type Storage } from '../storage/storage.js';
import { datasetConformance, type ConformanceFixture } from './conformance.js';
import { encodeItem } from './table-items.js';
import { tableKind } from './table-kind.js';

/** Four small CSV files (two rows each) in a fresh container: each is one mini-batch (small files are not merged). */
async function csvFixture(): Promise<ConformanceFixture<TableInput>> {
  const storage: Storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  const container = `conformance-${Math.random().toString(36).slice(2, 10)}`;
  const client = storage.blobs.getContainerClient(container);
  await client.create();
  const files = Array.from({ length: 4 }, (_, i) => ({
    name: `${i}.csv`,
    text: `id,label\n${i * 2 + 1},a\n${i * 2 + 2},b\n`,
  }));
  const etags = await Promise.all(
    files.map(
      async (f) => (await client.getBlockBlobClient(`rows/${f.name}`).upload(f.text, f.text.length)).etag,
    ),
  );
  await client.getBlockBlobClient('other/x.csv').upload('a\n1\n', 4);
  const input: TableInput = { type: 'table', container, path: 'rows/' };
  const fileOf = (item: string) => item.slice(0, item.lastIndexOf('#'));
  return {
    storage,
    dataset: input,
    items: files.map((f, i) =>
      encodeItem({ file: f.name, unit: 'bytes', start: 0, end: f.text.length, etag: etags[i] }),
    ),
    listed: files.map((f) => f.name),
    size: { kind: 'bytes', bytes: 1024, text: '1KB' },
    miniBatches: files.length,
    refused: [
      {
        what: 'a container that does not exist',
        input: { type: 'table', container: `${container}-missing`, path: '' },
        field: 'input.container',
      },
      {
        what: 'a folder with no file',
        input: { type: 'table', container, path: 'nothing/' },
        field: 'input',
      },
      {
        what: 'a glob matching no file',
        input: { type: 'table', container, path: '', glob: '*.none' },
        field: 'input.glob',
      },
    ],
    remove: async (item) => {
      await client.getBlobClient(`rows/${fileOf(item)}`).delete();
    },
    inputNames: (items) => items.flatMap((item) => [`${fileOf(item)}#row=1`, `${fileOf(item)}#row=2`]),
    vanishedName: fileOf,
    checkInput: (row) => {
      expect(row).toEqual({
        id: expect.any(Number) as number,
        label: expect.stringMatching(/^[ab]$/) as string,
      });
      return Promise.resolve();
    },
  };
}

datasetConformance('CSV files in a blob folder', tableKind, csvFixture);
