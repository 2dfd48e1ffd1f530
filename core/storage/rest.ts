import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  decompressResponsePolicyName,
  defaultRetryPolicy,
  redirectPolicy,
  setClientRequestIdPolicy,
  RestError,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { StorageSharedKeyCredential, type BlobClient } from '@azure/storage-blob';
import { leanHttpClient, proxyConfigured } from './http-client.js';

type Credential = BlobClient['credential'];

/**
 * GETs to Blob Storage without the storage SDK's per-call machinery, for the two calls the product
 * makes by the thousand: listing a container and downloading a small blob. The SDK builds a client,
 * a tracing span and an operation per call, and maps each answer (headers, and a listing's XML)
 * through its generic deserializer; measured on a 10,000-image run, that was most of the host's
 * CPU beyond the bytes themselves. Requests go through a core-rest-pipeline pipeline of the policies
 * a GET needs (a client request id, retries, redirects), not the default one's tracing spans,
 * logging, user agent and form-data policies, over node's own keep-alive HTTP (http-client.ts; the
 * default pipeline and client where a proxy is set). They are authorized as the SDK client they are
 * made for: shared key (signed with the credential's own HMAC), identity (a bearer token) or a SAS
 * in the URL.
 */

/** The REST version the storage SDK speaks (Azurite runs with --skipApiVersionCheck). */
const API_VERSION = '2025-11-05';

const RETRIES = 4;
const pipelines = new WeakMap<object, Pipeline>();
/** Where a proxy is set: the default pipeline and client, whose proxy policy honours it (and NO_PROXY). */
const viaProxy = proxyConfigured(process.env);
const httpClient = viaProxy ? createDefaultHttpClient() : leanHttpClient();

/**
 * How long a GET's connection may stay silent (before the answer, or within its body) before it is
 * given up and asked again: without it, a service that accepts and never answers held a try for good.
 * Storage's own server timeout for a read is 30 s.
 */
export const SILENCE_TIMEOUT_MS = 60_000;

export interface StorageGet {
  /** The client the call is made for: its URL's account, and its credential. */
  client: { credential: Credential };
  url: string;
  /** The answer's body as a stream (a blob's bytes) instead of text (a listing). */
  stream?: boolean;
  /** SILENCE_TIMEOUT_MS unless given. */
  silenceTimeoutMs?: number;
}

/** One GET; a status other than 200 or 206 is thrown as the SDK throws it (a RestError with the service's code). */
export async function storageGet(get: StorageGet): Promise<PipelineResponse> {
  const request = createPipelineRequest({
    url: get.url,
    method: 'GET',
    headers: createHttpHeaders({ 'x-ms-version': API_VERSION }),
    // Azurite speaks http; the storage SDK allows it too (the bearer policy still refuses it).
    allowInsecureConnection: get.url.startsWith('http:'),
    ...(get.stream ? { streamResponseStatusCodes: new Set([200, 206]) } : {}),
    timeout: get.silenceTimeoutMs ?? SILENCE_TIMEOUT_MS,
  });
  const response = await pipelineFor(get.client.credential).sendRequest(httpClient, request);
  if (response.status === 200 || response.status === 206) return response;
  const body = response.bodyAsText ?? '';
  const code = response.headers.get('x-ms-error-code') ?? xmlText(body, 'Code');
  throw new RestError(
    `${xmlText(body, 'Message')?.split('\n')[0] ?? `status ${response.status}`}${code ? ` (${code})` : ''}`,
    { statusCode: response.status, ...(code ? { code } : {}), request, response },
  );
}

/** A URL with query parameters added, each encoded as the service expects (a space as %20). */
export function withQuery(base: string, query: Record<string, string | undefined>): string {
  const parts = Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  const url = new URL(base);
  const existing = url.search.length > 1 ? url.search.slice(1).split('&') : [];
  url.search = [...existing, ...parts].join('&');
  return url.toString();
}

function pipelineFor(credential: Credential): Pipeline {
  let pipeline = pipelines.get(credential);
  if (!pipeline) {
    pipeline = viaProxy ? proxiedPipeline() : leanPipeline();
    pipeline.addPolicy(authPolicy(credential), { phase: 'Sign' });
    pipelines.set(credential, pipeline);
  }
  return pipeline;
}

/** The policies a GET needs: a client request id (support's handle on a request), retries, redirects. */
function leanPipeline(): Pipeline {
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(setClientRequestIdPolicy());
  pipeline.addPolicy(defaultRetryPolicy({ maxRetries: RETRIES }), { phase: 'Retry' });
  pipeline.addPolicy(redirectPolicy(), { afterPhase: 'Retry' });
  return pipeline;
}

/** The default pipeline (its proxy policy), less its decompression: a blob's bytes as stored, as the SDK gives them. */
function proxiedPipeline(): Pipeline {
  const pipeline = createPipelineFromOptions({ retryOptions: { maxRetries: RETRIES } });
  pipeline.removePolicy({ name: decompressResponsePolicyName });
  return pipeline;
}

function authPolicy(credential: Credential): PipelinePolicy {
  if (credential instanceof StorageSharedKeyCredential) return sharedKeyPolicy(credential);
  if ('getToken' in credential) {
    return bearerTokenAuthenticationPolicy({ credential, scopes: 'https://storage.azure.com/.default' });
  }
  // Anonymous: a SAS in the URL, or a public container.
  return { name: 'parallelRunAnonymous', sendRequest: (request, next) => next(request) };
}

/**
 * Shared Key signing of a GET without a body (the only request sent here), with the credential's
 * own HMAC: the verb, eleven empty standard headers, the x-ms- headers and the canonical resource
 * (the encoded path, then each query parameter decoded), as the SDK's own policy signs.
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
  const params = new Map<string, string>();
  for (const pair of url.search.slice(1).split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    params.set(pair.slice(0, at).toLowerCase(), decodeURIComponent(pair.slice(at + 1)));
  }
  const resource =
    `/${account}${url.pathname || '/'}` +
    [...params.keys()]
      .sort()
      .map((key) => `\n${key}:${params.get(key) ?? ''}`)
      .join('');
  return `GET\n\n\n\n\n\n\n\n\n\n\n\n${msHeaders}${resource}`;
}

/** The text of the first `<tag>…</tag>` in `xml`, entities decoded; undefined when absent or empty. */
export function xmlText(xml: string, tag: string): string | undefined {
  const open = `<${tag}>`;
  const start = xml.indexOf(open);
  if (start < 0) return undefined;
  const end = xml.indexOf(`</${tag}>`, start);
  if (end < 0) return undefined;
  const text = xml.slice(start + open.length, end);
  return text === '' ? undefined : decodeXml(text);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}
