import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { spawnDevHost, uniqueNames, type DevHostProcess } from '../support/devhost.js';

const names = uniqueNames();
let host: DevHostProcess;
const storage = () => inject('storage');

beforeAll(async () => {
  host = await spawnDevHost({ storage: storage(), names });
});

afterAll(async () => {
  await host.kill();
});

const results = () => BlobServiceClient.fromConnectionString(storage()).getContainerClient(names.results);

async function listResults(prefix: string): Promise<string[]> {
  const out: string[] = [];
  if (!(await results().exists())) return out;
  for await (const b of results().listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

describe('queue triggers', () => {
  const queues = () => QueueServiceClient.fromConnectionString(storage());

  it('hands a message to the function once and deletes it', async () => {
    const queue = queues().getQueueClient(names.queue);
    await queue.createIfNotExists();
    await queue.sendMessage(encode({ id: 'ok-1' }));
    await vi.waitFor(
      async () => expect(await listResults('queue/ok-1/')).toEqual(['queue/ok-1/attempt-1.json']),
      { timeout: 20_000, interval: 100 },
    );
    await host.waitForLine(/Executed 'Functions\.queueWorker' \(Succeeded.*DequeueCount=1/);
    await vi.waitFor(async () => expect((await queue.getProperties()).approximateMessagesCount).toBe(0), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it('retries a failing message 5 times, then moves it to the poison queue', async () => {
    const queue = queues().getQueueClient(names.queue);
    await queue.sendMessage(encode({ id: 'bad-1', fail: true }));
    const poison = queues().getQueueClient(`${names.queue}-poison`);
    await vi.waitFor(
      async () => {
        expect(await poison.exists()).toBe(true);
        const peeked = await poison.peekMessages({ numberOfMessages: 1 });
        expect(peeked.peekedMessageItems).toHaveLength(1);
      },
      { timeout: 30_000, interval: 200 },
    );
    const peeked = await poison.peekMessages();
    expect(
      JSON.parse(Buffer.from(peeked.peekedMessageItems[0]?.messageText ?? '', 'base64').toString()),
    ).toEqual({ id: 'bad-1', fail: true });
    expect(await listResults('queue/bad-1/')).toEqual(
      [1, 2, 3, 4, 5].map((n) => `queue/bad-1/attempt-${n}.json`),
    );
    await host.waitForLine(/moved to queue/);
  });
});

describe('blob triggers (Event Grid source)', () => {
  it('invokes the function once per created blob, with the path parameters and content', async () => {
    const inbox = BlobServiceClient.fromConnectionString(storage()).getContainerClient(names.inbox);
    await inbox.createIfNotExists();
    await inbox.getBlockBlobClient('one.txt').upload('12345', 5);
    await inbox.getBlockBlobClient('sub/two.txt').upload('12', 2);
    await vi.waitFor(
      async () => {
        expect(await listResults('blob/one.txt/')).toHaveLength(1);
        expect(await listResults('blob/sub/two.txt/')).toHaveLength(1);
      },
      { timeout: 20_000, interval: 100 },
    );
    const [first] = await listResults('blob/one.txt/');
    const body = await results()
      .getBlobClient(first ?? '')
      .downloadToBuffer();
    expect(JSON.parse(body.toString())).toEqual({ name: 'one.txt', size: 5 });
    // A new blob later is seen too; the old ones are not handed over again.
    await inbox.getBlockBlobClient('three.txt').upload('x', 1);
    await vi.waitFor(async () => expect(await listResults('blob/three.txt/')).toHaveLength(1), {
      timeout: 20_000,
      interval: 100,
    });
    expect(await listResults('blob/one.txt/')).toHaveLength(1);
  });

  it('hands a blob over again through the admin API, as a duplicated event does', async () => {
    const inbox = BlobServiceClient.fromConnectionString(storage()).getContainerClient(names.inbox);
    await inbox.getBlockBlobClient('again.txt').upload('abc', 3);
    await vi.waitFor(async () => expect(await listResults('blob/again.txt/')).toHaveLength(1), {
      timeout: 20_000,
      interval: 100,
    });
    const again = await fetch(`${host.baseUrl}/admin/functions/blobWatcher`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: `${names.inbox}/again.txt` }),
    });
    expect(again.status).toBe(202);
    expect(await listResults('blob/again.txt/')).toHaveLength(2);
    const unknown = await fetch(`${host.baseUrl}/admin/functions/noSuchFunction`, {
      method: 'POST',
      body: JSON.stringify({ input: `${names.inbox}/again.txt` }),
    });
    expect(unknown.status).toBe(404);
  });
});

describe('blob triggers: a name XML cannot hold', () => {
  it('hands it over like any other, as Azure lists it (encoded), the blobs beside it too', async () => {
    const inbox = BlobServiceClient.fromConnectionString(storage()).getContainerClient(names.inbox);
    await inbox.createIfNotExists();
    // Azurite once failed every listing of the container with a 500 while this blob was there.
    await inbox.getBlockBlobClient('bell\u0007.txt').upload('x', 1);
    await inbox.getBlockBlobClient('after.txt').upload('y', 1);
    await vi.waitFor(
      async () => {
        expect(await listResults('blob/bell\u0007.txt/')).toHaveLength(1);
        expect(await listResults('blob/after.txt/')).toHaveLength(1);
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(host.lines.filter((l) => l.includes('could not scan'))).toEqual([]);
  });
});
