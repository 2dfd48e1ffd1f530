/**
 * Trains the sample MNIST model and writes it to samples/mnist/model/ in the source tree:
 *   npx tsc -p tsconfig.build.json && node dist/samples/mnist/train.js
 * Deterministic: the same code always writes byte-identical files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { classifyPixels, MODEL_FILE, SESSION_OPTIONS } from '../scripts/mnist/classify.js';
import { PIXELS } from '../scripts/mnist/pixels.js';
import { HELD_OUT, loadDigits, type Digit } from './digits.js';
import { DEFAULT_TRAIN_OPTIONS, trainMlp } from './mlp.js';
import { writeMlpOnnx } from './onnx.js';
import { sourceModelDir } from './paths.js';

const MODEL_DIR = sourceModelDir();

/** Below this the sample is not worth shipping; the tests hold the committed model to it too. */
const MIN_ACCURACY = 0.92;

/** Scores the serialized model itself, so what is measured is exactly what gets written. */
async function heldOutAccuracy(model: Buffer, test: Digit[]): Promise<number> {
  const session = await InferenceSession.create(model, SESSION_OPTIONS);
  try {
    const pixels = new Float32Array(test.length * PIXELS);
    test.forEach((digit, i) => pixels.set(digit.pixels, i * PIXELS));
    const predicted = await classifyPixels(session, pixels, test.length);
    return predicted.filter((digit, i) => digit === test[i]?.label).length / test.length;
  } finally {
    await session.release();
  }
}

/** JSON as Prettier lays it out (short arrays of scalars on one line), so a rerun leaves lint clean. */
function toPrettierJson(value: unknown): string {
  const json = JSON.stringify(value, null, 2).replace(
    /\[\n\s*((?:[^[\]{}\n]+,\n\s*)*[^[\]{}\n]+)\n\s*\]/g,
    (_, items: string) => `[${items.split(/,\n\s*/).join(', ')}]`,
  );
  return `${json}\n`;
}

const started = performance.now();
const digits = loadDigits();
const train = digits.slice(0, digits.length - HELD_OUT);
const test = digits.slice(digits.length - HELD_OUT);
const options = DEFAULT_TRAIN_OPTIONS;
console.log(`training a ${PIXELS}-${options.hiddenSize}-10 MLP on ${train.length} digits`);

const weights = trainMlp(train, options, (epoch, loss, accuracy) => {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `epoch ${epoch}/${options.epochs}: loss ${loss.toFixed(4)}, train accuracy ${accuracy.toFixed(4)} (${seconds} s)`,
  );
});
const model = writeMlpOnnx(weights);
const accuracy = await heldOutAccuracy(model, test);
console.log(`held-out accuracy (onnxruntime, ${test.length} digits): ${accuracy.toFixed(4)}`);
if (accuracy < MIN_ACCURACY) {
  throw new Error(`held-out accuracy ${accuracy} is below ${MIN_ACCURACY}; model not written`);
}

const metadata = {
  name: 'mnist',
  description: `Handwritten digit classifier: a ${PIXELS}-${options.hiddenSize}-10 MLP (Gemm, Relu, Gemm). Input "pixels" [N, 784] float32 grayscale 0..1 row-major; output "logits" [N, 10].`,
  tags: {
    framework: 'onnx',
    task: 'image-classification',
    dataset: 'mnist',
    input: 'pixels [N,784] float32',
    output: 'logits [N,10] float32',
    trainedOn: `first ${train.length} digits of samples/mnist/digits.ts`,
  },
  files: [MODEL_FILE],
  heldOutAccuracy: Number(accuracy.toFixed(4)),
};
mkdirSync(MODEL_DIR, { recursive: true });
writeFileSync(path.join(MODEL_DIR, MODEL_FILE), model);
writeFileSync(path.join(MODEL_DIR, 'model.json'), toPrettierJson(metadata));
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`wrote ${MODEL_FILE} (${model.length} bytes) and model.json to ${MODEL_DIR} in ${seconds} s`);
