import { PNG } from 'pngjs';
import { PIXELS, SIDE } from './pixels.js';
import { inflateZlibInto } from './inflate.js';

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
/** Inflated image data, reused: a batch is decoded one image after another. */
const raw = new Uint8Array(RAW_LENGTH);
/** Unfiltered rows, after a row of zeros: what "up" reads for the first row. */
const rows = new Uint8Array((SIDE + 1) * SIDE);

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
  for (let i = 0; i < SIGNATURE.length; i++) {
    if (bytes[i] !== SIGNATURE[i]) throw new Error('not a 28×28 PNG: no PNG signature');
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
    if (!sawHeader) {
      if (type !== IHDR || length !== 13) throw new Error('first chunk is not IHDR');
      const width = bytes.readUInt32BE(pos + 8);
      const height = bytes.readUInt32BE(pos + 12);
      if (width !== SIDE || height !== SIDE) throw new Error(`not a 28×28 PNG: it is ${width}×${height}`);
      const depth = bytes[pos + 16];
      const colorType = bytes[pos + 17];
      const interlace = bytes[pos + 20];
      if (depth !== 8 || colorType !== GRAYSCALE || interlace !== 0) return false;
      sawHeader = true;
    } else if (type === IDAT) {
      idat.push(bytes.subarray(pos + 8, end));
    } else if (type === IEND) {
      break;
    }
    pos = end + 4;
  }
  // Every chunk's CRC has been checked: the compressed bytes are the ones the encoder wrote.
  const data = idat.length === 1 ? (idat[0] as Buffer) : Buffer.concat(idat);
  const written = inflateZlibInto(data, raw, { verifyChecksum: false });
  if (written !== RAW_LENGTH) throw new Error(`image data is ${written} bytes, not ${RAW_LENGTH}`);
  unfilterGray8(target, offset);
  return true;
}

/**
 * Undoes PNG's row filters in `raw` (1 byte per pixel, so "left" is the previous byte) and writes the
 * pixels to `target` as floats. One loop per filter type, each pass over a row doing all the work:
 * this runs for every image.
 */
function unfilterGray8(target: Float32Array, offset: number): void {
  for (let y = 0; y < SIDE; y++) {
    const from = y * STRIDE + 1;
    const up = y * SIDE;
    const to = up + SIDE;
    const out = offset + y * SIDE;
    const filter = raw[from - 1];
    let left = 0;
    if (filter === 0) {
      for (let x = 0; x < SIDE; x++) {
        const value = raw[from + x] ?? 0;
        rows[to + x] = value;
        target[out + x] = LEVELS[value] ?? 0;
      }
    } else if (filter === 1) {
      for (let x = 0; x < SIDE; x++) {
        left = ((raw[from + x] ?? 0) + left) & 0xff;
        rows[to + x] = left;
        target[out + x] = LEVELS[left] ?? 0;
      }
    } else if (filter === 2) {
      for (let x = 0; x < SIDE; x++) {
        const value = ((raw[from + x] ?? 0) + (rows[up + x] ?? 0)) & 0xff;
        rows[to + x] = value;
        target[out + x] = LEVELS[value] ?? 0;
      }
    } else if (filter === 3) {
      for (let x = 0; x < SIDE; x++) {
        left = ((raw[from + x] ?? 0) + ((left + (rows[up + x] ?? 0)) >> 1)) & 0xff;
        rows[to + x] = left;
        target[out + x] = LEVELS[left] ?? 0;
      }
    } else if (filter === 4) {
      let upLeft = 0;
      for (let x = 0; x < SIDE; x++) {
        const above = rows[up + x] ?? 0;
        left = ((raw[from + x] ?? 0) + paeth(left, above, upLeft)) & 0xff;
        upLeft = above;
        rows[to + x] = left;
        target[out + x] = LEVELS[left] ?? 0;
      }
    } else throw new Error(`unknown row filter ${filter}`);
  }
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

/** CRC-32 tables for 4 bytes at a time ("slicing by 4"): `CRC_TABLES[k * 256 + b]`. */
const CRC_TABLES = new Int32Array(4 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLES[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let k = 1; k < 4; k++) {
    const previous = CRC_TABLES[(k - 1) * 256 + n] ?? 0;
    CRC_TABLES[k * 256 + n] = (CRC_TABLES[previous & 0xff] ?? 0) ^ (previous >>> 8);
  }
}

function crc32(bytes: Buffer, start: number, end: number): number {
  let crc = -1;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    crc ^=
      (bytes[i] ?? 0) |
      ((bytes[i + 1] ?? 0) << 8) |
      ((bytes[i + 2] ?? 0) << 16) |
      ((bytes[i + 3] ?? 0) << 24);
    crc =
      (CRC_TABLES[768 + (crc & 0xff)] ?? 0) ^
      (CRC_TABLES[512 + ((crc >>> 8) & 0xff)] ?? 0) ^
      (CRC_TABLES[256 + ((crc >>> 16) & 0xff)] ?? 0) ^
      (CRC_TABLES[crc >>> 24] ?? 0);
  }
  for (; i < end; i++) crc = (CRC_TABLES[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
