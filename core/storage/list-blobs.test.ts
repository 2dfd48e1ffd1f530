import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
  // XML cannot hold these: Azure (and the patched Azurite) answer the name URL-encoded, Encoded="true".
  'bell\u0001 and unit\u001f.txt',
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
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    expect(pages.flat()).toEqual((await sdkListing()).map((b) => b.name));
    expect((await lean({ prefix: 'folder/' })).map((b) => b.name)).toEqual(['folder/with space/x.txt']);
    expect((await lean({ prefix: 'folder/with space/' })).map((b) => b.name)).toEqual([
      'folder/with space/x.txt',
    ]);
    expect((await lean({ prefix: 'plus+' })).map((b) => b.name)).toEqual(['plus+sign.txt']);
    expect((await lean({ prefix: 'ünïcødé/' })).map((b) => b.name)).toEqual(['ünïcødé/日本語.csv']);
    expect(await lean({ prefix: 'nothing-here/' })).toEqual([]);
  });

  it('asks for the next page while the caller still works through the one it has', async () => {
    const proxy = await countingProxy(inject('storage'));
    try {
      const through = storageFromEnv({
        AzureWebJobsStorage: proxy.connectionString,
      }).blobs.getContainerClient(container.containerName);
      const pages = listBlobPages(through, { pageSize: 2, readAhead: true });
      const first = await pages.next();
      const firstNames = first.done ? [] : first.value.map((b) => b.name);
      expect(firstNames).toHaveLength(2);
      // Nothing more is pulled, yet the second page is on its way.
      await expect.poll(() => proxy.listings(), { timeout: 10_000, interval: 20 }).toBe(2);
      const rest: string[] = [];
      for await (const page of { [Symbol.asyncIterator]: () => pages }) rest.push(...page.map((b) => b.name));
      expect([...firstNames, ...rest]).toEqual((await sdkListing()).map((b) => b.name));
      // One page ahead at most: four pages, four requests.
      expect(proxy.listings()).toBe(4);
    } finally {
      await proxy.close();
    }
  });

  it('holds the failure of a page asked for ahead until the caller asks for that page', async () => {
    // The second listing request is refused: it fails while the caller still works through the first page.
    const proxy = await countingProxy(inject('storage'), 2);
    try {
      const through = storageFromEnv({
        AzureWebJobsStorage: proxy.connectionString,
      }).blobs.getContainerClient(container.containerName);
      const stopping = listBlobPages(through, { pageSize: 2, readAhead: true });
      expect((await stopping.next()).value).toHaveLength(2);
      await expect.poll(() => proxy.refused(), { timeout: 10_000, interval: 20 }).toBe(1);
      // A failure nobody awaits yet is not an unhandled rejection (vitest fails the run on one, as
      // Node ends a process on one): those are told once a turn of the event loop has passed…
      await new Promise((resolve) => setImmediate(resolve));
      // …and a caller that stops early is never told.
      await stopping.return(undefined);

      const going = listBlobPages(through, { pageSize: 2, readAhead: true });
      expect((await going.next()).value).toHaveLength(2);
      await expect(going.next()).rejects.toMatchObject({ statusCode: 403 });
      expect(proxy.refused()).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it('asks for no page ahead unless told to: a caller that stops after one page pays for one', async () => {
    // The URL of each page's request is made from the client's: counting its reads counts requests asked for.
    let asked = 0;
    const counted = new Proxy(container, {
      get(target, key, receiver) {
        if (key === 'url') asked++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const lazy = listBlobPages(counted, { pageSize: 2 });
    expect((await lazy.next()).value).toHaveLength(2);
    await lazy.return(undefined);
    expect(asked).toBe(1);

    asked = 0;
    const eager = listBlobPages(counted, { pageSize: 2, readAhead: true });
    expect((await eager.next()).value).toHaveLength(2);
    expect(asked).toBe(2);
    await eager.return(undefined);
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

/**
 * A pass-through proxy in front of Azurite's blob service that counts listing requests, and refuses
 * (403) every `refuse`-th one.
 */
async function countingProxy(connectionString: string, refuse = 0) {
  const endpoint = new URL(/BlobEndpoint=([^;]+)/.exec(connectionString)?.[1] ?? '');
  let listings = 0;
  let refused = 0;
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').includes('comp=list')) {
      listings++;
      if (refuse > 0 && listings % refuse === 0) {
        refused++;
        res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthorizationFailure' });
        res.end(
          '<?xml version="1.0"?><Error><Code>AuthorizationFailure</Code><Message>refused</Message></Error>',
        );
        return;
      }
    }
    const upstream = http.request(
      {
        host: endpoint.hostname,
        port: endpoint.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: connectionString.replace(
      /BlobEndpoint=[^;]+/,
      `BlobEndpoint=http://127.0.0.1:${port}${endpoint.pathname}`,
    ),
    listings: () => listings,
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
