import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContainerClient, RestError } from '@azure/storage-blob';
import { afterEach, describe, expect, it } from 'vitest';
import { listBlobs } from './list-blobs.js';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { leanHttpClient } from './http-client.js';
import { storageGet } from './rest.js';
import { downloadBlobWithMetadata } from './storage.js';

/** A stand-in for Blob Storage that answers each request in turn as `answers` says. */
async function flakyService(answers: ((res: http.ServerResponse, req: http.IncomingMessage) => void)[]) {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const answer = answers[Math.min(seen.length - 1, answers.length - 1)];
    answer?.(res, req);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { container: new ContainerClient(`http://127.0.0.1:${port}/devstoreaccount1/data`), seen };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const reset = (res: http.ServerResponse) => res.socket?.destroy();
const busy = (res: http.ServerResponse) => {
  res.writeHead(503, { 'x-ms-error-code': 'ServerBusy', 'content-type': 'application/xml' });
  res.end('<?xml version="1.0"?><Error><Code>ServerBusy</Code><Message>try later</Message></Error>');
};

describe('lean GETs over the lean HTTP client', () => {
  it('retries a reset connection and a busy answer, then gives the bytes and metadata', async () => {
    const { container, seen } = await flakyService([
      reset,
      busy,
      (res) => {
        res.writeHead(200, { 'x-ms-meta-note': 'third', 'content-length': '3' });
        res.end(Buffer.from([1, 2, 3]));
      },
    ]);
    const { bytes, metadata } = await downloadBlobWithMetadata(container.getBlobClient('a.bin'));
    expect(bytes).toEqual(Buffer.from([1, 2, 3]));
    expect(metadata).toEqual({ note: 'third' });
    expect(seen).toHaveLength(3);
    // One request, tried three times: the same client request id each time, as the SDK sends it.
    const ids = seen.map((h) => h['x-ms-client-request-id']);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(1);
  }, 30_000);

  it("fails with the service's code and message when it stays busy, after the retries", async () => {
    const { container, seen } = await flakyService([busy]);
    const failure = await listBlobs(container)
      .next()
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RestError);
    expect((failure as RestError).statusCode).toBe(503);
    expect((failure as RestError).code).toBe('ServerBusy');
    expect((failure as RestError).message).toContain('try later');
    expect(seen).toHaveLength(5);
  }, 60_000);

  it('does not retry a blob that does not exist', async () => {
    const { container, seen } = await flakyService([
      (res) => {
        res.writeHead(404, { 'x-ms-error-code': 'BlobNotFound' });
        res.end();
      },
    ]);
    const failure = await downloadBlobWithMetadata(container.getBlobClient('gone.bin')).catch(
      (e: unknown) => e,
    );
    expect((failure as RestError).code).toBe('BlobNotFound');
    expect(seen).toHaveLength(1);
  });

  it('asks again for a blob whose body broke off midway, and gives it whole', async () => {
    const { container, seen } = await flakyService([
      (res) => {
        res.writeHead(200, { 'content-length': '10' });
        res.write(Buffer.from([1, 2, 3]), () => res.socket?.destroy());
      },
      (res) => {
        res.writeHead(200, { 'content-length': '10' });
        res.end(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      },
    ]);
    const { bytes } = await downloadBlobWithMetadata(container.getBlobClient('a.bin'));
    expect(bytes).toEqual(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(seen).toHaveLength(2);
  });

  it('ends a streamed body when its request is aborted after the answer began', async () => {
    let wrote!: () => void;
    const began = new Promise<void>((resolve) => (wrote = resolve));
    const { container } = await flakyService([
      (res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write(Buffer.alloc(10), () => wrote());
      },
    ]);
    const abort = new AbortController();
    const response = await leanHttpClient().sendRequest(
      createPipelineRequest({
        url: container.getBlobClient('slow.bin').url,
        headers: createHttpHeaders(),
        abortSignal: abort.signal,
        streamResponseStatusCodes: new Set([200]),
      }),
    );
    await began;
    abort.abort();
    const read = async () => {
      let bytes = 0;
      for await (const chunk of response.readableStreamBody ?? []) bytes += (chunk as Buffer).length;
      return bytes;
    };
    await expect(read()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('gives up on a silent service and asks again, before the answer and within its body', async () => {
    const silent = () => undefined;
    const { container, seen } = await flakyService([
      silent,
      (res) => {
        res.writeHead(200, { 'content-length': '4' });
        res.write(Buffer.from([1, 2])); // and then nothing more
      },
      (res) => {
        res.writeHead(200, { 'content-length': '4' });
        res.end(Buffer.from([1, 2, 3, 4]));
      },
    ]);
    const blob = container.getBlobClient('quiet.bin');
    const response = await storageGet({ client: blob, url: blob.url, stream: true, silenceTimeoutMs: 200 });
    const read = async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody ?? []) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    // The first request went unanswered and was asked again; the second's body stalls.
    await expect(read()).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(seen).toHaveLength(2);
    const again = await storageGet({ client: blob, url: blob.url, stream: true, silenceTimeoutMs: 200 });
    expect(again.status).toBe(200);
    expect(seen).toHaveLength(3);
  }, 30_000);
});
