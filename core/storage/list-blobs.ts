import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  RestError,
  type PipelinePolicy,
  type PipelineRequest,
} from '@azure/core-rest-pipeline';
import { StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';

/** A blob as a listing gives it: what the product reads of one, nothing more. */
export interface ListedBlob {
  name: string;
  etag: string;
  contentLength: number;
  metadata: Record<string, string>;
}

export interface ListOptions {
  prefix?: string;
  includeMetadata?: boolean;
  /** Blobs a request returns; the service's maximum (and default) is 5,000. */
  pageSize?: number;
}

/** The REST version the storage SDK speaks; Azurite runs with --skipApiVersionCheck. */
const API_VERSION = '2025-11-05';

/**
 * A container's blobs in listing order, a page per request, parsed lean. The SDK reads a listing
 * through fast-xml-parser and its generic deserializer: 0.27 ms of CPU per blob (measured: a
 * 10,000-blob listing 2.7 s of client CPU; fast-xml-parser alone 459 ms per 5,000-blob page),
 * which held the event loop and made a 10,000-image run spend 7 s of its host's CPU listing its
 * input. This reads the same response, authenticated as the container client is (shared key,
 * identity or SAS), keeping only name, ETag, length and metadata: 3.8 ms per 5,000-blob page.
 */
export async function* listBlobPages(
  container: ContainerClient,
  options: ListOptions = {},
): AsyncGenerator<ListedBlob[]> {
  const lister = listerFor(container);
  let marker: string | undefined;
  do {
    const xml = await lister.page(options, marker);
    yield blobsOf(xml);
    marker = elementText(xml, 'NextMarker');
  } while (marker);
}

/** The same blobs one by one. */
export async function* listBlobs(
  container: ContainerClient,
  options: ListOptions = {},
): AsyncGenerator<ListedBlob> {
  for await (const page of listBlobPages(container, options)) yield* page;
}

interface Lister {
  page(options: ListOptions, marker: string | undefined): Promise<string>;
}

const pipelines = new WeakMap<object, ReturnType<typeof createPipelineFromOptions>>();
const httpClient = createDefaultHttpClient();

function listerFor(container: ContainerClient): Lister {
  const credential = container.credential;
  let pipeline = pipelines.get(credential);
  if (!pipeline) {
    pipeline = createPipelineFromOptions({ retryOptions: { maxRetries: 4 } });
    pipeline.addPolicy(authPolicy(credential), { phase: 'Sign' });
    pipelines.set(credential, pipeline);
  }
  const ready = pipeline;
  return {
    page: async (options, marker) => {
      const url = new URL(container.url);
      const query = url.searchParams;
      query.set('restype', 'container');
      query.set('comp', 'list');
      if (options.prefix) query.set('prefix', options.prefix);
      if (marker) query.set('marker', marker);
      if (options.includeMetadata) query.set('include', 'metadata');
      query.set('maxresults', String(options.pageSize ?? 5000));
      const request = createPipelineRequest({
        url: url.toString(),
        method: 'GET',
        headers: createHttpHeaders({ 'x-ms-version': API_VERSION }),
        // Azurite speaks http; the storage SDK allows it too (the bearer policy still refuses it).
        allowInsecureConnection: url.protocol === 'http:',
      });
      const response = await ready.sendRequest(httpClient, request);
      const body = response.bodyAsText ?? '';
      if (response.status !== 200) {
        const code = elementText(body, 'Code');
        throw new RestError(
          `listing ${container.containerName} failed (${response.status}${code ? ` ${code}` : ''}): ${elementText(body, 'Message') ?? body.slice(0, 200)}`,
          { statusCode: response.status, ...(code ? { code } : {}), request, response },
        );
      }
      return body;
    },
  };
}

function authPolicy(credential: ContainerClient['credential']): PipelinePolicy {
  if (credential instanceof StorageSharedKeyCredential) return sharedKeyPolicy(credential);
  if ('getToken' in credential) {
    return bearerTokenAuthenticationPolicy({ credential, scopes: 'https://storage.azure.com/.default' });
  }
  // Anonymous: a SAS in the URL, or a public container.
  return { name: 'anonymous', sendRequest: (request, next) => next(request) };
}

/**
 * Shared Key signing of a GET without a body (the only request sent here), with the credential's
 * own HMAC: the string to sign is the verb, eleven empty standard headers, the x-ms- headers and
 * the canonical resource (learn.microsoft.com, "Authorize with Shared Key").
 */
function sharedKeyPolicy(credential: StorageSharedKeyCredential): PipelinePolicy {
  return {
    name: 'parallelRunSharedKey',
    sendRequest: (request, next) => {
      request.headers.set('x-ms-date', new Date().toUTCString());
      const signature = credential.computeHMACSHA256(stringToSign(request, credential.accountName));
      request.headers.set('authorization', `SharedKey ${credential.accountName}:${signature}`);
      return next(request);
    },
  };
}

function stringToSign(request: PipelineRequest, account: string): string {
  const msHeaders = [...request.headers]
    .map(([name, value]) => [name.toLowerCase(), value.trim()] as const)
    .filter(([name]) => name.startsWith('x-ms-'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value}\n`)
    .join('');
  const url = new URL(request.url);
  const params = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) {
    const key = name.toLowerCase();
    params.set(key, [...(params.get(key) ?? []), value]);
  }
  const resource =
    `/${account}${decodeURIComponent(url.pathname)}` +
    [...params.keys()]
      .sort()
      .map((key) => `\n${key}:${(params.get(key) ?? []).sort().join(',')}`)
      .join('');
  return `${request.method}\n\n\n\n\n\n\n\n\n\n\n\n${msHeaders}${resource}`;
}

/** The blobs of one listing page. */
function blobsOf(xml: string): ListedBlob[] {
  const blobs: ListedBlob[] = [];
  for (let at = xml.indexOf('<Blob>'); at >= 0; at = xml.indexOf('<Blob>', at)) {
    const end = xml.indexOf('</Blob>', at);
    if (end < 0) throw new Error('a blob listing ended inside a <Blob> element');
    const blob = xml.slice(at, end);
    blobs.push({
      name: nameOf(blob),
      etag: elementText(blob, 'Etag') ?? '',
      contentLength: Number(elementText(blob, 'Content-Length') ?? 0),
      metadata: metadataOf(blob),
    });
    at = end + '</Blob>'.length;
  }
  return blobs;
}

/** `<Name>` as text, or `<Name Encoded="true">` URL-encoded (names with characters XML cannot hold). */
function nameOf(blob: string): string {
  const match = /<Name( Encoded="true")?>([^<]*)<\/Name>/.exec(blob);
  if (!match) throw new Error('a blob listing has a <Blob> without a <Name>');
  const text = decodeXml(match[2] ?? '');
  return match[1] ? decodeURIComponent(text) : text;
}

function metadataOf(blob: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  const start = blob.indexOf('<Metadata>');
  if (start < 0) return metadata;
  const block = blob.slice(start + '<Metadata>'.length, blob.indexOf('</Metadata>', start));
  for (const [, key, value] of block.matchAll(/<([^\s>/]+)>([^<]*)<\/\1>/g)) {
    if (key !== undefined) metadata[key] = decodeXml(value ?? '');
  }
  return metadata;
}

/** The text of the first `<tag>…</tag>` in `xml`, decoded; undefined when absent or empty. */
function elementText(xml: string, tag: string): string | undefined {
  const open = `<${tag}>`;
  const start = xml.indexOf(open);
  if (start < 0) return undefined;
  const end = xml.indexOf(`</${tag}>`, start);
  if (end < 0) return undefined;
  const text = xml.slice(start + open.length, end);
  return text === '' ? undefined : decodeXml(text);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}
