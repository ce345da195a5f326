import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { E4M3_VALUES, e4m3ToNumber, e4m3ToNumberMlxRelease, numberToE4m3 } from "../formats/e4m3.ts";
import { e8m0ToNumber } from "../formats/e8m0.ts";
import { E2M1_VALUES, e2m1ToNumber, numberToE2m1 } from "../formats/e2m1.ts";
import { ORACLE_FORMATS, exactOfDouble, exactOfScaled, roundExact } from "./rational-oracle.ts";
import type { FloatDType } from "../../spec/types.ts";

function exactValue(negative: boolean, significand: number, exponent: number): number {
  const magnitude = roundExact(exactOfScaled(BigInt(significand), exponent), ORACLE_FORMATS.float64);
  return negative ? -magnitude : magnitude;
}

/** E4M3 decoded from its fields: sign bit 7, exponent bits 3..6 with bias 7, mantissa bits 0..2, no NaN. */
function e4m3FromFields(byte: number): number {
  const negative = (byte & 0x80) !== 0;
  const exponentField = (byte >>> 3) & 0xf;
  const mantissa = byte & 7;
  if (exponentField === 0) return exactValue(negative, mantissa, -6 - 3);
  return exactValue(negative, 8 + mantissa, exponentField - 7 - 3);
}

/** e4m3FromFields of every code, computed once for the brute-force encoder. */
const FIELD_VALUES = Array.from({ length: 256 }, (_, code) => e4m3FromFields(code));

/**
 * Brute-force E4M3 encoder: the input rounded to float32, then the nearest of codes 0x00..0x7E
 * (so everything above 448 lands on 448), ties to the even code, and the input's sign bit on top.
 */
function e4m3Oracle(value: number): number {
  const single = Math.fround(value);
  const negative = single < 0 || Object.is(single, -0);
  if (Number.isNaN(single)) return 0x7e;

  const magnitude = Math.abs(single);
  let best = 0;
  for (let code = 1; code <= 0x7e; code++) {
    const distance = Math.abs(magnitude - FIELD_VALUES[code]);
    const bestDistance = Math.abs(magnitude - FIELD_VALUES[best]);
    if (distance < bestDistance || (distance === bestDistance && code % 2 === 0)) best = code;
  }
  return negative ? best | 0x80 : best;
}

function nextFloat32(value: number, direction: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  const bits = view.getUint32(0);
  const towardLarger = (value >= 0) === (direction === 1);
  view.setUint32(0, towardLarger ? bits + 1 : bits - 1);
  return view.getFloat32(0);
}

describe("E4M3", () => {
  it("decodes all 256 codes like the bit fields", () => {
    for (let byte = 0; byte < 256; byte++) {
      expect(e4m3ToNumber(byte), `0x${byte.toString(16)}`).toBe(e4m3FromFields(byte));
    }
  });

  it("decodes the MLX specials", () => {
    expect(e4m3ToNumber(0x7f)).toBe(480);
    expect(e4m3ToNumber(0xff)).toBe(-480);
    expect(e4m3ToNumber(0x7e)).toBe(448);
    expect(e4m3ToNumber(0x01)).toBe(2 ** -9);
    expect(e4m3ToNumber(0x08)).toBe(2 ** -6);
    expect(Object.is(e4m3ToNumber(0x80), -0)).toBe(true);
  });

  it("decodes reserved codes to NaN in the release variant", () => {
    expect(e4m3ToNumberMlxRelease(0x7f)).toBeNaN();
    expect(e4m3ToNumberMlxRelease(0xff)).toBeNaN();
    for (let byte = 0; byte < 256; byte++) {
      if ((byte & 0x7f) === 0x7f) continue;
      expect(Object.is(e4m3ToNumberMlxRelease(byte), e4m3ToNumber(byte)), `0x${byte.toString(16)}`).toBe(true);
    }
  });

  it("re-encodes every decoded value", () => {
    for (let byte = 0; byte < 256; byte++) {
      const expected = byte === 0x7f || byte === 0xff ? byte - 1 : byte;
      expect(numberToE4m3(E4M3_VALUES[byte]), `0x${byte.toString(16)}`).toBe(expected);
    }
  });

  it("matches the oracle at midpoints and neighbours", () => {
    for (let code = 0; code < 0x7e; code++) {
      const midpoint = (e4m3ToNumber(code) + e4m3ToNumber(code + 1)) / 2;
      for (const value of [midpoint, nextFloat32(midpoint, 1), nextFloat32(midpoint, -1)]) {
        expect(numberToE4m3(value), `${value}`).toBe(e4m3Oracle(value));
        expect(numberToE4m3(-value), `${-value}`).toBe(e4m3Oracle(-value));
      }
    }
  });

  it("matches the oracle on random values", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: -600, max: 600, noNaN: true }), fc.double({ min: -0.02, max: 0.02, noNaN: true })), (value) => {
        expect(numberToE4m3(value)).toBe(e4m3Oracle(value));
      }),
      { numRuns: 5000 },
    );
  });

  it("saturates, keeps the sign of zero and maps NaN", () => {
    expect(numberToE4m3(448)).toBe(0x7e);
    // 464 is halfway between 448 (even mantissa) and 480; ties to even picks 448.
    expect(numberToE4m3(464)).toBe(0x7e);
    expect(numberToE4m3(470)).toBe(0x7e);
    expect(numberToE4m3(1e6)).toBe(0x7e);
    expect(numberToE4m3(-Infinity)).toBe(0xfe);
    expect(numberToE4m3(Infinity)).toBe(0x7e);
    expect(numberToE4m3(Number.NaN)).toBe(0x7e);
    expect(numberToE4m3(-Number.NaN)).toBe(0xfe);
    expect(numberToE4m3(-1e-9)).toBe(0x80);
    expect(numberToE4m3(-0)).toBe(0x80);
    // 2^-10 is halfway between 0 and the smallest subnormal 2^-9: ties to even gives 0.
    expect(numberToE4m3(2 ** -10)).toBe(0x00);
    expect(numberToE4m3(3 * 2 ** -10)).toBe(0x02);
    // 15·2^-10 lies between subnormal 7·2^-9 and 2^-6 = 8·2^-9, halfway: even count 8 is code 0x08.
    expect(numberToE4m3(15 * 2 ** -10)).toBe(0x08);
    // 1.0625 is halfway between 1 (0x38) and 1.125 (0x39): ties to even gives 0x38.
    expect(numberToE4m3(1.0625)).toBe(0x38);
    expect(numberToE4m3(1.1875)).toBe(0x3a);
  });

  it("rounds through float32 first", () => {
    // 1.0625 - 2^-40 is below the tie in float64 but becomes the tie 1.0625 in float32.
    expect(numberToE4m3(1.0625 - 2 ** -40)).toBe(0x38);
    expect(numberToE4m3(1.0625 + 2 ** -40)).toBe(0x38);
    expect(numberToE4m3(1.0625 + 2 ** -20)).toBe(0x39);
  });
});

describe("E8M0", () => {
  it("decodes all 256 codes", () => {
    for (let byte = 0; byte < 255; byte++) {
      expect(e8m0ToNumber(byte), `${byte}`).toBe(exactValue(false, 1, byte - 127));
    }
    expect(e8m0ToNumber(0)).toBe(2 ** -127);
    expect(e8m0ToNumber(127)).toBe(1);
    expect(e8m0ToNumber(254)).toBe(2 ** 127);
    expect(e8m0ToNumber(255)).toBe(Infinity);
  });
});

/** First minimum of the exact distances |value - table[code]|, compared as BigInt multiples of 2^-SCALE. */
function e2m1Oracle(value: number): number {
  if (!Number.isFinite(value)) return 0;

  const distance = (code: number): bigint => {
    const difference = exactOfDouble(value) - exactOfDouble(E2M1_VALUES[code]);
    return difference < 0n ? -difference : difference;
  };
  let best = 0;
  for (let code = 1; code < 16; code++) {
    if (distance(code) < distance(best)) best = code;
  }
  return best;
}

describe("E2M1", () => {
  it("has the MLX table with -0 at code 8", () => {
    expect(E2M1_VALUES).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
    expect(Object.is(e2m1ToNumber(8), -0)).toBe(true);
    expect(e2m1ToNumber(15)).toBe(-6);
  });

  it("sends ties to the lower code", () => {
    const cases: [number, number][] = [
      [0.25, 0], [0.75, 1], [1.25, 2], [1.75, 3], [2.5, 4], [3.5, 5], [5, 6],
      [-0.25, 0], [-0.75, 9], [-1.25, 10], [-1.75, 11], [-2.5, 12], [-3.5, 13], [-5, 14],
      [-0.1, 0], [-0, 0], [7, 7], [1e300, 7], [-100, 15], [-1e300, 15],
    ];
    for (const [value, code] of cases) expect(numberToE2m1(value), `${value}`).toBe(code);
  });

  it("maps NaN and infinities to code 0", () => {
    expect(numberToE2m1(Number.NaN)).toBe(0);
    expect(numberToE2m1(Infinity)).toBe(0);
    expect(numberToE2m1(-Infinity)).toBe(0);
    expect(numberToE2m1(Number.NaN, "bfloat16")).toBe(0);
  });

  it("matches the exact first-minimum oracle", () => {
    fc.assert(
      fc.property(fc.double({ min: -10, max: 10, noNaN: true }), (value) => {
        expect(numberToE2m1(value)).toBe(e2m1Oracle(value));
      }),
      { numRuns: 5000 },
    );
  });

  it("rounds distances in the given dtype", () => {
    // In float32, 2^30 - 6 and 2^30 round to the same distance, so the first code wins.
    expect(numberToE2m1(2 ** 30, "float32")).toBe(0);
    expect(numberToE2m1(2 ** 30)).toBe(7);

    const dtypes: FloatDType[] = ["float32", "float16", "bfloat16"];
    fc.assert(
      fc.property(fc.double({ min: -2000, max: 2000, noNaN: true }), fc.constantFrom(...dtypes), (value, dtype) => {
        const distanceTo = (code: number): number =>
          Math.abs(roundExact(exactOfDouble(value) - exactOfDouble(E2M1_VALUES[code]), ORACLE_FORMATS[dtype]));
        let best = 0;
        for (let code = 1; code < 16; code++) {
          if (distanceTo(code) < distanceTo(best)) best = code;
        }
        expect(numberToE2m1(value, dtype)).toBe(best);
      }),
      { numRuns: 3000 },
    );
  });
});
