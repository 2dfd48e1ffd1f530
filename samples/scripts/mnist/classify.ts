import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { PIXELS } from './pixels.js';
import { decodeInto } from './png.js';

/** The file a registered `mnist` model folder holds. */
export const MODEL_FILE = 'mnist.onnx';

/** One thread each: the runner already keeps every core busy with parallel workers. */
export const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

/** `executionProviders`: where the worker says to run (ctx.executionProviders: `['cuda', 'cpu']` on a GPU pool). */
export function createSession(
  modelDir: string,
  executionProviders: string[] = ['cpu'],
): Promise<InferenceSession> {
  return InferenceSession.create(path.join(modelDir, MODEL_FILE), { ...SESSION_OPTIONS, executionProviders });
}

/** The predicted digit of each of the first `count` rows of `pixels` ([count, 784]), in one run. */
export async function classifyPixels(
  session: InferenceSession,
  pixels: Float32Array,
  count: number,
): Promise<number[]> {
  if (count === 0) return [];
  const input = new Tensor('float32', pixels.subarray(0, count * PIXELS), [count, PIXELS]);
  const { logits } = await session.run({ pixels: input });
  if (logits?.type !== 'float32') throw new Error('model has no float32 "logits" output');
  const scores = logits.data as Float32Array;
  const classes = scores.length / count;
  const digits: number[] = [];
  for (let row = 0; row < count; row++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if ((scores[row * classes + c] ?? 0) > (scores[row * classes + best] ?? 0)) best = c;
    }
    digits.push(best);
  }
  return digits;
}

/** Images decoded one after another straight into the rows of one batch tensor. */
export class PixelBatch {
  private buffer: Float32Array;
  /** Rows `[0, count)` hold decoded images. */
  count = 0;

  constructor(capacity: number) {
    this.buffer = new Float32Array(capacity * PIXELS);
  }

  get pixels(): Float32Array {
    return this.buffer;
  }

  /** Empties the batch for `capacity` more images, keeping its buffer when that is big enough. */
  clear(capacity: number): this {
    if (this.buffer.length < capacity * PIXELS) this.buffer = new Float32Array(capacity * PIXELS);
    this.count = 0;
    return this;
  }

  /**
   * Decodes one PNG into the next row and returns that row; throws `not a 28×28 PNG: …` when it
   * cannot, and the next image then takes the row, so corrupt files leave no gap.
   */
  add(bytes: Buffer): number {
    decodeInto(bytes, this.pixels, this.count * PIXELS);
    return this.count++;
  }
}

/** The digit in each PNG, −1 for one that is not a 28×28 PNG; a single `session.run` for all. */
export async function scoreBatch(session: InferenceSession, buffers: Buffer[]): Promise<number[]> {
  const batch = new PixelBatch(buffers.length);
  const rows = buffers.map((bytes) => {
    try {
      return batch.add(bytes);
    } catch {
      return -1;
    }
  });
  const digits = await classifyPixels(session, batch.pixels, batch.count);
  return rows.map((row) => (row < 0 ? -1 : (digits[row] ?? -1)));
}
