import { RestError, type ContainerClient } from '@azure/storage-blob';
import { ensureContainer, type Storage } from '../storage/storage.js';

const quoted = (etag: string) => `"${etag.replace(/"/g, '')}"`;

/** 404: gone; 412: another version is there now. Either way that version is no longer ours to move. */
function isGoneOrChanged(err: unknown): boolean {
  return err instanceof RestError && (err.statusCode === 404 || err.statusCode === 412);
}

/**
 * Moves one version (`etag`) of a blob: a server-side copy, then a delete of that version only.
 * False when that version is no longer there (moved by an earlier try, or overwritten by a new drop,
 * which is then left where it is: it is a file of its own). Run twice, it moves once.
 */
export async function moveVersion(
  from: ContainerClient,
  name: string,
  etag: string,
  to: ContainerClient,
  target: string,
): Promise<boolean> {
  const source = from.getBlobClient(name);
  try {
    const copy = await to
      .getBlobClient(target)
      .beginCopyFromURL(source.url, { sourceConditions: { ifMatch: quoted(etag) } });
    await copy.pollUntilDone();
    await source.delete({ conditions: { ifMatch: quoted(etag) } });
    return true;
  } catch (err) {
    if (isGoneOrChanged(err)) return false;
    throw err;
  }
}

export async function containerOf(storage: Storage, name: string): Promise<ContainerClient> {
  return ensureContainer(storage.blobs.getContainerClient(name));
}
