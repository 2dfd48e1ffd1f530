/**
 * A zlib (RFC 1950) / deflate (RFC 1951) decoder for small images. A digit's compressed data is
 * about 300 bytes, and node:zlib spends more time setting up a stream and its buffers for each
 * call than inflating; this one keeps its tables between calls, allocates nothing, and writes into
 * the caller's buffer. Checked against node:zlib in inflate.test.ts.
 */

const MAX_BITS = 15;

/** Base length and extra bits of length symbols 257..285. */
// prettier-ignore
const LENGTH_BASE = Uint16Array.of(
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163,
  195, 227, 258,
);
// prettier-ignore
const LENGTH_EXTRA = Uint8Array.of(
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
);
/** Base distance and extra bits of distance symbols 0..29. */
// prettier-ignore
const DISTANCE_BASE = Uint16Array.of(
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
);
// prettier-ignore
const DISTANCE_EXTRA = Uint8Array.of(
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
);
/** The order code-length code lengths are stored in. */
// prettier-ignore
const CODE_LENGTH_ORDER = Uint8Array.of(
  16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
);

/** `REVERSED_9[v]`: the 9 bits of `v` in reverse order. A `len`-bit code `c` reversed is `REVERSED_9[c << (9 - len)]`. */
const REVERSED_9 = Uint16Array.from({ length: 512 }, (_, v) => {
  let r = 0;
  for (let i = 0; i < 9; i++) r |= ((v >> i) & 1) << (8 - i);
  return r;
});
const MAX_FAST_BITS = 9;

/**
 * A canonical Huffman code, built from the symbols that have a code (a dynamic block lists about a
 * hundred of its 288 literals). Codes up to `fastBits` long are found with one lookup in `fast`
 * (`symbol << 4 | length`, 0 where no such code starts); longer ones, rare in small images, a bit at a time.
 */
class HuffmanCode {
  readonly fast = new Uint16Array(1 << MAX_FAST_BITS);
  /** Bits looked up at once: the longest code, at most `MAX_FAST_BITS` (a smaller table is quicker to fill). */
  fastBits = 0;
  fastMask = 0;
  /** The symbols with a code, their code lengths, and how many codes there are of each length. */
  readonly present: Uint16Array;
  readonly presentLengths: Uint8Array;
  presentCount = 0;
  readonly counts = new Uint16Array(MAX_BITS + 1);
  /** For codes longer than `fastBits`: per length, the first canonical code and where its symbols start. */
  readonly firstCodes = new Uint16Array(MAX_BITS + 1);
  readonly offsets = new Uint16Array(MAX_BITS + 1);
  readonly longSymbols: Uint16Array;
  private readonly nextCodes = new Uint16Array(MAX_BITS + 1);

  constructor(maxSymbols: number) {
    this.present = new Uint16Array(maxSymbols);
    this.presentLengths = new Uint8Array(maxSymbols);
    this.longSymbols = new Uint16Array(maxSymbols);
  }

  reset(): void {
    this.presentCount = 0;
    this.counts.fill(0);
  }

  add(symbol: number, length: number): void {
    const n = this.presentCount++;
    this.present[n] = symbol;
    this.presentLengths[n] = length;
    this.counts[length] = (this.counts[length] ?? 0) + 1;
  }

  /** Builds the code from the symbols added since `reset()`, in symbol order; throws when over-subscribed. */
  build(): void {
    const { fast, counts, firstCodes, offsets, nextCodes, present, presentLengths, longSymbols } = this;
    let longest = 1;
    let left = 1;
    for (let len = 1, code = 0, at = 0; len <= MAX_BITS; len++) {
      const n = counts[len] ?? 0;
      if (n > 0) longest = len;
      left = (left << 1) - n;
      if (left < 0) throw new Error('invalid Huffman code (over-subscribed)');
      firstCodes[len] = code;
      nextCodes[len] = code;
      offsets[len] = at;
      code = (code + n) << 1;
      if (len > MAX_FAST_BITS) at += n;
    }
    const fastBits = Math.min(longest, MAX_FAST_BITS);
    this.fastBits = fastBits;
    this.fastMask = (1 << fastBits) - 1;
    const size = 1 << fastBits;
    // An incomplete code, or one with longer codes, leaves entries that must read "no code here".
    if (left !== 0 || longest > fastBits) fast.fill(0, 0, size);
    for (let k = 0, n = this.presentCount; k < n; k++) {
      const symbol = present[k] ?? 0;
      const len = presentLengths[k] ?? 0;
      const code = nextCodes[len] ?? 0;
      nextCodes[len] = code + 1;
      if (len > fastBits) {
        const at = offsets[len] ?? 0;
        longSymbols[at + code - (firstCodes[len] ?? 0)] = symbol;
        continue;
      }
      const entry = (symbol << 4) | len;
      // Deflate packs codes most significant bit first into a least-significant-first bit stream.
      for (let i = REVERSED_9[code << (MAX_FAST_BITS - len)] ?? 0; i < size; i += 1 << len) fast[i] = entry;
    }
  }
}

/** `symbol << 4 | length` of a code longer than the fast table, read a bit at a time from `bits`. */
function decodeLong(code: HuffmanCode, bits: number): number {
  let value = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    value = (value << 1) | ((bits >>> (len - 1)) & 1);
    if (len <= code.fastBits) continue;
    const index = value - (code.firstCodes[len] ?? 0);
    if (index >= 0 && index < (code.counts[len] ?? 0)) {
      return ((code.longSymbols[(code.offsets[len] ?? 0) + index] ?? 0) << 4) | len;
    }
  }
  throw new Error('invalid Huffman code in deflate data');
}

function fixedCode(lengthOf: (symbol: number) => number, symbols: number): HuffmanCode {
  const code = new HuffmanCode(symbols);
  code.reset();
  for (let s = 0; s < symbols; s++) code.add(s, lengthOf(s));
  code.build();
  return code;
}

const FIXED_LITERALS = fixedCode((s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8), 288);
const FIXED_DISTANCES = fixedCode(() => 5, 30);

/** Reads a deflate stream: bits least significant first; the hot loops keep the bit state in locals. */
class Inflater {
  private input: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private bits = 0;
  private bitCount = 0;
  private readonly literals = new HuffmanCode(288);
  private readonly distances = new HuffmanCode(30);
  private readonly codeLengths = new HuffmanCode(19);
  private readonly codeLengthLengths = new Uint8Array(19);

  /** Inflates the zlib stream `input` into `out`; returns the bytes written. */
  inflateZlib(input: Uint8Array, out: Uint8Array, verifyChecksum: boolean): number {
    if (input.length < 6) throw new Error('zlib stream too short');
    const cmf = input[0] ?? 0;
    const flags = input[1] ?? 0;
    if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7) throw new Error('not a deflate zlib stream');
    if ((cmf * 256 + flags) % 31 !== 0) throw new Error('bad zlib header check');
    if (flags & 0x20) throw new Error('zlib preset dictionaries are not supported');
    this.input = input;
    this.pos = 2;
    this.bits = 0;
    this.bitCount = 0;
    const written = this.inflateBlocks(out);
    // The Adler-32 trailer starts at the next byte boundary.
    const end = this.pos - (this.bitCount >> 3);
    if (end + 4 > input.length) throw new Error('zlib stream truncated');
    const expected =
      (((input[end] ?? 0) << 24) |
        ((input[end + 1] ?? 0) << 16) |
        ((input[end + 2] ?? 0) << 8) |
        (input[end + 3] ?? 0)) >>>
      0;
    if (verifyChecksum && adler32(out, written) !== expected) throw new Error('zlib checksum mismatch');
    return written;
  }

  private inflateBlocks(out: Uint8Array): number {
    let written = 0;
    for (let last = 0; !last;) {
      last = this.take(1);
      const type = this.take(2);
      if (type === 0) written = this.copyStored(out, written);
      else if (type === 1) written = this.inflateBlock(out, written, FIXED_LITERALS, FIXED_DISTANCES);
      else if (type === 2) {
        this.readDynamicCodes();
        written = this.inflateBlock(out, written, this.literals, this.distances);
      } else throw new Error('invalid deflate block type');
    }
    return written;
  }

  /** Ensures at least `n` (≤ 24) bits are buffered; past the end of input, zeros — caught by the end checks. */
  private need(n: number): void {
    while (this.bitCount < n) {
      if (this.pos >= this.input.length + 4) throw new Error('deflate stream truncated');
      this.bits |= (this.input[this.pos++] ?? 0) << this.bitCount;
      this.bitCount += 8;
    }
  }

  private take(n: number): number {
    this.need(n);
    const value = this.bits & ((1 << n) - 1);
    this.bits >>>= n;
    this.bitCount -= n;
    return value;
  }

  private copyStored(out: Uint8Array, written: number): number {
    // Stored data starts at the next byte boundary: drop the partial byte, give back whole ones.
    this.take(this.bitCount & 7);
    this.pos -= this.bitCount >> 3;
    this.bits = 0;
    this.bitCount = 0;
    const { input, pos } = this;
    if (pos + 4 > input.length) throw new Error('deflate stream truncated');
    const length = (input[pos] ?? 0) | ((input[pos + 1] ?? 0) << 8);
    const complement = (input[pos + 2] ?? 0) | ((input[pos + 3] ?? 0) << 8);
    if ((length ^ 0xffff) !== complement) throw new Error('invalid stored block length');
    if (pos + 4 + length > input.length) throw new Error('deflate stream truncated');
    if (written + length > out.length) throw new Error(`inflated data longer than ${out.length} bytes`);
    out.set(input.subarray(pos + 4, pos + 4 + length), written);
    this.pos = pos + 4 + length;
    return written + length;
  }

  /**
   * Reads a dynamic block's code lengths and builds its literal/length and distance codes. Only
   * symbols with a code are recorded: runs of zeros (most of the 288) are skipped, not written.
   */
  private readDynamicCodes(): void {
    const literalCount = this.take(5) + 257;
    const distanceCount = this.take(5) + 1;
    const codeLengthCount = this.take(4) + 4;
    if (literalCount > 286 || distanceCount > 30) throw new Error('invalid dynamic Huffman header');
    const { input, codeLengths, literals, distances } = this;
    codeLengths.reset();
    const lengths = this.codeLengthLengths.fill(0);
    for (let i = 0; i < codeLengthCount; i++) lengths[CODE_LENGTH_ORDER[i] ?? 0] = this.take(3);
    for (let s = 0; s < 19; s++) {
      const length = lengths[s] ?? 0;
      if (length !== 0) codeLengths.add(s, length);
    }
    codeLengths.build();
    literals.reset();
    distances.reset();
    const total = literalCount + distanceCount;
    let { pos, bits, bitCount } = this;
    let previous = 0;
    let endOfBlock = false;
    for (let i = 0; i < total;) {
      // A code-length code (≤ 7 bits) and its repeat count (≤ 7 bits).
      if (bitCount < 14) {
        bits |= ((input[pos] ?? 0) | ((input[pos + 1] ?? 0) << 8)) << bitCount;
        pos += 2;
        bitCount += 16;
      }
      const entry = codeLengths.fast[bits & codeLengths.fastMask] ?? 0;
      if (entry === 0) throw new Error('invalid code length code');
      bits >>>= entry & 15;
      bitCount -= entry & 15;
      const symbol = entry >> 4;
      let repeat = 1;
      let value = symbol;
      if (symbol === 16) {
        if (i === 0) throw new Error('invalid code length repeat');
        value = previous;
        repeat = 3 + (bits & 3);
        bits >>>= 2;
        bitCount -= 2;
      } else if (symbol === 17) {
        value = 0;
        repeat = 3 + (bits & 7);
        bits >>>= 3;
        bitCount -= 3;
      } else if (symbol === 18) {
        value = 0;
        repeat = 11 + (bits & 127);
        bits >>>= 7;
        bitCount -= 7;
      }
      if (i + repeat > total) throw new Error('invalid code length repeat');
      if (value !== 0) {
        if (i <= 256 && 256 < i + repeat) endOfBlock = true;
        for (const end = i + repeat; i < end; i++) {
          if (i < literalCount) literals.add(i, value);
          else distances.add(i - literalCount, value);
        }
      } else i += repeat;
      previous = value;
    }
    if (pos > input.length + 4) throw new Error('deflate stream truncated');
    this.pos = pos;
    this.bits = bits;
    this.bitCount = bitCount;
    if (!endOfBlock) throw new Error('dynamic block has no end-of-block code');
    literals.build();
    distances.build();
  }

  /** The hot loop: bit state lives in locals and codes are looked up inline. */
  private inflateBlock(
    out: Uint8Array,
    start: number,
    literals: HuffmanCode,
    distances: HuffmanCode,
  ): number {
    const { input } = this;
    const limit = input.length + 4;
    const room = out.length;
    const literalTable = literals.fast;
    const literalMask = literals.fastMask;
    const distanceTable = distances.fast;
    const distanceMask = distances.fastMask;
    let { pos, bits, bitCount } = this;
    let written = start;
    for (;;) {
      if (bitCount < MAX_BITS) {
        // Two bytes at once: at most 14 + 16 bits, still a positive 32-bit integer.
        bits |= ((input[pos] ?? 0) | ((input[pos + 1] ?? 0) << 8)) << bitCount;
        pos += 2;
        bitCount += 16;
      }
      let entry = literalTable[bits & literalMask] ?? 0;
      if (entry === 0) entry = decodeLong(literals, bits);
      bits >>>= entry & 15;
      bitCount -= entry & 15;
      const symbol = entry >> 4;
      if (symbol < 256) {
        if (written >= room) throw new Error(`inflated data longer than ${room} bytes`);
        out[written++] = symbol;
        continue;
      }
      if (symbol === 256) break;
      const lengthIndex = symbol - 257;
      if (lengthIndex >= 29) throw new Error('invalid length symbol');
      // Up to 5 extra length bits, then a distance code of up to 15 bits, then up to 13 extra bits.
      while (bitCount < 20) {
        bits |= (input[pos++] ?? 0) << bitCount;
        bitCount += 8;
      }
      const lengthExtra = LENGTH_EXTRA[lengthIndex] ?? 0;
      const length = (LENGTH_BASE[lengthIndex] ?? 0) + (bits & ((1 << lengthExtra) - 1));
      bits >>>= lengthExtra;
      bitCount -= lengthExtra;
      let distanceEntry = distanceTable[bits & distanceMask] ?? 0;
      if (distanceEntry === 0) distanceEntry = decodeLong(distances, bits);
      bits >>>= distanceEntry & 15;
      bitCount -= distanceEntry & 15;
      const distanceIndex = distanceEntry >> 4;
      if (distanceIndex >= 30) throw new Error('invalid distance symbol');
      while (bitCount < 13) {
        bits |= (input[pos++] ?? 0) << bitCount;
        bitCount += 8;
      }
      const distanceExtra = DISTANCE_EXTRA[distanceIndex] ?? 0;
      const distance = (DISTANCE_BASE[distanceIndex] ?? 0) + (bits & ((1 << distanceExtra) - 1));
      bits >>>= distanceExtra;
      bitCount -= distanceExtra;
      if (distance > written) throw new Error('invalid distance: before the start of the data');
      const end = written + length;
      if (end > room) throw new Error(`inflated data longer than ${room} bytes`);
      if (distance === 1) {
        // A run of one byte value: the commonest match in images (a row of background).
        const value = out[written - 1] ?? 0;
        while (written < end) out[written++] = value;
      } else {
        // Byte by byte: a match may overlap the bytes it produces.
        for (let from = written - distance; written < end;) out[written++] = out[from++] ?? 0;
      }
      if (pos > limit) break;
    }
    if (pos > limit) throw new Error('deflate stream truncated');
    this.pos = pos;
    this.bits = bits;
    this.bitCount = bitCount;
    return written;
  }
}

function adler32(data: Uint8Array, length: number): number {
  let a = 1;
  let b = 0;
  // 5552 bytes is the most that can be summed before b must be reduced (RFC 1950).
  for (let i = 0; i < length;) {
    for (const end = Math.min(length, i + 5552); i < end; i++) {
      a += data[i] ?? 0;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

const inflater = new Inflater();

/**
 * Inflates the zlib stream `input` into `out` and returns the number of bytes written; throws on
 * corrupt data, a checksum mismatch, or output that would not fit in `out`. `verifyChecksum: false`
 * skips the Adler-32 of the output, for callers that have checked the compressed bytes already
 * (a PNG chunk's CRC covers them).
 */
export function inflateZlibInto(
  input: Uint8Array,
  out: Uint8Array,
  { verifyChecksum = true }: { verifyChecksum?: boolean } = {},
): number {
  return inflater.inflateZlib(input, out, verifyChecksum);
}
