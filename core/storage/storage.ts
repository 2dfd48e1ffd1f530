import type { TokenCredential } from '@azure/identity';
import {
  BlobServiceClient,
  RestError,
  StorageSharedKeyCredential,
  type BlobClient,
  type ContainerClient,
} from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { storageGet } from './rest.js';

/**
 * The one storage account parallel-run uses. Locally a connection string (Azurite); in Azure the
 * Functions host's identity-based settings (`AzureWebJobsStorage__blobServiceUri` + managed identity).
 */
export interface Storage {
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
}

/**
 * The app's identity, its library loaded on the first token asked for: importing @azure/identity
 * takes most of a second, and a process on a connection string (Azurite, or a worker process
 * reading a table's rows) never needs it.
 */
function identity(env: NodeJS.ProcessEnv): TokenCredential {
  const clientId = env.AzureWebJobsStorage__clientId;
  let credential: Promise<TokenCredential> | undefined;
  return {
    getToken: async (scopes, options) => {
      credential ??= import('@azure/identity').then(
        ({ DefaultAzureCredential, ManagedIdentityCredential }) =>
          clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential(),
      );
      return (await credential).getToken(scopes, options);
    },
  };
}

export function storageFromEnv(env: NodeJS.ProcessEnv = process.env): Storage {
  const conn = env.AzureWebJobsStorage?.trim();
  const blobUri = env.AzureWebJobsStorage__blobServiceUri;
  const queueUri = env.AzureWebJobsStorage__queueServiceUri;
  if (conn && (conn.includes('=') || !(blobUri && queueUri))) return fromConnectionString(conn);
  if (blobUri && queueUri) {
    const credential = identity(env);
    return {
      blobs: new BlobServiceClient(blobUri, credential),
      queues: new QueueServiceClient(queueUri, credential),
    };
  }
  throw new Error(
    'storage is not configured: set AzureWebJobsStorage (a connection string, locally) or AzureWebJobsStorage__blobServiceUri and __queueServiceUri (managed identity, in Azure)',
  );
}

/**
 * Clients for a connection string. One that cannot be parsed is said to be that, not "not
 * configured" (the setting is there), and is never echoed: it may hold an account key.
 */
function fromConnectionString(conn: string): Storage {
  try {
    return {
      blobs: BlobServiceClient.fromConnectionString(conn),
      queues: QueueServiceClient.fromConnectionString(conn),
    };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `storage setting AzureWebJobsStorage cannot be parsed as a connection string (${why}): use "DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=core.windows.net", "UseDevelopmentStorage=true" (Azurite), or AzureWebJobsStorage__blobServiceUri and __queueServiceUri (managed identity)`,
    );
  }
}

let cached: Storage | undefined;

/** The process-wide storage clients (they pool connections: create them once). */
export function storage(): Storage {
  cached ??= storageFromEnv();
  return cached;
}

export function sharedKeyOf(blobs: BlobServiceClient): StorageSharedKeyCredential | undefined {
  return blobs.credential instanceof StorageSharedKeyCredential ? blobs.credential : undefined;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.statusCode === 404;
}

export async function readJson<T>(container: ContainerClient, name: string): Promise<T | undefined> {
  try {
    const buf = await downloadBlob(container.getBlobClient(name));
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function writeText(
  container: ContainerClient,
  name: string,
  text: string | Buffer,
  contentType = 'text/plain; charset=utf-8',
): Promise<void> {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  await container
    .getBlockBlobClient(name)
    .upload(body, body.length, { blobHTTPHeaders: { blobContentType: contentType } });
}

export async function writeJson(container: ContainerClient, name: string, value: unknown): Promise<void> {
  await writeText(container, name, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}

/** Creates each container once per process. */
const ensured = new Set<string>();
export async function ensureContainer(container: ContainerClient): Promise<ContainerClient> {
  if (!ensured.has(container.url)) {
    await container.createIfNotExists();
    ensured.add(container.url);
  }
  return container;
}

/** Containers whose clients a Storage keeps at most (a host serves the runs of any number). */
const KEPT_CONTAINER_CLIENTS = 64;
const containerClients = new WeakMap<Storage, Map<string, ContainerClient>>();

/**
 * The client of container `name`, made once per Storage: the SDK builds a pipeline for each client
 * it makes (20–30 µs), and every try of a mini-batch reads its files through its input's container.
 */
export function containerOf(storage: Storage, name: string): ContainerClient {
  let kept = containerClients.get(storage);
  if (!kept) containerClients.set(storage, (kept = new Map<string, ContainerClient>()));
  let client = kept.get(name);
  if (!client) {
    if (kept.size >= KEPT_CONTAINER_CLIENTS) kept.clear();
    client = storage.blobs.getContainerClient(name);
    kept.set(name, client);
  }
  return client;
}

/** What a lean GET needs of a blob: its URL, and the credential of the client it belongs to (a BlobClient is one). */
export type BlobLocation = Pick<BlobClient, 'url' | 'credential'>;

/**
 * Blob `name` of `container`, at the URL the storage SDK's `getBlobClient(name)` would use, without
 * building that client (about 2 µs against 50, once per input file): as the SDK does, each segment
 * of the name escaped and set as the URL's path (which resolves "." and ".." segments), then the
 * whole path escaped once more its way (`'` and `+` encoded, `%` and `/` kept).
 */
export function blobAt(container: ContainerClient, name: string): BlobLocation {
  const url = new URL(container.url);
  const escaped = name.split('/').map(encodeURIComponent).join('/');
  url.pathname = url.pathname.endsWith('/') ? `${url.pathname}${escaped}` : `${url.pathname}/${escaped}`;
  url.pathname = encodeURIComponent(url.pathname)
    .replace(/%2F/g, '/')
    .replace(/'/g, '%27')
    .replace(/\+/g, '%20')
    .replace(/%25/g, '%');
  return { url: url.toString(), credential: container.credential };
}

/** One GET per blob (downloadToBuffer would first ask for the blob's properties: two requests). */
export async function downloadBlob(blob: BlobLocation): Promise<Buffer> {
  return (await downloadBlobWithMetadata(blob)).bytes;
}

/**
 * A blob's bytes and its metadata, in one request, without the SDK's per-call client and header
 * mapping (core/storage/rest.ts): the materializer makes one per input file. An answer whose body
 * breaks off (the connection reset midway) is asked for again, as the SDK's download stream does,
 * up to `BODY_RETRIES` times, so one reset does not make the input an error line.
 */
export async function downloadBlobWithMetadata(
  blob: BlobLocation,
): Promise<{ bytes: Buffer; metadata: Record<string, string> | undefined }> {
  for (let retry = 0; ; retry++) {
    const response = await storageGet({ client: blob, url: blob.url, stream: true });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of response.readableStreamBody ?? []) chunks.push(chunk as Buffer);
    } catch (err) {
      if (retry < BODY_RETRIES && BROKEN_BODY.has((err as NodeJS.ErrnoException).code ?? '')) continue;
      throw err;
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of response.headers) {
      const key = name.toLowerCase();
      if (key.startsWith(META)) metadata[key.slice(META.length)] = value;
    }
    return { bytes: Buffer.concat(chunks), metadata };
  }
}

const BODY_RETRIES = 3;
/** How node ends a body the connection dropped under: worth asking again. */
const BROKEN_BODY = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
const META = 'x-ms-meta-';
