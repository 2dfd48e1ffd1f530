import { loadDigits } from './digits.js';
import { encodeDigitPng } from '../scripts/mnist/png.js';

export interface SampleImage {
  /** `<i>.png`, i being the digit's index in `loadDigits()`. */
  name: string;
  bytes: Buffer;
  label: number;
}

/** All 10,000 digits as PNGs, in `loadDigits()` order: what seeds `sampledata/mnist/<i>.png`. */
export function* sampleImages(): Generator<SampleImage, void, undefined> {
  const digits = loadDigits();
  for (const [i, { pixels, label }] of digits.entries()) {
    yield { name: `${i}.png`, bytes: encodeDigitPng(pixels), label };
  }
}

/** The true digit of each sample image by file name, for accuracy checks on a run's output. */
export function labelsByName(): Map<string, number> {
  return new Map(loadDigits().map(({ label }, i) => [`${i}.png`, label]));
}
