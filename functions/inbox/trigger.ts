import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { receiveDrop, type Drop } from '../../core/inbox/drop.js';
import { inboxContainers } from '../../core/storage/layout.js';
import { storage } from '../../core/storage/storage.js';
import { wakeCollector } from './collector.js';

interface BlobTriggerMetadata {
  name?: unknown;
  blobTrigger?: unknown;
  properties?: { length?: unknown; eTag?: unknown };
  metadata?: unknown;
}

/** The created blob, as the trigger's metadata describes it (the content itself is not needed). */
function dropOf(context: InvocationContext, content: unknown): Drop {
  const meta = (context.triggerMetadata ?? {}) as BlobTriggerMetadata;
  const inbox = inboxContainers().inbox;
  const path = typeof meta.blobTrigger === 'string' ? meta.blobTrigger : '';
  const blobName =
    typeof meta.name === 'string'
      ? meta.name
      : path.startsWith(`${inbox}/`)
        ? path.slice(inbox.length + 1)
        : '';
  const length = meta.properties?.length;
  const size = typeof length === 'number' ? length : Buffer.isBuffer(content) ? content.length : 0;
  const etag = typeof meta.properties?.eTag === 'string' ? meta.properties.eTag : '';
  const metadata =
    typeof meta.metadata === 'object' && meta.metadata !== null
      ? (meta.metadata as Record<string, string>)
      : undefined;
  return { blobName, etag, size, ...(metadata ? { metadata } : {}) };
}

/**
 * A blob created under `inbox/<pipeline>/…` (Event Grid, as Flex Consumption requires; one event per
 * created blob, possibly duplicated or out of order). The file is recorded as pending and the
 * pipeline's collector told, both before this returns: an event is acknowledged only once its file
 * is durably with the collector, and a failure here has the event delivered again.
 */
async function inboxBlobCreated(content: unknown, context: InvocationContext): Promise<void> {
  const drop = dropOf(context, content);
  if (drop.blobName === '' || drop.etag === '') throw new Error('the trigger gave no blob name or ETag');
  const outcome = await receiveDrop(storage(), inboxContainers(), drop);
  const where = `${inboxContainers().inbox}/${drop.blobName}`;
  switch (outcome.kind) {
    case 'ignored':
      context.log(`inbox: ${where} ignored: ${outcome.why}`);
      return;
    case 'rejected':
      context.warn(`inbox: ${where} rejected (moved to ${inboxContainers().rejected}/): ${outcome.reason}`);
      return;
    case 'duplicate':
      context.log(`inbox: ${where} was taken by a batch already: duplicate event ignored`);
      return;
    case 'pending':
      await wakeCollector(df.getClient(context), context, outcome.pipeline);
      return;
  }
}

app.storageBlob('inboxBlobCreated', {
  path: `${inboxContainers().inbox}/{name}`,
  connection: 'AzureWebJobsStorage',
  source: 'EventGrid',
  extraInputs: [df.input.durableClient()],
  handler: inboxBlobCreated,
});
