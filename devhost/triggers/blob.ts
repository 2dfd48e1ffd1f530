import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { errorMessage } from '../errors.js';
import type { Invoker } from '../invoker.js';
import type { Logger } from '../log.js';
import type { RegisteredFunction, Registry } from '../registry.js';
import { Backoff, connectionFor, pause, triggerSetting } from './common.js';

const MAX_TRIES = 5;
const RECEIPTS_CONTAINER = 'azure-webjobs-hosts';
const POISON_QUEUE = 'webjobs-blobtrigger-poison';
/** A scan that keeps failing the same way is reported again at most this often (it is retried every 2 s). */
const REPORT_AGAIN_MS = 60_000;

/**
 * Why a scan failed, said so that it can be acted on. Azurite answers a listing it cannot write with a
 * bare 500 (a blob name under the path it cannot render: a name with a control character was one,
 * until the embedded Azurite learnt to encode it as Azure does): the trigger then sees nothing under
 * the path until the listing succeeds.
 */
export function scanFailure(err: unknown, container: string, prefix: string): string {
  if (err instanceof RestError && err.statusCode === 500) {
    return `Azurite answered HTTP 500 to the listing of ${container}/${prefix} (${errorMessage(err) || 'no message'}): nothing under ${container}/${prefix} is handed over until a listing succeeds (asked again every 2 s). Look for a blob under it with an unusual name, and delete or rename it.`;
  }
  return errorMessage(err);
}

interface BlobPattern {
  container: string;
  prefix: string;
  match(name: string): Record<string, string> | undefined;
}

/** `inbox/{name}` or `inbox/{pipeline}/{file}.csv`: the container, a literal listing prefix, and a matcher. */
export function parseBlobPath(path: string): BlobPattern {
  const slash = path.indexOf('/');
  const container = slash < 0 ? path : path.slice(0, slash);
  const rest = slash < 0 ? '{name}' : path.slice(slash + 1);
  const names: string[] = [];
  const source = rest
    .split(/(\{[A-Za-z_][A-Za-z0-9_]*\})/)
    .map((part) => {
      const m = /^\{(.+)\}$/.exec(part);
      if (!m?.[1]) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]);
      return '(.+?)';
    })
    .join('');
  const regex = new RegExp(`^${source}$`);
  const brace = rest.indexOf('{');
  return {
    container,
    prefix: brace < 0 ? rest : rest.slice(0, brace),
    match(name: string) {
      const m = regex.exec(name);
      if (!m) return undefined;
      return Object.fromEntries(names.map((n, i) => [n, m[i + 1] ?? '']));
    },
  };
}

/**
 * Blob triggers (`source: 'EventGrid'` or polling): each created or overwritten blob under the path
 * is handed to the function once. A receipt per blob version (name + ETag) in `azure-webjobs-hosts`
 * keeps it once across restarts; after 5 failed tries the blob goes to the poison queue, like Azure.
 */
export class BlobTriggers {
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly invoker: Invoker,
    private readonly defaultConnection: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    for (const fn of this.registry.byTrigger('blobTrigger')) {
      try {
        const pattern = parseBlobPath(triggerSetting(fn, 'path'));
        const service = BlobServiceClient.fromConnectionString(connectionFor(fn) || this.defaultConnection);
        this.loops.push(this.watch(fn, pattern, service));
      } catch (err) {
        this.log.error(`Blob trigger '${fn.name}' is not listening: ${errorMessage(err)}`);
      }
    }
  }

  /**
   * Hands one existing blob to a blob-triggered function now, as Event Grid does when it delivers an
   * event again (at-least-once delivery: duplicates happen). Undefined when `fnName` is not a blob
   * trigger; false when the blob does not match its path or the function failed.
   */
  async deliverAgain(fnName: string, blobPath: string): Promise<boolean | undefined> {
    const fn = this.registry
      .byTrigger('blobTrigger')
      .find((f) => f.name.toLowerCase() === fnName.toLowerCase());
    if (!fn) return undefined;
    const pattern = parseBlobPath(triggerSetting(fn, 'path'));
    if (!blobPath.startsWith(`${pattern.container}/`)) return false;
    const name = blobPath.slice(pattern.container.length + 1);
    const params = pattern.match(name);
    if (!params) return false;
    const service = BlobServiceClient.fromConnectionString(connectionFor(fn) || this.defaultConnection);
    return this.fire(fn, service.getContainerClient(pattern.container), name, params);
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  private async watch(
    fn: RegisteredFunction,
    pattern: BlobPattern,
    service: BlobServiceClient,
  ): Promise<void> {
    const signal = this.abort.signal;
    const container = service.getContainerClient(pattern.container);
    const receipts = service.getContainerClient(RECEIPTS_CONTAINER);
    await container.createIfNotExists();
    await receipts.createIfNotExists();
    const receiptPrefix = `blobreceipts/devhost/${fn.name}/${pattern.container}/`;
    const done = new Set<string>();
    for await (const r of receipts.listBlobsFlat({ prefix: receiptPrefix }))
      done.add(r.name.slice(receiptPrefix.length));
    const tries = new Map<string, number>();
    const backoff = new Backoff(100, 2_000);
    let reported: { text: string; at: number } | undefined;
    while (!signal.aborted) {
      let found = false;
      try {
        for await (const blob of container.listBlobsFlat({ prefix: pattern.prefix })) {
          if (this.stopping) break;
          const params = pattern.match(blob.name);
          const etag = blob.properties.etag.replace(/"/g, '');
          const key = `${etag}/${blob.name}`;
          if (!params || done.has(key)) continue;
          found = true;
          const ok = await this.fire(fn, container, blob.name, params);
          const attempt = (tries.get(key) ?? 0) + 1;
          if (ok || attempt >= MAX_TRIES) {
            if (!ok) await this.poison(fn, pattern.container, blob.name, etag);
            await receipts
              .getBlockBlobClient(`${receiptPrefix}${key}`)
              .upload('', 0, { metadata: { outcome: ok ? 'succeeded' : 'poisoned' } });
            done.add(key);
            tries.delete(key);
          } else {
            tries.set(key, attempt);
          }
        }
        // Scanning works again: the next failure is news.
        reported = undefined;
      } catch (err) {
        const text = `Blob trigger '${fn.name}' could not scan ${pattern.container}: ${scanFailure(err, pattern.container, pattern.prefix)}`;
        if (!this.stopping && (text !== reported?.text || Date.now() - reported.at >= REPORT_AGAIN_MS)) {
          this.log.error(text);
          reported = { text, at: Date.now() };
        }
      }
      await pause(backoff.next(found), signal);
    }
  }

  private async fire(
    fn: RegisteredFunction,
    container: ContainerClient,
    name: string,
    params: Record<string, string>,
  ): Promise<boolean> {
    const blob = container.getBlobClient(name);
    let content: Buffer;
    let properties: Awaited<ReturnType<typeof blob.getProperties>>;
    try {
      [content, properties] = await Promise.all([blob.downloadToBuffer(), blob.getProperties()]);
    } catch (err) {
      this.log.warn(
        `Blob trigger '${fn.name}': could not read ${container.containerName}/${name}: ${errorMessage(err)}`,
      );
      return false;
    }
    const outcome = await this.invoker.invoke(fn, content, {
      triggerMetadata: {
        ...params,
        blobTrigger: `${container.containerName}/${name}`,
        uri: blob.url,
        properties: {
          length: properties.contentLength,
          contentType: properties.contentType,
          eTag: properties.etag,
        },
        metadata: properties.metadata ?? {},
      },
      detail: `Blob=${container.containerName}/${name}`,
    });
    return outcome.ok;
  }

  private async poison(fn: RegisteredFunction, container: string, name: string, etag: string): Promise<void> {
    this.log.warn(
      `Blob ${container}/${name} failed ${MAX_TRIES} times in '${fn.name}': sent to queue '${POISON_QUEUE}'.`,
    );
    const queueConn = connectionFor(fn) || this.defaultConnection;
    const queue = QueueServiceClient.fromConnectionString(queueConn).getQueueClient(POISON_QUEUE);
    await queue.createIfNotExists();
    const body = JSON.stringify({
      Type: 'BlobTrigger',
      FunctionId: fn.name,
      BlobType: 'BlockBlob',
      ContainerName: container,
      BlobName: name,
      ETag: etag,
    });
    await queue.sendMessage(Buffer.from(body).toString('base64'));
  }
}
