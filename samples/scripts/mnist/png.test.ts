import { describe, expect, it } from 'vitest';
import { loadDigits } from '../../mnist/digits.js';
import { PIXELS } from './pixels.js';
import { decodeDigitPng, decodeInto, encodeDigitPng } from './png.js';
import { PNG } from 'pngjs';

describe('digit PNGs', () => {
  const digits = loadDigits().slice(0, 50);

  it('round-trips every pixel exactly through an 8-bit grayscale 28×28 PNG', () => {
    for (const { pixels } of digits) {
      const bytes = encodeDigitPng(pixels);
      expect(PNG.sync.read(bytes)).toMatchObject({ width: 28, height: 28, colorType: 0, depth: 8 });
      expect(bytes.length).toBeLessThan(1000);
      expect(decodeDigitPng(bytes)).toEqual(pixels);
    }
  });

  it('undoes each of the five PNG row filters', () => {
    const first = digits[1]?.pixels ?? new Float32Array(PIXELS);
    const png = new PNG({ width: 28, height: 28 });
    png.data = Buffer.from(Array.from(first, (v) => Math.round(v * 255)));
    for (const filterType of [0, 1, 2, 3, 4]) {
      const bytes = PNG.sync.write(png, {
        colorType: 0,
        inputColorType: 0,
        inputHasAlpha: false,
        filterType,
      });
      expect(decodeDigitPng(bytes), `filter ${filterType}`).toEqual(first);
    }
  });

  it('decodes into a row of a batch buffer without touching the other rows', () => {
    const batch = new Float32Array(3 * PIXELS).fill(-1);
    const first = digits[0]?.pixels ?? new Float32Array(PIXELS);
    decodeInto(encodeDigitPng(first), batch, PIXELS);
    expect(batch.subarray(PIXELS, 2 * PIXELS)).toEqual(first);
    expect(batch.subarray(0, PIXELS).every((v) => v === -1)).toBe(true);
    expect(batch.subarray(2 * PIXELS).every((v) => v === -1)).toBe(true);
    expect(() => decodeInto(encodeDigitPng(first), batch, 2 * PIXELS + 1)).toThrow(RangeError);
  });

  it('reads colour PNGs of the right size as luminance', () => {
    const png = new PNG({ width: 28, height: 28 });
    const first = digits[0]?.pixels ?? new Float32Array(PIXELS);
    first.forEach((v, p) => png.data.fill(Math.round(v * 255), p * 4, p * 4 + 3).writeUInt8(255, p * 4 + 3));
    expect(decodeDigitPng(PNG.sync.write(png))).toEqual(first);
  });

  it('rejects corrupt bytes and other sizes with a clear error', () => {
    const good = encodeDigitPng(digits[0]?.pixels ?? new Float32Array(PIXELS));
    const flipped = Buffer.from(good);
    flipped[good.length - 30] = (flipped[good.length - 30] ?? 0) ^ 0xff;
    const big = new PNG({ width: 32, height: 28 });
    for (const bad of [
      Buffer.from('definitely not an image'),
      Buffer.alloc(0),
      good.subarray(0, good.length / 2),
      flipped,
      PNG.sync.write(big),
    ]) {
      expect(() => decodeDigitPng(bad)).toThrow(/^not a 28×28 PNG: /);
    }
    expect(() => decodeDigitPng(PNG.sync.write(big))).toThrow('not a 28×28 PNG: it is 32×28');
  });
});
