import { randomBytes } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { expect, vi } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import type { BatchRecord } from '../../core/inbox/records.js';
import type { RunRecord } from '../../core/runs/record.js';
import type { RunView } from '../../functions/api/runs.js';
import { call, uniqueNames } from './devhost.js';
import { startApp } from './pipeline.js';

/** An inbox of its own (PARALLEL_RUN_INBOX), so devhosts sharing one Azurite never take each other's drops. */
export function inboxNames() {
  const inbox = `inbox-${randomBytes(4).toString('hex')}`;
  return { inbox, done: `${inbox}-done`, rejected: `${inbox}-rejected`, state: `${inbox}-state` };
}

export type InboxNames = ReturnType<typeof inboxNames>;

export function startInboxApp(
  storage: string,
  names: InboxNames,
  hub = uniqueNames().hub,
): Promise<DevHostProcess> {
  return startApp(storage, { hub, env: { PARALLEL_RUN_INBOX: names.inbox } });
}

export function containerOf(storage: string, name: string): ContainerClient {
  return BlobServiceClient.fromConnectionString(storage).getContainerClient(name);
}

/** Uploads small text files (their content is their name) under `<inbox>/<pipeline>/`. */
export async function drop(
  storage: string,
  names: InboxNames,
  pipeline: string,
  files: string[],
): Promise<void> {
  const inbox = containerOf(storage, names.inbox);
  await inbox.createIfNotExists();
  await Promise.all(
    files.map((f) => inbox.getBlockBlobClient(`${pipeline}/${f}`).upload(f, Buffer.byteLength(f))),
  );
}

export async function listNames(container: ContainerClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  if (!(await container.exists())) return out;
  for await (const b of container.listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}

export type PipelineRun = RunView & { source: Extract<RunRecord['source'], { kind: 'inbox' }> };

export interface InboxReply {
  waiting: number;
  nextRunAt: string | null;
  batches: BatchRecord[];
  collector: { runtimeStatus: string; phase?: string } | null;
}

export async function pipelineRuns(host: DevHostProcess, pipeline: string): Promise<PipelineRun[]> {
  const reply = await call(host.baseUrl, 'GET', `/api/pipelines/${pipeline}/runs`);
  expect(reply.status).toBe(200);
  return (reply.body as { runs: PipelineRun[] }).runs;
}

export async function inboxState(host: DevHostProcess, pipeline: string): Promise<InboxReply> {
  const reply = await call(host.baseUrl, 'GET', `/api/pipelines/${pipeline}/inbox`);
  expect(reply.status).toBe(200);
  return reply.body as InboxReply;
}

/** Waits (polling, with a deadline) until `count` batches with runs are settled: run ended, files moved or left. */
export async function settledBatches(
  host: DevHostProcess,
  pipeline: string,
  count: number,
  timeout = 90_000,
): Promise<BatchRecord[]> {
  let batches: BatchRecord[] = [];
  await vi.waitFor(
    async () => {
      batches = (await inboxState(host, pipeline)).batches.filter((b) => b.runId !== undefined);
      expect(batches.filter((b) => b.settled).length).toBeGreaterThanOrEqual(count);
    },
    { timeout, interval: 250 },
  );
  return batches.sort((a, b) => a.batch - b.batch);
}

/** Waits until settled batches together took `files` files and none is waiting; returns those batches. */
export async function settledFiles(
  host: DevHostProcess,
  pipeline: string,
  files: number,
): Promise<BatchRecord[]> {
  let batches: BatchRecord[] = [];
  await vi.waitFor(
    async () => {
      const state = await inboxState(host, pipeline);
      batches = state.batches.filter((b) => b.settled);
      expect(batches.reduce((n, b) => n + b.files, 0)).toBe(files);
      expect(state.waiting).toBe(0);
    },
    { timeout: 90_000, interval: 250 },
  );
  return batches;
}

/** The output lines of a finished run. */
export async function outputOf(host: DevHostProcess, runId: string): Promise<string[]> {
  const reply = await call(host.baseUrl, 'GET', `/api/runs/${runId}/output`);
  expect(reply.status, reply.text).toBe(200);
  return reply.text.split('\n').filter((l) => l !== '');
}
