import {
  BlobSASPermissions,
  RestError,
  generateBlobSASQueryParameters,
  type BlobClient,
  type BlobServiceClient,
  type BlockBlobClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { InFlight } from '../storage/in-flight.js';
import { downloadBlob, sharedKeyOf } from '../storage/storage.js';

/** Azure allows 50,000 committed blocks per blob. */
const MAX_BLOCKS = 50_000;
/** When bytes pass through the function (Azurite), parts are packed into blocks of about this size. */
const PACK_BYTES = 8 * 1024 * 1024;
/** Parts downloaded ahead when they stream through the function. */
const PREFETCH = 16;
/** Blocks kept free for packed blocks once the per-part blocks run out. */
const RESERVED_BLOCKS = 1_000;
/**
 * Server-side copies (Put Block From URL) under way at once: each is a round trip of tens of ms, and
 * a run's 10,000 parts one after another would keep finalize busy for minutes. Block ids fix the
 * order, whichever copy ends first.
 */
const COPIES_IN_FLIGHT = 16;

const blockId = (n: number) => Buffer.from(String(n).padStart(10, '0')).toString('base64');

export interface ComposeResult {
  bytes: number;
  parts: number;
  serverSide: boolean;
}

/**
 * Read URLs another blob operation can fetch: a SAS from the account key, or from a user delegation
 * key (managed identity), asked for once per composition rather than once per part.
 */
export function urlSigner(blobs: BlobServiceClient): (source: BlobClient) => Promise<string> {
  const startsOn = new Date(Date.now() - 5 * 60_000);
  const expiresOn = new Date(Date.now() + 60 * 60_000);
  const key = sharedKeyOf(blobs);
  let delegation: Promise<UserDelegationKey> | undefined;
  return async (source) => {
    const common = {
      containerName: source.containerName,
      blobName: source.name,
      permissions: BlobSASPermissions.parse('r'),
      startsOn,
      expiresOn,
    };
    const sas = key
      ? generateBlobSASQueryParameters(common, key)
      : generateBlobSASQueryParameters(
          common,
          await (delegation ??= blobs.getUserDelegationKey(startsOn, expiresOn)),
          blobs.accountName,
        );
    return `${source.url}?${sas.toString()}`;
  };
}

function notImplemented(err: unknown): boolean {
  return err instanceof RestError && (err.statusCode === 501 || /not implemented/i.test(err.message));
}

/**
 * Concatenates `sources` (in the order given) into `target`. In Azure the bytes never pass through
 * the function: each source becomes a block by Put Block From URL, COPIES_IN_FLIGHT at a time, and
 * the block list commits them in order once all are staged. Azurite lacks that call, so there
 * the parts stream through in large blocks instead. Empty sources are skipped.
 */
export async function composeBlobs(
  blobs: BlobServiceClient,
  sources: AsyncIterable<{ blob: BlobClient; size: number }>,
  target: BlockBlobClient,
): Promise<ComposeResult> {
  const committed: string[] = [];
  const copies = new InFlight(COPIES_IN_FLIGHT);
  const readableUrl = urlSigner(blobs);
  let serverSide: boolean | undefined;
  let bytes = 0;
  let parts = 0;
  let pack: Buffer[] = [];
  let packSize = 0;
  const prefetched: Promise<Buffer>[] = [];
  const takeOne = async () => {
    const bytes = await (prefetched.shift() ?? Promise.resolve(Buffer.alloc(0)));
    pack.push(bytes);
    packSize += bytes.length;
    if (packSize >= PACK_BYTES) await flushPack();
  };
  const flushPack = async () => {
    if (packSize === 0) return;
    const id = blockId(committed.length);
    await target.stageBlock(id, Buffer.concat(pack), packSize);
    committed.push(id);
    pack = [];
    packSize = 0;
  };
  /**
   * Stages `source` as a block server-side where the service can; false when it streams through:
   * Azurite (the first copy, made alone, answers 501), or near the block limit (slower, still one blob).
   */
  const copied = async (source: BlobClient): Promise<boolean> => {
    if (serverSide === false || committed.length >= MAX_BLOCKS - RESERVED_BLOCKS) return false;
    const id = blockId(committed.length);
    const url = await readableUrl(source);
    if (serverSide) {
      await copies.add(() => target.stageBlockFromURL(id, url));
    } else {
      try {
        await target.stageBlockFromURL(id, url);
        serverSide = true;
      } catch (err) {
        if (!notImplemented(err)) throw err;
        serverSide = false;
        return false;
      }
    }
    committed.push(id);
    return true;
  };
  try {
    for await (const source of sources) {
      if (source.size === 0) continue;
      parts++;
      bytes += source.size;
      if (await copied(source.blob)) continue;
      // Parts are small: fetch several ahead, in order, so the round trips overlap.
      const download = downloadBlob(source.blob);
      download.catch(() => undefined); // awaited in order below; this only keeps an early failure from being "unhandled"
      prefetched.push(download);
      if (prefetched.length >= PREFETCH) await takeOne();
    }
    while (prefetched.length > 0) await takeOne();
    await flushPack();
    await copies.drain();
  } catch (err) {
    // The copies still under way end first: a retry stages the same block ids again.
    await copies.drain().catch(() => undefined);
    throw err;
  }
  await target.commitBlockList(committed, {
    blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' },
  });
  return { bytes, parts, serverSide: serverSide === true };
}
