/**
 * Entry script for MNIST digit identification: each mini-batch item is a local path to a 28×28
 * PNG; each good one yields the row `<file name>: <digit>`, corrupt ones are reported through
 * `ctx.fail` and skipped.
 */
import { readFileSync } from 'node:fs';
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
  const readable: { file: string; bytes: Buffer }[] = [];
  for (const file of miniBatch) {
    try {
      // Synchronous on purpose: this is a worker thread, and small reads cost a third as much this way.
      readable.push({ file, bytes: readFileSync(file) });
    } catch (error) {
      ctx.fail(file, `cannot read: ${messageOf(error)}`);
    }
  }

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
