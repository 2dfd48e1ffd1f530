import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { PIXELS, SIDE } from './digits.js';

/** 8-bit level → float, so decoding does no division per pixel. */
const LEVELS = Float32Array.from({ length: 256 }, (_, k) => k / 255);

const GRAYSCALE = 0;
const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
const IHDR = 0x49484452;
const IDAT = 0x49444154;
const IEND = 0x49454e44;
/** Filtered image data: a filter byte, then the row's pixels, for every row. */
const STRIDE = SIDE + 1;
const RAW_LENGTH = SIDE * STRIDE;

/** A 28×28 8-bit grayscale PNG (about 300 bytes for an MNIST digit). */
export function encodeDigitPng(pixels: Float32Array): Buffer {
  if (pixels.length !== PIXELS) throw new Error(`expected ${PIXELS} pixels, got ${pixels.length}`);
  const gray = Buffer.allocUnsafe(PIXELS);
  for (let p = 0; p < PIXELS; p++) gray[p] = Math.round(Math.min(1, Math.max(0, pixels[p] ?? 0)) * 255);
  const png = new PNG();
  png.width = SIDE;
  png.height = SIDE;
  png.data = gray;
  return PNG.sync.write(png, { colorType: GRAYSCALE, inputColorType: GRAYSCALE, inputHasAlpha: false });
}

/** 784 floats 0..1; throws `not a 28×28 PNG: …` on anything else. */
export function decodeDigitPng(bytes: Buffer): Float32Array {
  const pixels = new Float32Array(PIXELS);
  decodeInto(bytes, pixels, 0);
  return pixels;
}

/**
 * Decodes one digit into `target[offset .. offset+784)`, e.g. a row of a batch tensor. Throws
 * `not a 28×28 PNG: …` on corrupt bytes or another size; `target` may then hold partial pixels.
 */
export function decodeInto(bytes: Buffer, target: Float32Array, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + PIXELS > target.length) {
    throw new RangeError(`no room for ${PIXELS} pixels at offset ${offset} of ${target.length}`);
  }
  try {
    // The scoring stage is benchmarked: our own 8-bit grayscale PNGs skip pngjs's RGBA expansion.
    if (decodeGray8(bytes, target, offset)) return;
    decodeWithPngjs(bytes, target, offset);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(message.startsWith('not a 28×28 PNG') ? message : `not a 28×28 PNG: ${message}`);
  }
}

/** False when the PNG is valid-looking but not 8-bit grayscale, non-interlaced: pngjs takes those. */
function decodeGray8(bytes: Buffer, target: Float32Array, offset: number): boolean {
  if (bytes.length < SIGNATURE.length || !SIGNATURE.equals(bytes.subarray(0, SIGNATURE.length))) {
    throw new Error(`not a 28×28 PNG: no PNG signature`);
  }
  const idat: Buffer[] = [];
  let sawHeader = false;
  for (let pos = SIGNATURE.length; ;) {
    if (pos + 12 > bytes.length) throw new Error('truncated before IEND');
    const length = bytes.readUInt32BE(pos);
    const type = bytes.readUInt32BE(pos + 4);
    const end = pos + 8 + length;
    if (end + 4 > bytes.length) throw new Error('truncated chunk');
    if (crc32(bytes, pos + 4, end) !== bytes.readUInt32BE(end)) throw new Error('chunk CRC mismatch');
    const data = bytes.subarray(pos + 8, end);
    if (!sawHeader) {
      if (type !== IHDR || length !== 13) throw new Error('first chunk is not IHDR');
      const width = data.readUInt32BE(0);
      const height = data.readUInt32BE(4);
      if (width !== SIDE || height !== SIDE) throw new Error(`not a 28×28 PNG: it is ${width}×${height}`);
      const [depth, colorType, , , interlace] = data.subarray(8);
      if (depth !== 8 || colorType !== GRAYSCALE || interlace !== 0) return false;
      sawHeader = true;
    } else if (type === IDAT) {
      idat.push(data);
    } else if (type === IEND) {
      break;
    }
    pos = end + 4;
  }
  const raw = inflateSync(idat.length === 1 ? (idat[0] as Buffer) : Buffer.concat(idat));
  if (raw.length !== RAW_LENGTH) throw new Error(`image data is ${raw.length} bytes, not ${RAW_LENGTH}`);
  unfilterGray8(raw, target, offset);
  return true;
}

/**
 * Undoes PNG's row filters in `bytes`, in place (1 byte per pixel, so "left" is the previous byte),
 * and writes the rows to `target` as floats. One loop per filter type: this runs for every image.
 */
function unfilterGray8(bytes: Buffer, target: Float32Array, offset: number): void {
  for (let y = 0; y < SIDE; y++) {
    const row = y * STRIDE + 1;
    const end = row + SIDE;
    const filter = bytes[row - 1];
    if (y === 0) unfilterFirstRow(bytes, filter, row);
    else if (filter === 1)
      for (let i = row + 1; i < end; i++) bytes[i] = (bytes[i] ?? 0) + (bytes[i - 1] ?? 0);
    else if (filter === 2)
      for (let i = row; i < end; i++) bytes[i] = (bytes[i] ?? 0) + (bytes[i - STRIDE] ?? 0);
    else if (filter === 3) {
      bytes[row] = (bytes[row] ?? 0) + ((bytes[row - STRIDE] ?? 0) >> 1);
      for (let i = row + 1; i < end; i++) {
        bytes[i] = (bytes[i] ?? 0) + (((bytes[i - 1] ?? 0) + (bytes[i - STRIDE] ?? 0)) >> 1);
      }
    } else if (filter === 4) {
      bytes[row] = (bytes[row] ?? 0) + (bytes[row - STRIDE] ?? 0);
      for (let i = row + 1; i < end; i++) {
        bytes[i] =
          (bytes[i] ?? 0) + paeth(bytes[i - 1] ?? 0, bytes[i - STRIDE] ?? 0, bytes[i - STRIDE - 1] ?? 0);
      }
    } else if (filter !== 0) throw new Error(`unknown row filter ${filter}`);
    for (let i = row, out = offset + y * SIDE; i < end; i++, out++) target[out] = LEVELS[bytes[i] ?? 0] ?? 0;
  }
}

/** Above the first row is a row of zeros: "up" adds nothing, "average" and Paeth reduce to "left". */
function unfilterFirstRow(bytes: Buffer, filter: number | undefined, row: number): void {
  if (filter === 0 || filter === 2) return;
  if (filter === 1 || filter === 4) {
    for (let i = row + 1; i < row + SIDE; i++) bytes[i] = (bytes[i] ?? 0) + (bytes[i - 1] ?? 0);
  } else if (filter === 3) {
    for (let i = row + 1; i < row + SIDE; i++) bytes[i] = (bytes[i] ?? 0) + ((bytes[i - 1] ?? 0) >> 1);
  } else throw new Error(`unknown row filter ${filter}`);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function decodeWithPngjs(bytes: Buffer, target: Float32Array, offset: number): void {
  const png = PNG.sync.read(bytes);
  if (png.width !== SIDE || png.height !== SIDE) {
    throw new Error(`not a 28×28 PNG: it is ${png.width}×${png.height}`);
  }
  // pngjs hands back RGBA: colour is reduced to luminance and alpha composited over black, the
  // background MNIST digits are drawn on.
  const rgba = png.data;
  for (let p = 0, i = 0; p < PIXELS; p++, i += 4) {
    const r = rgba[i] ?? 0;
    const g = rgba[i + 1] ?? 0;
    const b = rgba[i + 2] ?? 0;
    const a = rgba[i + 3] ?? 255;
    const level = r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    target[offset + p] = LEVELS[a === 255 ? level : Math.round((level * a) / 255)] ?? 0;
  }
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Buffer, start: number, end: number): number {
  let crc = -1;
  for (let i = start; i < end; i++) crc = (CRC_TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
