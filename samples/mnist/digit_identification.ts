/**
 * Entry script for MNIST digit identification: each mini-batch item is a local path to a 28×28
 * PNG; each good one yields the row `<file name>: <digit>`, corrupt ones are reported through
 * `ctx.fail` and skipped.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type { InitContext, RunContext } from '../../core/runner/contract.js';
import { classifyPixels, createSession, decodeBatch } from './classify.js';

export { createSession, scoreBatch } from './classify.js';

let session: InferenceSession | undefined;

export async function init(ctx: InitContext): Promise<void> {
  const modelDir = await ctx.getModel('mnist');
  session = await createSession(modelDir);
  ctx.logger.info(`mnist model loaded from ${modelDir}`);
}

export async function run(miniBatch: string[], ctx: RunContext): Promise<string[]> {
  if (!session) throw new Error('run() before init(): no model session');
  const reads = await Promise.allSettled(miniBatch.map((file) => readFile(file)));
  const readable: { file: string; bytes: Buffer }[] = [];
  reads.forEach((read, i) => {
    const file = miniBatch[i] ?? '';
    if (read.status === 'fulfilled') readable.push({ file, bytes: read.value });
    else ctx.fail(file, `cannot read: ${messageOf(read.reason)}`);
  });

  const batch = decodeBatch(readable.map((r) => r.bytes));
  const digits = await classifyPixels(session, batch.pixels, batch.count);
  const rows: string[] = [];
  readable.forEach(({ file }, i) => {
    const row = batch.rows[i] ?? -1;
    if (row < 0) ctx.fail(file, batch.errors[i] ?? 'not a 28×28 PNG');
    else rows.push(`${path.basename(file)}: ${digits[row] ?? -1}`);
  });
  return rows;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function shutdown(): Promise<void> {
  const current = session;
  session = undefined;
  await current?.release();
}
