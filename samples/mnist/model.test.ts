import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, MODEL_FILE, scoreBatch } from '../scripts/mnist/classify.js';
import { HELD_OUT, loadDigits } from './digits.js';
import { labelsByName, sampleImages, type SampleImage } from './images.js';
import { writeMlpOnnx } from './onnx.js';
import { sourceModelDir } from './paths.js';

const MODEL_DIR = sourceModelDir();

describe('writeMlpOnnx', () => {
  it('writes a model onnxruntime runs with the same arithmetic as the weights describe', async () => {
    // 3 inputs → 2 hidden → 2 outputs, small enough to check by hand.
    const weights = {
      inputSize: 3,
      hiddenSize: 2,
      outputSize: 2,
      w1: Float32Array.from([1, -1, 2, 0, -1, 3]),
      b1: Float32Array.from([0.5, -0.5]),
      w2: Float32Array.from([1, 2, -1, 1]),
      b2: Float32Array.from([0, 10]),
    };
    const session = await InferenceSession.create(writeMlpOnnx(weights));
    try {
      expect(session.inputNames).toEqual(['pixels']);
      expect(session.outputNames).toEqual(['logits']);
      const pixels = new Tensor('float32', Float32Array.from([1, 1, 1, 0, 0, 0]), [2, 3]);
      const { logits } = await session.run({ pixels });
      // Row 1: hidden = relu([1+2-1+0.5, -1+0+3-0.5]) = [2.5, 1.5]; logits = [2.5-1.5, 5+1.5+10].
      // Row 2: hidden = relu([0.5, -0.5]) = [0.5, 0]; logits = [0.5, 1+10].
      expect(logits?.dims).toEqual([2, 2]);
      expect(Array.from(logits?.data as Float32Array)).toEqual([1, 16.5, 0.5, 11]);
    } finally {
      await session.release();
    }
  });
});

describe('the committed mnist model', () => {
  let session: InferenceSession;
  beforeAll(async () => {
    session = await createSession(MODEL_DIR);
  });
  afterAll(() => session.release());

  it('is small and described by model.json', () => {
    const metadata = JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({ name: 'mnist', files: [MODEL_FILE] });
    expect(metadata.heldOutAccuracy).toBeGreaterThanOrEqual(0.92);
    expect(readFileSync(path.join(MODEL_DIR, MODEL_FILE)).length).toBeLessThan(1_000_000);
  });

  it('scores at least 0.92 on the 2,000 held-out digits, read back from PNG bytes', async () => {
    const images = [...sampleImages()].slice(-HELD_OUT);
    expect(images).toHaveLength(HELD_OUT);
    const labels = labelsByName();
    const predicted = await scoreBatch(
      session,
      images.map((image) => image.bytes),
    );
    const correct = predicted.filter((digit, i) => digit === labels.get(images[i]?.name ?? '')).length;
    expect(correct / HELD_OUT).toBeGreaterThanOrEqual(0.92);
  });

  it('gives −1 for corrupt images and still scores the rest of the batch', async () => {
    const [a, b] = loadDigits();
    const images: SampleImage[] = [];
    for (const image of sampleImages()) {
      if (images.push(image) === 2) break;
    }
    const predicted = await scoreBatch(session, [
      images[0]?.bytes ?? Buffer.alloc(0),
      Buffer.from('corrupt'),
      images[1]?.bytes ?? Buffer.alloc(0),
    ]);
    expect(predicted).toEqual([a?.label, -1, b?.label]);
  });
});
