import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PIXELS } from '../scripts/mnist/pixels.js';

/** The last `HELD_OUT` digits of `loadDigits()` are the test set; the rest train the model. */
export const HELD_OUT = 2000;

export interface Digit {
  /** 784 grayscale values 0..1, row-major, each exactly an 8-bit level (k/255). */
  pixels: Float32Array;
  label: number;
}

const SHUFFLE_SEED = 20_240_611;

/** mulberry32: a tiny seeded PRNG, so every machine sees the same order and the same weights. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Fisher–Yates in place with the given PRNG. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

let cached: readonly Digit[] | undefined;

/**
 * All 10,000 digits of the `mnist` package in one fixed order that interleaves the classes. Index i
 * is the image `<i>.png` everywhere (blob seeding, labels, training split).
 */
export function loadDigits(): Digit[] {
  cached ??= readAll();
  return [...cached];
}

function readAll(): Digit[] {
  const digitsDir = path.join(
    path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')),
    'src',
    'digits',
  );
  const all: Digit[] = [];
  for (let label = 0; label < 10; label++) {
    const file = path.join(digitsDir, `${label}.json`);
    const { data } = JSON.parse(readFileSync(file, 'utf8')) as { data: number[] };
    if (data.length % PIXELS !== 0)
      throw new Error(`${file}: ${data.length} values is not a multiple of ${PIXELS}`);
    for (let start = 0; start < data.length; start += PIXELS) {
      const pixels = new Float32Array(PIXELS);
      // The package stores k/255 rounded to 3 decimals; snapping back to k/255 makes a PNG round trip exact.
      for (let p = 0; p < PIXELS; p++) pixels[p] = Math.round((data[start + p] ?? 0) * 255) / 255;
      all.push({ pixels, label });
    }
  }
  return shuffle(all, mulberry32(SHUFFLE_SEED));
}
