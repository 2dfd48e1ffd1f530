import type { MlpWeights } from '../mnist/onnx.js';
import { writeMlpOnnx } from '../mnist/onnx.js';
import { FEATURES, SPECIES, type IrisRow } from './data.js';

export const IRIS_MODEL_FILE = 'iris.onnx';
export const IRIS_NAMES = { graph: 'iris_softmax', input: 'features', output: 'logits' };

const EPOCHS = 500;
const LEARNING_RATE = 0.5;

const featuresOf = (row: IrisRow) => FEATURES.map((f) => row[f]);

/** Softmax regression on standardized features, by full-batch gradient descent (deterministic). */
function trainSoftmax(rows: IrisRow[]): { w: number[][]; b: number[]; mean: number[]; sd: number[] } {
  const x = rows.map(featuresOf);
  const mean = FEATURES.map((_, j) => x.reduce((s, r) => s + (r[j] ?? 0), 0) / x.length);
  const sd = FEATURES.map((_, j) =>
    Math.sqrt(x.reduce((s, r) => s + ((r[j] ?? 0) - (mean[j] ?? 0)) ** 2, 0) / x.length),
  );
  const z = x.map((r) => r.map((v, j) => (v - (mean[j] ?? 0)) / (sd[j] ?? 1)));
  const labels = rows.map((r) => SPECIES.indexOf(r.species));
  const w = FEATURES.map(() => SPECIES.map(() => 0));
  const b = SPECIES.map(() => 0);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const gw = FEATURES.map(() => SPECIES.map(() => 0));
    const gb = SPECIES.map(() => 0);
    z.forEach((features, n) => {
      const logits = SPECIES.map((_, k) => features.reduce((s, v, j) => s + v * (w[j]?.[k] ?? 0), b[k] ?? 0));
      const top = Math.max(...logits);
      const exp = logits.map((l) => Math.exp(l - top));
      const total = exp.reduce((s, e) => s + e, 0);
      exp.forEach((e, k) => {
        const error = e / total - (k === labels[n] ? 1 : 0);
        gb[k] = (gb[k] ?? 0) + error;
        features.forEach((v, j) => {
          const row = gw[j];
          if (row) row[k] = (row[k] ?? 0) + error * v;
        });
      });
    });
    for (let k = 0; k < SPECIES.length; k++) {
      b[k] = (b[k] ?? 0) - (LEARNING_RATE * (gb[k] ?? 0)) / z.length;
      for (let j = 0; j < FEATURES.length; j++) {
        const row = w[j];
        if (row) row[k] = (row[k] ?? 0) - (LEARNING_RATE * (gw[j]?.[k] ?? 0)) / z.length;
      }
    }
  }
  return { w, b, mean, sd };
}

/**
 * The trained classifier as the MNIST sample's ONNX graph (Gemm, Relu, Gemm): standardization is
 * folded into the weights, and a linear model passes the hidden layer as relu(x) and relu(-x),
 * whose difference is x again.
 */
export function trainIrisOnnx(rows: IrisRow[]): Buffer {
  const { w, b, mean, sd } = trainSoftmax(rows);
  const f = FEATURES.length;
  const k = SPECIES.length;
  const scaled = FEATURES.map((_, j) => SPECIES.map((_, c) => (w[j]?.[c] ?? 0) / (sd[j] ?? 1)));
  const bias = SPECIES.map(
    (_, c) => (b[c] ?? 0) - FEATURES.reduce((s, _, j) => s + (mean[j] ?? 0) * (scaled[j]?.[c] ?? 0), 0),
  );
  const w1 = new Float32Array(f * 2 * f);
  for (let j = 0; j < f; j++) {
    w1[j * 2 * f + j] = 1;
    w1[j * 2 * f + f + j] = -1;
  }
  const w2 = new Float32Array(2 * f * k);
  for (let j = 0; j < f; j++)
    for (let c = 0; c < k; c++) {
      w2[j * k + c] = scaled[j]?.[c] ?? 0;
      w2[(f + j) * k + c] = -(scaled[j]?.[c] ?? 0);
    }
  const weights: MlpWeights = {
    inputSize: f,
    hiddenSize: 2 * f,
    outputSize: k,
    w1,
    b1: new Float32Array(2 * f),
    w2,
    b2: Float32Array.from(bias),
  };
  return writeMlpOnnx(weights, IRIS_NAMES);
}
