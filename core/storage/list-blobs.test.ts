import { randomBytes } from 'node:crypto';
import { RestError, type ContainerClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { listBlobPages, listBlobs } from './list-blobs.js';
import { isNotFound, storageFromEnv } from './storage.js';

/** Names a listing must give back exactly: XML's own characters, spaces, non-ASCII, deep paths. */
const NAMES = [
  'a&b<c>"d\'e.txt',
  'folder/with space/x.txt',
  'ünïcødé/日本語.csv',
  'percent%20not-decoded.txt',
  'deep/a/b/c/d/e/f.txt',
  'plus+sign.txt',
];

let container: ContainerClient;

beforeAll(async () => {
  const storage = storageFromEnv({ AzureWebJobsStorage: inject('storage') });
  container = storage.blobs.getContainerClient(`list-${randomBytes(4).toString('hex')}`);
  await container.create();
  for (const [i, name] of NAMES.entries()) {
    const body = 'x'.repeat(i + 1);
    await container.getBlockBlobClient(name).upload(body, body.length, {
      metadata: i === 0 ? { hdi_isfolder: 'true', note: 'a&b<c>"d\'e' } : {},
    });
  }
});

/** The SDK's own listing of the same container, in the same shape. */
async function sdkListing(prefix?: string) {
  const blobs = [];
  for await (const blob of container.listBlobsFlat({
    includeMetadata: true,
    ...(prefix ? { prefix } : {}),
  })) {
    blobs.push({
      name: blob.name,
      etag: blob.properties.etag,
      contentLength: blob.properties.contentLength ?? 0,
      metadata: blob.metadata ?? {},
    });
  }
  return blobs;
}

async function lean(options: Parameters<typeof listBlobs>[1]) {
  const blobs = [];
  for await (const blob of listBlobs(container, options)) blobs.push(blob);
  return blobs;
}

describe('lean blob listing', () => {
  it('gives what the SDK gives: names, ETags, lengths and metadata, in listing order', async () => {
    const expected = await sdkListing();
    // Azurite writes the listing's XML (patches/azurite+3.35.0.patch renders it without xml2js): every
    // name and metadata value comes back exactly as written.
    expect(expected.map((b) => b.name).sort()).toEqual([...NAMES].sort());
    expect(expected.find((b) => b.name === NAMES[0])?.metadata).toEqual({
      hdi_isfolder: 'true',
      note: 'a&b<c>"d\'e',
    });
    expect(await lean({ includeMetadata: true })).toEqual(expected);
    expect((await lean({})).map((b) => b.metadata)).toEqual(NAMES.map(() => ({})));
  });

  it('follows the continuation marker page by page, and filters by prefix', async () => {
    const pages: string[][] = [];
    for await (const page of listBlobPages(container, { pageSize: 2 })) pages.push(page.map((b) => b.name));
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(pages.flat()).toEqual((await sdkListing()).map((b) => b.name));
    expect((await lean({ prefix: 'folder/' })).map((b) => b.name)).toEqual(['folder/with space/x.txt']);
    expect((await lean({ prefix: 'folder/with space/' })).map((b) => b.name)).toEqual([
      'folder/with space/x.txt',
    ]);
    expect((await lean({ prefix: 'plus+' })).map((b) => b.name)).toEqual(['plus+sign.txt']);
    expect((await lean({ prefix: 'ünïcødé/' })).map((b) => b.name)).toEqual(['ünïcødé/日本語.csv']);
    expect(await lean({ prefix: 'nothing-here/' })).toEqual([]);
  });

  it('fails as the SDK does for a container that does not exist', async () => {
    const gone = storageFromEnv({ AzureWebJobsStorage: inject('storage') }).blobs.getContainerClient(
      `gone-${randomBytes(4).toString('hex')}`,
    );
    const failure = await (async () => {
      try {
        for await (const blob of listBlobs(gone)) return blob;
      } catch (e) {
        return e;
      }
    })();
    expect(failure).toBeInstanceOf(RestError);
    expect(isNotFound(failure)).toBe(true);
    expect((failure as RestError).code).toBe('ContainerNotFound');
  });
});
