import { PIXELS, SIDE } from '../scripts/mnist/pixels.js';
import { mulberry32, shuffle, type Digit } from './digits.js';
import type { MlpWeights } from './onnx.js';

export interface TrainOptions {
  hiddenSize: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  /** Largest random shift, in pixels, applied to each training image each epoch. */
  maxShift: number;
  seed: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  hiddenSize: 128,
  epochs: 30,
  batchSize: 32,
  learningRate: 0.05,
  momentum: 0.9,
  weightDecay: 1e-4,
  maxShift: 1,
  seed: 7,
};

const CLASSES = 10;

/** MNIST digits are mostly black: the nonzero pixels alone drive the first layer. */
interface SparseDigit {
  index: Int32Array;
  value: Float32Array;
  label: number;
}

function toSparse({ pixels, label }: Digit): SparseDigit {
  const index: number[] = [];
  const value: number[] = [];
  pixels.forEach((v, p) => {
    if (v !== 0) {
      index.push(p);
      value.push(v);
    }
  });
  return { index: Int32Array.from(index), value: Float32Array.from(value), label };
}

/** He-initialised weights from a seeded normal distribution (Box–Muller). */
function initialWeights(hiddenSize: number, random: () => number): MlpWeights {
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const layer = (fanIn: number, fanOut: number, gain: number): Float32Array =>
    Float32Array.from({ length: fanIn * fanOut }, () => normal() * Math.sqrt(gain / fanIn));
  return {
    inputSize: PIXELS,
    hiddenSize,
    outputSize: CLASSES,
    w1: layer(PIXELS, hiddenSize, 2),
    b1: new Float32Array(hiddenSize),
    w2: layer(hiddenSize, CLASSES, 1),
    b2: new Float32Array(CLASSES),
  };
}

/**
 * Minibatch SGD with momentum on softmax cross-entropy. Deterministic: the same digits and options
 * give bit-identical weights. `onEpoch` gets the mean training loss and accuracy of each epoch.
 */
export function trainMlp(
  digits: Digit[],
  options: TrainOptions = DEFAULT_TRAIN_OPTIONS,
  onEpoch?: (epoch: number, loss: number, accuracy: number) => void,
): MlpWeights {
  const { hiddenSize: H, batchSize, epochs, momentum, weightDecay, maxShift } = options;
  const random = mulberry32(options.seed);
  const weights = initialWeights(H, random);
  const { w1, b1, w2, b2 } = weights;
  const params = [w1, b1, w2, b2];
  const grads = params.map((p) => new Float32Array(p.length));
  const velocity = params.map((p) => new Float32Array(p.length));
  const decay = [weightDecay, 0, weightDecay, 0];
  const [gw1, gb1, gw2, gb2] = grads as [Float32Array, Float32Array, Float32Array, Float32Array];

  const samples = digits.map(toSparse);
  const order = samples.map((_, i) => i);
  const hidden = new Float64Array(H);
  const dHidden = new Float64Array(H);
  const probs = new Float64Array(CLASSES);
  const shiftedIndex = new Int32Array(PIXELS);
  const shiftedValue = new Float32Array(PIXELS);

  for (let epoch = 0; epoch < epochs; epoch++) {
    // Linear decay to zero lets the last epochs settle instead of bouncing around a minimum.
    const learningRate = (options.learningRate * (epochs - epoch)) / epochs;
    shuffle(order, random);
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      const end = Math.min(order.length, start + batchSize);
      for (const g of grads) g.fill(0);
      for (let s = start; s < end; s++) {
        const sample = samples[order[s] ?? 0] as SparseDigit;
        const dx = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
        const dy = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
        const count = shiftPixels(sample, dx, dy, shiftedIndex, shiftedValue);

        // Forward: hidden = relu(x · w1 + b1), logits = hidden · w2 + b2.
        for (let j = 0; j < H; j++) hidden[j] = b1[j] ?? 0;
        for (let n = 0; n < count; n++) {
          const row = (shiftedIndex[n] ?? 0) * H;
          const x = shiftedValue[n] ?? 0;
          for (let j = 0; j < H; j++) hidden[j] = (hidden[j] ?? 0) + x * (w1[row + j] ?? 0);
        }
        for (let j = 0; j < H; j++) if ((hidden[j] ?? 0) < 0) hidden[j] = 0;
        let maxLogit = -Infinity;
        let best = 0;
        for (let c = 0; c < CLASSES; c++) {
          let z = b2[c] ?? 0;
          for (let j = 0; j < H; j++) z += (hidden[j] ?? 0) * (w2[j * CLASSES + c] ?? 0);
          probs[c] = z;
          if (z > maxLogit) {
            maxLogit = z;
            best = c;
          }
        }
        let total = 0;
        for (let c = 0; c < CLASSES; c++) {
          const e = Math.exp((probs[c] ?? 0) - maxLogit);
          probs[c] = e;
          total += e;
        }
        if (best === sample.label) correct++;
        lossSum -= Math.log(Math.max(1e-12, (probs[sample.label] ?? 0) / total));

        // Backward: d(loss)/d(logits) = softmax − onehot.
        dHidden.fill(0);
        for (let c = 0; c < CLASSES; c++) {
          const d = (probs[c] ?? 0) / total - (c === sample.label ? 1 : 0);
          gb2[c] = (gb2[c] ?? 0) + d;
          for (let j = 0; j < H; j++) {
            gw2[j * CLASSES + c] = (gw2[j * CLASSES + c] ?? 0) + (hidden[j] ?? 0) * d;
            dHidden[j] = (dHidden[j] ?? 0) + (w2[j * CLASSES + c] ?? 0) * d;
          }
        }
        for (let j = 0; j < H; j++) {
          if ((hidden[j] ?? 0) <= 0) dHidden[j] = 0;
          gb1[j] = (gb1[j] ?? 0) + (dHidden[j] ?? 0);
        }
        for (let n = 0; n < count; n++) {
          const row = (shiftedIndex[n] ?? 0) * H;
          const x = shiftedValue[n] ?? 0;
          for (let j = 0; j < H; j++) gw1[row + j] = (gw1[row + j] ?? 0) + x * (dHidden[j] ?? 0);
        }
      }
      const scale = 1 / (end - start);
      params.forEach((p, k) => {
        const g = grads[k] as Float32Array;
        const v = velocity[k] as Float32Array;
        const lambda = decay[k] ?? 0;
        for (let i = 0; i < p.length; i++) {
          const w = p[i] ?? 0;
          v[i] = momentum * (v[i] ?? 0) - learningRate * ((g[i] ?? 0) * scale + lambda * w);
          p[i] = w + (v[i] ?? 0);
        }
      });
    }
    onEpoch?.(epoch + 1, lossSum / order.length, correct / order.length);
  }
  return weights;
}

/** Moves a digit by (dx, dy) pixels, dropping what falls off the edge; returns the pixel count. */
function shiftPixels(
  sample: SparseDigit,
  dx: number,
  dy: number,
  index: Int32Array,
  value: Float32Array,
): number {
  let count = 0;
  for (let n = 0; n < sample.index.length; n++) {
    const p = sample.index[n] ?? 0;
    const x = (p % SIDE) + dx;
    const y = Math.floor(p / SIDE) + dy;
    if (x < 0 || x >= SIDE || y < 0 || y >= SIDE) continue;
    index[count] = y * SIDE + x;
    value[count] = sample.value[n] ?? 0;
    count++;
  }
  return count;
}
