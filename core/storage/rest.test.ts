import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ContainerClient, ContainerSASPermissions, RestError } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { listBlobs } from './list-blobs.js';
import { blobAt, downloadBlobWithMetadata, isNotFound, storageFromEnv } from './storage.js';

/** Names whose URLs need encoding: the signature covers the encoded path. */
const NAMES = [
  'a&b<c>"d\'e.txt',
  'with space/x.png',
  'ünïcødé/日本語.bin',
  'plus+sign%20.txt',
  'hash#and?query.bin',
];

let container: ContainerClient;

beforeAll(async () => {
  container = storageFromEnv({ AzureWebJobsStorage: inject('storage') }).blobs.getContainerClient(
    `rest-${randomBytes(4).toString('hex')}`,
  );
  await container.create();
  for (const [i, name] of NAMES.entries()) {
    const bytes = Buffer.from([0, 255, i, 10, 13]);
    await container.getBlockBlobClient(name).upload(bytes, bytes.length, {
      metadata: { Hdi_IsFolder: i === 0 ? 'true' : 'false', note: `n${i}` },
    });
  }
});

describe('lean blob download', () => {
  it('gives the bytes and metadata the SDK gives, whatever the name', async () => {
    for (const [i, name] of NAMES.entries()) {
      const blob = container.getBlobClient(name);
      const sdk = await blob.download();
      const lean = await downloadBlobWithMetadata(blob);
      expect(lean.bytes).toEqual(Buffer.from([0, 255, i, 10, 13]));
      expect(lean.metadata).toEqual(sdk.metadata);
      expect(lean.metadata).toMatchObject({ note: `n${i}` });
    }
  });

  it('blobAt names the blob at the URL the SDK would, and downloads it the same', async () => {
    const odd = [...NAMES, 'a/../b', 'x/./y', '/lead', 'a//b', 'trail/', '%2F', "~!*()'"];
    for (const name of odd) expect(blobAt(container, name).url, name).toBe(container.getBlobClient(name).url);
    // Encoded dots stay a name: they never climb out of the container (a literal ".." is refused at submit).
    for (const name of ['%2e%2e/%2E%2E/runs/x', '.%2e/runs/y', '..%2f..%2fruns']) {
      expect(blobAt(container, name).url, name).toBe(container.getBlobClient(name).url);
      expect(blobAt(container, name).url.startsWith(`${container.url}/`), name).toBe(true);
    }
    for (const [i, name] of NAMES.entries()) {
      const { bytes, metadata } = await downloadBlobWithMetadata(blobAt(container, name));
      expect(bytes).toEqual(Buffer.from([0, 255, i, 10, 13]));
      expect(metadata).toMatchObject({ note: `n${i}` });
    }
  });

  it("gives a blob stored gzip-encoded as stored, as the SDK does: its bytes are the user's", async () => {
    const stored = gzipSync(Buffer.from('a,b\n1,2\n'));
    const blob = container.getBlockBlobClient('encoded.csv.gz');
    await blob.upload(stored, stored.length, { blobHTTPHeaders: { blobContentEncoding: 'gzip' } });
    const { bytes } = await downloadBlobWithMetadata(blob);
    expect(bytes).toEqual(stored);
    expect(bytes).toEqual(await blob.downloadToBuffer());
    await blob.delete();
  });

  it('fails as the SDK does for a blob that does not exist', async () => {
    const failure = await downloadBlobWithMetadata(container.getBlobClient('no/such.png')).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(RestError);
    expect(isNotFound(failure)).toBe(true);
    expect((failure as RestError).code).toBe('BlobNotFound');
  });

  it('works as well through a SAS URL (the anonymous credential): listing and download', async () => {
    const sasUrl = await container.generateSasUrl({
      permissions: ContainerSASPermissions.parse('rl'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const viaSas = new ContainerClient(sasUrl);
    const names: string[] = [];
    for await (const blob of listBlobs(viaSas, { pageSize: 2 })) names.push(blob.name);
    expect(names).toEqual([...NAMES].sort());
    const last = NAMES.length - 1;
    const { bytes } = await downloadBlobWithMetadata(viaSas.getBlobClient(NAMES[last] ?? ''));
    expect(bytes).toEqual(Buffer.from([0, 255, last, 10, 13]));
    // The SAS stays in the query of a blob named from its container.
    const at = blobAt(viaSas, NAMES[last] ?? '');
    expect(at.url).toBe(viaSas.getBlobClient(NAMES[last] ?? '').url);
    expect((await downloadBlobWithMetadata(at)).bytes).toEqual(bytes);
  });
});
