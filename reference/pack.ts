/**
 * The packed code layout of SPEC.md §5.1. Each row of the logical weight is a little-endian,
 * lowest-bit-first bit stream: element i of a row occupies bits [i·b, (i+1)·b) of the row's byte
 * string, and that byte string is stored as little-endian uint32 words. A code may straddle two words
 * (bits 3, 5, 6, 7), but rows always start on a word boundary.
 */
import { fail } from "../spec/errors.ts";

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
    fail("E_BITS_INVALID", `bits must be an integer from 1 to 8 to pack codes, got ${bits}`, { bits }, ["bits"]);
  }
}

/**
 * Returns the uint32 words one row of `cols` codes of `bits` bits takes: cols·bits/32. Throws
 * E_PACKED_SHAPE when cols·bits is not a multiple of 32 and E_BITS_INVALID when bits is outside 1..8.
 */
export function packedWordsPerRow(cols: number, bits: number): number {
  checkBits(bits);

  const rowBits = cols * bits;
  if (!Number.isSafeInteger(cols) || cols < 0 || rowBits % 32 !== 0) {
    fail(
      "E_PACKED_SHAPE",
      `a row of ${cols} codes of ${bits} bits is ${rowBits} bits, not a whole number of uint32 words`,
      { cols, bits },
    );
  }

  return rowBits / 32;
}

/**
 * Packs a row-major rows×cols matrix of codes into uint32 words, rows·packedWordsPerRow(cols, bits)
 * of them. Throws E_DATA_LENGTH when `codes` has the wrong length and E_PARAM_INVALID for a code that
 * is not an integer in [0, 2^bits).
 */
export function packCodes(codes: ArrayLike<number>, bits: number, rows: number, cols: number): Uint32Array {
  const wordsPerRow = packedWordsPerRow(cols, bits);
  const expected = rows * cols;
  if (codes.length !== expected) {
    fail("E_DATA_LENGTH", `expected ${expected} codes for ${rows}×${cols}, got ${codes.length}`, {
      expected,
      actual: codes.length,
    });
  }

  const limit = 1 << bits;
  const words = new Uint32Array(rows * wordsPerRow);

  for (let row = 0; row < rows; row++) {
    const rowStart = row * wordsPerRow;

    for (let col = 0; col < cols; col++) {
      const code = codes[row * cols + col];
      if (!Number.isInteger(code) || code < 0 || code >= limit) {
        fail("E_PARAM_INVALID", `code ${code} at row ${row}, column ${col} does not fit in ${bits} bits`, {
          row,
          col,
          code,
          bits,
        });
      }

      const bitPosition = col * bits;
      const word = rowStart + (bitPosition >>> 5);
      const offset = bitPosition & 31;
      words[word] |= code << offset;
      if (offset + bits > 32) words[word + 1] |= code >>> (32 - offset);
    }
  }

  return words;
}

/**
 * Unpacks one row of `cols` codes that starts at `words[wordOffset]` into `out[outOffset ...]`.
 * The caller guarantees the bounds: cols·bits/32 words from wordOffset and cols entries of `out`.
 * Nothing is allocated, so the reference can call this once per row in its inner loop.
 */
export function unpackRowInto(
  words: Uint32Array,
  wordOffset: number,
  bits: number,
  cols: number,
  out: Uint8Array,
  outOffset = 0,
): void {
  switch (bits) {
    case 8:
      unpackBytes(words, wordOffset, cols, out, outOffset);
      return;
    case 4:
      unpackNibbles(words, wordOffset, cols, out, outOffset);
      return;
    case 2:
      unpackPairs(words, wordOffset, cols, out, outOffset);
      return;
    case 1:
      unpackSmallPowerOfTwo(words, wordOffset, bits, cols, out, outOffset);
      return;
    default:
      unpackStraddling(words, wordOffset, bits, cols, out, outOffset);
  }
}

function unpackBytes(words: Uint32Array, wordOffset: number, cols: number, out: Uint8Array, outOffset: number): void {
  let target = outOffset;

  for (let word = wordOffset, end = wordOffset + (cols >>> 2); word < end; word++) {
    const value = words[word];
    out[target] = value & 0xff;
    out[target + 1] = (value >>> 8) & 0xff;
    out[target + 2] = (value >>> 16) & 0xff;
    out[target + 3] = value >>> 24;
    target += 4;
  }
}

function unpackNibbles(words: Uint32Array, wordOffset: number, cols: number, out: Uint8Array, outOffset: number): void {
  let target = outOffset;

  for (let word = wordOffset, end = wordOffset + (cols >>> 3); word < end; word++) {
    const value = words[word];
    out[target] = value & 0xf;
    out[target + 1] = (value >>> 4) & 0xf;
    out[target + 2] = (value >>> 8) & 0xf;
    out[target + 3] = (value >>> 12) & 0xf;
    out[target + 4] = (value >>> 16) & 0xf;
    out[target + 5] = (value >>> 20) & 0xf;
    out[target + 6] = (value >>> 24) & 0xf;
    out[target + 7] = value >>> 28;
    target += 8;
  }
}

function unpackPairs(words: Uint32Array, wordOffset: number, cols: number, out: Uint8Array, outOffset: number): void {
  let target = outOffset;

  for (let word = wordOffset, end = wordOffset + (cols >>> 4); word < end; word++) {
    const value = words[word];
    const low = value & 0xffff;
    const high = value >>> 16;
    out[target] = low & 3;
    out[target + 1] = (low >>> 2) & 3;
    out[target + 2] = (low >>> 4) & 3;
    out[target + 3] = (low >>> 6) & 3;
    out[target + 4] = (low >>> 8) & 3;
    out[target + 5] = (low >>> 10) & 3;
    out[target + 6] = (low >>> 12) & 3;
    out[target + 7] = low >>> 14;
    out[target + 8] = high & 3;
    out[target + 9] = (high >>> 2) & 3;
    out[target + 10] = (high >>> 4) & 3;
    out[target + 11] = (high >>> 6) & 3;
    out[target + 12] = (high >>> 8) & 3;
    out[target + 13] = (high >>> 10) & 3;
    out[target + 14] = (high >>> 12) & 3;
    out[target + 15] = high >>> 14;
    target += 16;
  }
}

function unpackSmallPowerOfTwo(
  words: Uint32Array,
  wordOffset: number,
  bits: number,
  cols: number,
  out: Uint8Array,
  outOffset: number,
): void {
  const perWord = 32 / bits;
  const mask = (1 << bits) - 1;
  let target = outOffset;

  for (let word = wordOffset, end = wordOffset + cols / perWord; word < end; word++) {
    let value = words[word];
    for (let slot = 0; slot < perWord; slot++) {
      out[target++] = value & mask;
      value >>>= bits;
    }
  }
}

/**
 * Bit widths that do not divide 32: a window of the current word and the next one (two 32-bit halves
 * of a 64-bit window) yields each code, including those that straddle a word boundary.
 */
function unpackStraddling(
  words: Uint32Array,
  wordOffset: number,
  bits: number,
  cols: number,
  out: Uint8Array,
  outOffset: number,
): void {
  const mask = (1 << bits) - 1;
  let word = wordOffset;
  let current = cols > 0 ? words[word] : 0;
  let offset = 0;

  for (let col = 0; col < cols; col++) {
    let code = current >>> offset;
    offset += bits;

    if (offset >= 32) {
      offset -= 32;
      word += 1;
      // When the row's last code ends on a word boundary, the next word belongs to another row or
      // does not exist. So the next word is read only when a code still needs bits from it.
      current = offset > 0 || col + 1 < cols ? words[word] : 0;
      if (offset > 0) code |= current << (bits - offset);
    }

    out[outOffset + col] = code & mask;
  }
}

/**
 * Unpacks rows×cols codes from `words`, which must hold exactly rows·packedWordsPerRow(cols, bits)
 * words (E_DATA_LENGTH otherwise). Returns the codes in row-major order.
 */
export function unpackCodes(words: Uint32Array, bits: number, rows: number, cols: number): Uint8Array {
  const wordsPerRow = packedWordsPerRow(cols, bits);
  const expected = rows * wordsPerRow;
  if (words.length !== expected) {
    fail("E_DATA_LENGTH", `expected ${expected} packed words for ${rows}×${cols} codes of ${bits} bits, got ${words.length}`, {
      expected,
      actual: words.length,
      bits,
    });
  }

  const codes = new Uint8Array(rows * cols);
  for (let row = 0; row < rows; row++) {
    unpackRowInto(words, row * wordsPerRow, bits, cols, codes, row * cols);
  }

  return codes;
}
