import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

/** A forward proxy that answers every request itself, recording the address asked for. */
const asked: string[] = [];
const proxy = http.createServer((req, res) => {
  asked.push(req.url ?? '');
  res.writeHead(200, { 'content-length': '9', 'x-ms-meta-via': 'proxy' });
  res.end('via proxy');
});

beforeAll(async () => {
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  vi.stubEnv('HTTP_PROXY', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
  vi.stubEnv('NO_PROXY', '');
  vi.resetModules();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
});

it('sends the lean GETs through the proxy the environment names', async () => {
  // Loaded after the environment is set: the transport is chosen once, when the module loads.
  const { downloadBlobWithMetadata } = await import('./storage.js');
  const container = new ContainerClient('http://storage.example.test/devstoreaccount1/data');
  const { bytes, metadata } = await downloadBlobWithMetadata(container.getBlobClient('a.bin'));
  expect(bytes.toString()).toBe('via proxy');
  expect(metadata).toEqual({ via: 'proxy' });
  expect(asked).toEqual(['http://storage.example.test/devstoreaccount1/data/a.bin']);
});
