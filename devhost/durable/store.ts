import { randomUUID } from 'node:crypto';
import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import type { FailureDetails, HistoryEvent } from './history.js';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated';

export const terminalStatuses: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated'];

export function isTerminal(status: RuntimeStatus): boolean {
  return terminalStatuses.includes(status);
}

export interface InstanceRecord {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  executionId: string;
  parent?: { instanceId: string; taskId: number; executionId: string };
  failure?: FailureDetails;
}

/** A message for an instance that must survive a restart until its episode commits (raised events, terminate). */
export interface InstanceMessage {
  id: string;
  kind: 'event' | 'terminate';
  name?: string;
  /** JSON text of the event data, or the terminate reason. */
  data: string;
}

export interface InstanceFilter {
  runtimeStatus?: RuntimeStatus[];
  createdFrom?: Date;
  createdTo?: Date;
}

const enc = (id: string) => encodeURIComponent(id);

function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.statusCode === 404;
}

/**
 * Durable state in Azurite blobs: `instances/<id>.json` (status record, filterable by metadata),
 * `history/<id>/<executionId>.jsonl` (an append blob, one block per episode: a commit is atomic),
 * `messages/<id>/<seq>.json` (raised events and terminate requests not yet applied).
 */
export class DurableStore {
  private readonly createdHistories = new Set<string>();
  private messageSeq = 0;

  private constructor(private readonly container: ContainerClient) {}

  static async open(connectionString: string, hubName: string): Promise<DurableStore> {
    const service = BlobServiceClient.fromConnectionString(connectionString);
    const container = service.getContainerClient(`${hubName.toLowerCase()}-devhost`);
    await container.createIfNotExists();
    return new DurableStore(container);
  }

  async putInstance(record: InstanceRecord): Promise<void> {
    const body = JSON.stringify(record);
    await this.container
      .getBlockBlobClient(`instances/${enc(record.instanceId)}.json`)
      .upload(body, Buffer.byteLength(body), {
        metadata: { status: record.runtimeStatus, created: record.createdTime },
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
  }

  async getInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    try {
      const buf = await this.container
        .getBlockBlobClient(`instances/${enc(instanceId)}.json`)
        .downloadToBuffer();
      return JSON.parse(buf.toString('utf8')) as InstanceRecord;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Ids of instances matching the filter, read from listing metadata without opening each record. */
  async listInstanceIds(filter: InstanceFilter = {}): Promise<string[]> {
    const ids: string[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix: 'instances/', includeMetadata: true })) {
      const status = blob.metadata?.status as RuntimeStatus | undefined;
      const created = blob.metadata?.created ? new Date(blob.metadata.created) : undefined;
      if (filter.runtimeStatus && (!status || !filter.runtimeStatus.includes(status))) continue;
      if (filter.createdFrom && created && created < filter.createdFrom) continue;
      if (filter.createdTo && created && created > filter.createdTo) continue;
      ids.push(decodeURIComponent(blob.name.slice('instances/'.length, -'.json'.length)));
    }
    return ids;
  }

  async deleteInstance(instanceId: string): Promise<boolean> {
    const prefixes = [`history/${enc(instanceId)}/`, `messages/${enc(instanceId)}/`];
    for (const prefix of prefixes) {
      for await (const blob of this.container.listBlobsFlat({ prefix })) {
        await this.container.deleteBlob(blob.name, { deleteSnapshots: 'include' }).catch(ignoreNotFound);
      }
    }
    const res = await this.container.getBlobClient(`instances/${enc(instanceId)}.json`).deleteIfExists();
    return res.succeeded;
  }

  private historyName(instanceId: string, executionId: string): string {
    return `history/${enc(instanceId)}/${executionId}.jsonl`;
  }

  async appendHistory(instanceId: string, executionId: string, events: HistoryEvent[]): Promise<void> {
    const name = this.historyName(instanceId, executionId);
    const blob = this.container.getAppendBlobClient(name);
    if (!this.createdHistories.has(name)) {
      await blob.createIfNotExists();
      this.createdHistories.add(name);
    }
    const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const bytes = Buffer.from(text, 'utf8');
    // An append block holds at most 4 MiB; an episode larger than that is split (rare: payloads belong in blobs).
    const max = 4 * 1024 * 1024;
    for (let offset = 0; offset < bytes.length; offset += max) {
      const chunk = bytes.subarray(offset, offset + max);
      await blob.appendBlock(chunk, chunk.length);
    }
  }

  async readHistory(instanceId: string, executionId: string): Promise<HistoryEvent[]> {
    try {
      const buf = await this.container
        .getBlobClient(this.historyName(instanceId, executionId))
        .downloadToBuffer();
      return buf
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ ...(JSON.parse(line) as HistoryEvent), IsPlayed: true }));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async deleteHistory(instanceId: string, executionId: string): Promise<void> {
    const name = this.historyName(instanceId, executionId);
    this.createdHistories.delete(name);
    await this.container.getBlobClient(name).deleteIfExists();
  }

  async putMessage(instanceId: string, message: Omit<InstanceMessage, 'id'>): Promise<InstanceMessage> {
    // Names sort in arrival order, so a restart applies messages in the order they came.
    const id = `${Date.now().toString().padStart(15, '0')}-${String(this.messageSeq++).padStart(9, '0')}-${randomUUID()}`;
    const full: InstanceMessage = { id, ...message };
    const body = JSON.stringify(full);
    await this.container
      .getBlockBlobClient(`messages/${enc(instanceId)}/${id}.json`)
      .upload(body, Buffer.byteLength(body));
    return full;
  }

  async listMessages(instanceId: string): Promise<InstanceMessage[]> {
    const out: InstanceMessage[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix: `messages/${enc(instanceId)}/` })) {
      const buf = await this.container.getBlobClient(blob.name).downloadToBuffer();
      out.push(JSON.parse(buf.toString('utf8')) as InstanceMessage);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async deleteMessage(instanceId: string, messageId: string): Promise<void> {
    await this.container.getBlobClient(`messages/${enc(instanceId)}/${messageId}.json`).deleteIfExists();
  }
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}
