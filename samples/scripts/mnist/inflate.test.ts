import { constants, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadDigits } from '../../mnist/digits.js';
import { encodeDigitPng } from './png.js';
import { inflateZlibInto } from './inflate.js';

/** A deterministic generator, so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** Bytes with repeats near and far, over a small or a full alphabet: every block type and code shape. */
function sample(next: () => number, length: number): Buffer {
  const data = Buffer.alloc(length);
  const alphabet = 1 + Math.floor(next() * 255);
  for (let i = 0; i < length; i++) {
    const back = 1 + Math.floor(next() * (next() < 0.5 ? 4 : 300));
    data[i] = i >= back && next() < 0.4 ? (data[i - back] ?? 0) : Math.floor(next() * alphabet);
  }
  return data;
}

const STRATEGIES = [
  constants.Z_DEFAULT_STRATEGY,
  constants.Z_FILTERED,
  constants.Z_HUFFMAN_ONLY,
  constants.Z_RLE,
  constants.Z_FIXED,
];

function inflated(compressed: Uint8Array, room: number): Buffer {
  const out = new Uint8Array(room);
  const written = inflateZlibInto(compressed, out);
  return Buffer.from(out.buffer, 0, written);
}

describe('inflateZlibInto', () => {
  it('gives back exactly what node:zlib compressed, at every level and strategy', () => {
    const next = random(7);
    for (let t = 0; t < 400; t++) {
      const data = sample(next, Math.floor(next() * 20_000));
      const compressed = deflateSync(data, { level: t % 10, strategy: STRATEGIES[t % STRATEGIES.length] });
      expect(inflated(compressed, data.length).equals(data), `case ${t}`).toBe(true);
    }
  });

  it('reads stored, fixed and dynamic blocks, and empty input', () => {
    const text = Buffer.from('stored blocks carry bytes as they are; '.repeat(50));
    for (const [data, options] of [
      [text, { level: 0 }],
      [text, { strategy: constants.Z_FIXED }],
      [text, {}],
      [Buffer.alloc(0), {}],
      [Buffer.alloc(100_000, 7), {}],
    ] as const) {
      expect(inflated(deflateSync(data, options), data.length).equals(data)).toBe(true);
    }
  });

  it('inflates the image data of the sample digits as node:zlib does', () => {
    for (const { pixels } of loadDigits().slice(0, 200)) {
      const png = encodeDigitPng(pixels);
      const idat = png.subarray(41, 41 + png.readUInt32BE(33));
      expect(inflated(idat, 812).equals(inflateSync(idat))).toBe(true);
    }
  });

  it('throws, never hangs or overruns, on truncated, corrupt or oversized data', () => {
    const next = random(11);
    const data = sample(next, 5000);
    const compressed = deflateSync(data);
    for (let cut = 0; cut < compressed.length; cut += 7) {
      expect(() => inflated(compressed.subarray(0, cut), data.length), `cut at ${cut}`).toThrow();
    }
    let rejected = 0;
    for (let t = 0; t < 300; t++) {
      const corrupt = Buffer.from(compressed);
      const at = Math.floor(next() * corrupt.length);
      corrupt[at] = (corrupt[at] ?? 0) ^ (1 << Math.floor(next() * 8));
      try {
        inflated(corrupt, data.length);
      } catch {
        rejected++;
      }
    }
    // The Adler-32 trailer catches a flip the Huffman decoding does not.
    expect(rejected).toBe(300);
    expect(() => inflated(compressed, data.length - 1)).toThrow(
      `inflated data longer than ${data.length - 1} bytes`,
    );
    expect(() => inflated(Buffer.from([0x78, 0x9c, 1, 2, 3, 4, 5]), 10)).toThrow();
    expect(() => inflated(Buffer.from('not zlib at all'), 10)).toThrow('not a deflate zlib stream');
  });

  it('checks the Adler-32 trailer unless told the bytes were verified already', () => {
    const data = Buffer.from('a PNG chunk CRC already covers these bytes');
    const compressed = deflateSync(data);
    compressed[compressed.length - 1] = (compressed[compressed.length - 1] ?? 0) ^ 1;
    expect(() => inflated(compressed, data.length)).toThrow('zlib checksum mismatch');
    const out = new Uint8Array(data.length);
    expect(inflateZlibInto(compressed, out, { verifyChecksum: false })).toBe(data.length);
    expect(Buffer.from(out).equals(data)).toBe(true);
  });
});
