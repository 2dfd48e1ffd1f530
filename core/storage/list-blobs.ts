import type { ContainerClient } from '@azure/storage-blob';
import { startedAhead } from './in-flight.js';
import { decodeXml, storageGet, withQuery, xmlText } from './rest.js';

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
  /**
   * Ask for the next page as soon as a page arrives, before the caller works through it: the service
   * prepares page n+1 while a plan is cut from page n (one page ahead at most). Only for callers that
   * read the whole listing: one that stops after a page would have paid for a page it never reads.
   */
  readAhead?: boolean;
}

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
  let next: Promise<string> | undefined = listingPage(container, options, undefined);
  while (next) {
    const xml = await next;
    const marker = xmlText(xml, 'NextMarker');
    const ask = () => (marker === undefined ? undefined : listingPage(container, options, marker));
    next = options.readAhead ? ask() : undefined;
    if (next) next = startedAhead(next);
    yield blobsOf(xml);
    // Otherwise asked for only once the caller comes back for it.
    next ??= ask();
  }
}

/** One page's XML, from `marker` on. */
async function listingPage(
  container: ContainerClient,
  options: ListOptions,
  marker: string | undefined,
): Promise<string> {
  const url = withQuery(container.url, {
    restype: 'container',
    comp: 'list',
    prefix: options.prefix || undefined,
    marker,
    include: options.includeMetadata ? 'metadata' : undefined,
    maxresults: String(options.pageSize ?? 5000),
  });
  return (await storageGet({ client: container, url })).bodyAsText ?? '';
}

/** The same blobs one by one. */
export async function* listBlobs(
  container: ContainerClient,
  options: ListOptions = {},
): AsyncGenerator<ListedBlob> {
  for await (const page of listBlobPages(container, options)) yield* page;
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
      etag: xmlText(blob, 'Etag') ?? '',
      contentLength: Number(xmlText(blob, 'Content-Length') ?? 0),
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
