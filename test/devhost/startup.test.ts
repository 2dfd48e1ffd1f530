import http from 'node:http';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableServiceClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { freePort, startAzurite } from '../../devhost/azurite.js';
import { DevHostError } from '../../devhost/errors.js';
import { call, repoRoot, spawnDevHost } from '../support/devhost.js';

describe('embedded Azurite', () => {
  it('starts on free ports with blob, queue and table answering, and stops', async () => {
    const azurite = await startAzurite();
    try {
      const blob = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
        'probe',
      );
      await blob.create();
      await blob.getBlockBlobClient('x').upload('hi', 2);
      expect((await blob.getBlobClient('x').downloadToBuffer()).toString()).toBe('hi');
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('probe');
      await queue.create();
      await queue.sendMessage('m');
      expect((await queue.receiveMessages()).receivedMessageItems[0]?.messageText).toBe('m');
      const tables = TableServiceClient.fromConnectionString(azurite.connectionString, {
        allowInsecureConnection: true,
      });
      await tables.createTable('probe');
      const names: string[] = [];
      for await (const t of tables.listTables()) names.push(t.name ?? '');
      expect(names).toContain('probe');
    } finally {
      await azurite.stop();
    }
    await expect(fetch(`http://127.0.0.1:${azurite.ports.blob}/`)).rejects.toThrow();
  });

  it('names the port when one is already taken', async () => {
    const server = http.createServer();
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const attempt = startAzurite({ ports: { blob: port } });
      await expect(attempt).rejects.toThrow(DevHostError);
      await expect(attempt).rejects.toThrow(`Azurite blob port ${port} is already in use`);
    } finally {
      server.close();
    }
  });
});

describe('devhost start-up with bad input', () => {
  it('says which glob matched nothing, and keeps serving', async () => {
    const host = await spawnDevHost({
      storage: inject('storage'),
      app: path.join(repoRoot, 'test/fixtures/empty-app'),
    });
    try {
      expect(host.lines.join('\n')).toContain(
        `package.json "main" is 'dist/nothing/**/*.js', which matches no file`,
      );
      expect((await call(host.baseUrl, 'GET', '/admin/host/status')).body).toEqual({
        state: 'Running',
        functions: 0,
      });
      expect((await call(host.baseUrl, 'GET', '/api/anything')).status).toBe(404);
    } finally {
      await host.kill();
    }
  });

  it('exits with one clear line when its port is in use', async () => {
    const server = http.createServer();
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const host = await spawnDevHost({ storage: inject('storage'), port, waitForStart: false });
      expect(await host.exited).toBe(1);
      expect(host.lines).toContain(
        `devhost: port ${port} on 127.0.0.1 is already in use: stop the other host or pass --port <n>.`,
      );
    } finally {
      server.close();
    }
  });
});
