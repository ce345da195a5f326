import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { packCodes, packedWordsPerRow, unpackCodes, unpackRowInto } from "../pack.ts";
import { expectQmmError } from "./expect-error.ts";

/** Reads code i of a row bit by bit from the row's little-endian byte string: the rule of SPEC.md §5.1. */
function codeFromBitStream(words: Uint32Array, rowStartWord: number, bits: number, index: number): number {
  let code = 0;
  for (let bit = 0; bit < bits; bit++) {
    const position = index * bits + bit;
    const byte = (words[rowStartWord + Math.floor(position / 32)] >>> (8 * Math.floor((position % 32) / 8))) & 0xff;
    code |= ((byte >>> (position % 8)) & 1) << bit;
  }
  return code;
}

function colsFor(bits: number, multiple: number): number {
  // The smallest row that fills whole words is 32 / gcd(bits, 32) codes.
  let divisor = 32;
  while (bits % divisor !== 0) divisor /= 2;
  return (32 / divisor) * multiple;
}

describe("packedWordsPerRow", () => {
  it("gives cols·bits/32", () => {
    expect(packedWordsPerRow(64, 4)).toBe(8);
    expect(packedWordsPerRow(32, 3)).toBe(3);
    expect(packedWordsPerRow(32, 5)).toBe(5);
    expect(packedWordsPerRow(16, 6)).toBe(3);
    expect(packedWordsPerRow(0, 8)).toBe(0);
  });

  it("rejects rows that are not whole words", () => {
    const error = expectQmmError(() => packedWordsPerRow(10, 3), "E_PACKED_SHAPE");
    expect(error.issue.values).toMatchObject({ cols: 10, bits: 3 });
  });

  it("rejects bits outside 1..8", () => {
    expectQmmError(() => packedWordsPerRow(32, 0), "E_BITS_INVALID");
    expectQmmError(() => packedWordsPerRow(32, 9), "E_BITS_INVALID");
    expectQmmError(() => packedWordsPerRow(32, 2.5), "E_BITS_INVALID");
  });
});

describe("packCodes hand examples", () => {
  it("packs 2 bits", () => {
    // Codes 0,1,2,3 fill one byte lowest bits first: 0 | 1<<2 | 2<<4 | 3<<6 = 0xE4. Repeated four times.
    const codes = Array.from({ length: 16 }, (_, i) => i % 4);
    expect([...packCodes(codes, 2, 1, 16)]).toEqual([0xe4e4e4e4]);
  });

  it("packs 3 bits", () => {
    // Eight 3-bit codes 0..7 read as octal digits give the 24-bit group 0o76543210 = 0xFAC688, bytes
    // 88 C6 FA. Four groups make 12 bytes 88 C6 FA 88 | C6 FA 88 C6 | FA 88 C6 FA, read as LE words.
    const codes = Array.from({ length: 32 }, (_, i) => i % 8);
    expect([...packCodes(codes, 3, 1, 32)]).toEqual([0x88fac688, 0xc688fac6, 0xfac688fa]);
  });

  it("packs 4 bits", () => {
    // Nibble i of a word holds code i, so codes 0..7 give 0x76543210 and 8..15 give 0xFEDCBA98.
    const codes = Array.from({ length: 16 }, (_, i) => i);
    expect([...packCodes(codes, 4, 1, 16)]).toEqual([0x76543210, 0xfedcba98]);
  });

  it("packs 5 bits", () => {
    // c0 = 1 sits at bits 0..4. c6 = 31 covers bits 30..34: bits 30, 31 of word 0 and bits 0..2 of
    // word 1. c12 = 0b10011 covers bits 60..64: its low four bits 0011 go to bits 28..31 of word 1 and
    // its top bit to bit 0 of word 2. c31 = 0b10101 covers bits 155..159, bits 27..31 of word 4.
    const codes = new Array<number>(32).fill(0);
    codes[0] = 1;
    codes[6] = 31;
    codes[12] = 0b10011;
    codes[31] = 0b10101;
    expect([...packCodes(codes, 5, 1, 32)]).toEqual([0xc0000001, 0x30000007, 0x00000001, 0, 0xa8000000]);
  });

  it("packs 6 bits", () => {
    // c0 = 63 fills bits 0..5. c5 = 0b101101 covers bits 30..35: low bits 01 go to bits 30, 31 of word 0
    // and 1011 to bits 0..3 of word 1. c10 = 0b110110 covers bits 60..65: 0110 to bits 28..31 of word 1
    // and 11 to bits 0, 1 of word 2. c15 = 1 starts at bit 90, bit 26 of word 2.
    const codes = new Array<number>(16).fill(0);
    codes[0] = 63;
    codes[5] = 0b101101;
    codes[10] = 0b110110;
    codes[15] = 1;
    expect([...packCodes(codes, 6, 1, 16)]).toEqual([0x4000003f, 0x6000000b, 0x04000003]);
  });

  it("packs 8 bits", () => {
    // Byte i of the little-endian word is code i.
    expect([...packCodes([1, 2, 3, 0xab, 0xff, 0, 0x10, 0x80], 8, 1, 8)]).toEqual([0xab030201, 0x801000ff]);
  });

  it("starts every row on a word boundary", () => {
    // Two rows of 32 three-bit codes: row 1 begins at word 3 even though codes straddle words.
    const codes = [...Array.from({ length: 32 }, (_, i) => i % 8), ...new Array<number>(32).fill(7)];
    const words = packCodes(codes, 3, 2, 32);
    expect(words.length).toBe(6);
    expect([...words.subarray(3)]).toEqual([0xffffffff, 0xffffffff, 0xffffffff]);
  });
});

describe("packCodes input checks", () => {
  it("rejects a code that does not fit", () => {
    const error = expectQmmError(() => packCodes(new Array<number>(8).fill(16), 4, 1, 8), "E_PARAM_INVALID");
    expect(error.issue.values).toMatchObject({ row: 0, col: 0, code: 16, bits: 4 });
    expectQmmError(() => packCodes([0.5, 0, 0, 0], 8, 1, 4), "E_PARAM_INVALID");
    expectQmmError(() => packCodes([-1, 0, 0, 0], 8, 1, 4), "E_PARAM_INVALID");
  });

  it("rejects the wrong number of codes", () => {
    const error = expectQmmError(() => packCodes([1, 2, 3], 8, 1, 4), "E_DATA_LENGTH");
    expect(error.issue.values).toMatchObject({ expected: 4, actual: 3 });
  });
});

describe("unpackCodes", () => {
  it("inverts packCodes for every bits value", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.infiniteStream(fc.nat()),
        (bits, rows, multiple, stream) => {
          const cols = colsFor(bits, multiple);
          const codes = [...stream.take(rows * cols)].map((value) => value % (1 << bits));
          const words = packCodes(codes, bits, rows, cols);
          expect(words.length).toBe(rows * packedWordsPerRow(cols, bits));
          expect([...unpackCodes(words, bits, rows, cols)]).toEqual(codes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("matches a bit-by-bit reader on random words", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 0xffffffff })),
        (bits, rows, multiple, stream) => {
          const cols = colsFor(bits, multiple);
          const wordsPerRow = packedWordsPerRow(cols, bits);
          const words = Uint32Array.from(stream.take(rows * wordsPerRow));
          const codes = unpackCodes(words, bits, rows, cols);
          for (let row = 0; row < rows; row++) {
            for (let col = 0; col < cols; col++) {
              expect(codes[row * cols + col]).toBe(codeFromBitStream(words, row * wordsPerRow, bits, col));
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("rejects the wrong number of words", () => {
    const error = expectQmmError(() => unpackCodes(new Uint32Array(2), 4, 1, 8), "E_DATA_LENGTH");
    expect(error.issue.values).toMatchObject({ expected: 1, actual: 2, bits: 4 });
  });
});

describe("unpackRowInto", () => {
  it("writes one row at an output offset", () => {
    const codes = Array.from({ length: 64 }, (_, i) => (i * 5) % 64);
    const words = packCodes(codes, 6, 2, 32);
    const out = new Uint8Array(40).fill(0xee);
    unpackRowInto(words, 6, 6, 32, out, 4);
    expect([...out.subarray(0, 4)]).toEqual([0xee, 0xee, 0xee, 0xee]);
    expect([...out.subarray(4, 36)]).toEqual(codes.slice(32));
    expect([...out.subarray(36)]).toEqual([0xee, 0xee, 0xee, 0xee]);
  });
});
