import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  FORMAT_INFO,
  bfloat16BitsToNumber,
  float16BitsToNumber,
  float32BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
  numberToFloat32Bits,
  roundHalfToEven,
  roundSumToDType,
  roundToDType,
  ulpOf,
} from "../formats/float.ts";
import { ORACLE_FORMATS, exactOfDouble, exactOfScaled, roundExact } from "./rational-oracle.ts";
import type { FloatDType } from "../../spec/types.ts";

const DTYPES: readonly FloatDType[] = ["float32", "float16", "bfloat16"];

/** Exact value of sign·significand·2^exponent, through the BigInt oracle (no float arithmetic). */
function exactValue(negative: boolean, significand: number, exponent: number): number {
  const magnitude = roundExact(exactOfScaled(BigInt(significand), exponent), ORACLE_FORMATS.float64);
  return negative ? -magnitude : magnitude;
}

/** Decodes a 16-bit pattern from its fields: `mantissaBits` wide mantissa, exponent bias `bias`. */
function decodeFields(bits: number, mantissaBits: number, bias: number): number {
  const negative = (bits & 0x8000) !== 0;
  const exponentField = (bits & 0x7fff) >>> mantissaBits;
  const mantissa = bits & ((1 << mantissaBits) - 1);
  const allOnes = 0x7fff >>> mantissaBits;

  if (exponentField === allOnes) {
    if (mantissa !== 0) return Number.NaN;
    return negative ? -Infinity : Infinity;
  }
  if (exponentField === 0) return exactValue(negative, mantissa, 1 - bias - mantissaBits);
  return exactValue(negative, mantissa + (1 << mantissaBits), exponentField - bias - mantissaBits);
}

function oracleRound(value: number, dtype: FloatDType): number {
  return roundExact(exactOfDouble(value), ORACLE_FORMATS[dtype]);
}

/** Doubles weighted towards the hard spots of the 16- and 32-bit formats. */
const interestingDouble = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: -70000, max: 70000, noNaN: true }),
  fc.double({ min: -1e-4, max: 1e-4, noNaN: true }),
  fc.double({ min: -1e-37, max: 1e-37, noNaN: true }),
  fc.double({ min: 3.3e38, max: 3.5e38, noNaN: true }),
  fc.integer({ min: -160, max: 140 }).chain((e) => fc.integer({ min: -4096, max: 4096 }).map((m) => m * 2 ** (e - 12))),
);

describe("float16 codec", () => {
  it("decodes all 65536 patterns like the bit fields", () => {
    for (let bits = 0; bits < 65536; bits++) {
      const expected = decodeFields(bits, 10, 15);
      const actual = float16BitsToNumber(bits);
      if (Number.isNaN(expected)) expect(actual, `bits 0x${bits.toString(16)}`).toBeNaN();
      else expect(actual, `bits 0x${bits.toString(16)}`).toBe(expected);
    }
  });

  it("round-trips every non-NaN pattern", () => {
    for (let bits = 0; bits < 65536; bits++) {
      const value = float16BitsToNumber(bits);
      if (Number.isNaN(value)) continue;
      expect(numberToFloat16Bits(value), `bits 0x${bits.toString(16)}`).toBe(bits);
    }
  });

  it("encodes NaN as quiet NaN with its sign", () => {
    expect(numberToFloat16Bits(Number.NaN)).toBe(0x7e00);
    expect(numberToFloat16Bits(-Number.NaN)).toBe(0xfe00);
  });

  it("encodes the edges", () => {
    expect(numberToFloat16Bits(0)).toBe(0x0000);
    expect(numberToFloat16Bits(-0)).toBe(0x8000);
    expect(numberToFloat16Bits(65504)).toBe(0x7bff);
    // 65520 is halfway between 65504 (odd significand) and 65536, so it rounds up to infinity.
    expect(numberToFloat16Bits(65520)).toBe(0x7c00);
    expect(numberToFloat16Bits(65519.999)).toBe(0x7bff);
    expect(numberToFloat16Bits(-1e9)).toBe(0xfc00);
    // 2^-25 is halfway between 0 and the smallest subnormal 2^-24: ties to even gives 0.
    expect(numberToFloat16Bits(2 ** -25)).toBe(0x0000);
    expect(numberToFloat16Bits(-(2 ** -25))).toBe(0x8000);
    expect(numberToFloat16Bits(2 ** -25 * (1 + 2 ** -40))).toBe(0x0001);
    // 3·2^-25 is halfway between subnormals 1 and 2 (units of 2^-24): ties to even gives 2.
    expect(numberToFloat16Bits(3 * 2 ** -25)).toBe(0x0002);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even keeps 1.
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
});

describe("bfloat16 codec", () => {
  it("decodes all 65536 patterns like the bit fields", () => {
    for (let bits = 0; bits < 65536; bits++) {
      const expected = decodeFields(bits, 7, 127);
      const actual = bfloat16BitsToNumber(bits);
      if (Number.isNaN(expected)) expect(actual, `bits 0x${bits.toString(16)}`).toBeNaN();
      else expect(actual, `bits 0x${bits.toString(16)}`).toBe(expected);
    }
  });

  it("round-trips every non-NaN pattern", () => {
    for (let bits = 0; bits < 65536; bits++) {
      const value = bfloat16BitsToNumber(bits);
      if (Number.isNaN(value)) continue;
      expect(numberToBfloat16Bits(value), `bits 0x${bits.toString(16)}`).toBe(bits);
    }
  });

  it("encodes NaN and the edges", () => {
    expect(numberToBfloat16Bits(Number.NaN)).toBe(0x7fc0);
    expect(numberToBfloat16Bits(-Number.NaN)).toBe(0xffc0);
    expect(numberToBfloat16Bits(-0)).toBe(0x8000);
    expect(numberToBfloat16Bits(FORMAT_INFO.bfloat16.maxFinite)).toBe(0x7f7f);
    expect(numberToBfloat16Bits(FORMAT_INFO.bfloat16.overflowThreshold)).toBe(0x7f80);
    expect(numberToBfloat16Bits(-FORMAT_INFO.bfloat16.overflowThreshold)).toBe(0xff80);
    // A float64 just below the threshold is nearer to maxFinite.
    expect(numberToBfloat16Bits(FORMAT_INFO.bfloat16.overflowThreshold * (1 - 2 ** -52))).toBe(0x7f7f);
    // 1 + 2^-8 ties between 1 and 1 + 2^-7 and goes to the even significand 1.
    expect(numberToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    // Rounding float64 to float32 first would turn 1 + 2^-8 + 2^-40 into a tie; direct rounding goes up.
    expect(numberToBfloat16Bits(1 + 2 ** -8 + 2 ** -40)).toBe(0x3f81);
  });
});

describe("float32 codec", () => {
  it("round-trips sampled patterns", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const value = float32BitsToNumber(bits);
        if (Number.isNaN(value)) return;
        expect(numberToFloat32Bits(value)).toBe(bits);
      }),
      { numRuns: 20000 },
    );
  });

  it("encodes NaN with its sign and -0", () => {
    expect(numberToFloat32Bits(Number.NaN)).toBe(0x7fc00000);
    expect(numberToFloat32Bits(-Number.NaN)).toBe(0xffc00000);
    expect(numberToFloat32Bits(-0)).toBe(0x80000000);
    expect(numberToFloat32Bits(FORMAT_INFO.float32.overflowThreshold)).toBe(0x7f800000);
  });
});

describe("roundToDType", () => {
  it("matches the BigInt oracle on random doubles", () => {
    fc.assert(
      fc.property(interestingDouble, fc.constantFrom(...DTYPES), (value, dtype) => {
        if (value === 0) return;
        expect(roundToDType(value, dtype)).toBe(oracleRound(value, dtype));
      }),
      { numRuns: 30000 },
    );
  });

  it("matches the oracle at every tie and its neighbours", () => {
    // Midpoints m between adjacent float16 and bfloat16 values, and m ± one float64 step.
    for (const dtype of ["float16", "bfloat16"] as const) {
      const decode = dtype === "float16" ? float16BitsToNumber : bfloat16BitsToNumber;
      for (let bits = 0; bits < 0x7fff; bits += dtype === "float16" ? 1 : 3) {
        const low = decode(bits);
        const high = decode(bits + 1);
        if (!Number.isFinite(low) || !Number.isFinite(high)) continue;
        const midpoint = (low + high) / 2;
        for (const value of [midpoint, nextUp(midpoint), nextDown(midpoint), -midpoint]) {
          if (value === 0) continue;
          expect(roundToDType(value, dtype), `${dtype} ${value}`).toBe(oracleRound(value, dtype));
        }
      }
    }
  });

  it("rounds the overflow threshold to infinity", () => {
    for (const dtype of DTYPES) {
      const info = FORMAT_INFO[dtype];
      expect(roundToDType(info.overflowThreshold, dtype)).toBe(Infinity);
      expect(roundToDType(-info.overflowThreshold, dtype)).toBe(-Infinity);
      expect(roundToDType(nextDown(info.overflowThreshold), dtype)).toBe(info.maxFinite);
      expect(oracleRound(info.overflowThreshold, dtype)).toBe(Infinity);
    }
  });

  it("keeps signed zero, infinity and NaN", () => {
    for (const dtype of DTYPES) {
      expect(Object.is(roundToDType(-0, dtype), -0)).toBe(true);
      expect(Object.is(roundToDType(-1e-300, dtype), -0)).toBe(true);
      expect(Object.is(roundToDType(1e-300, dtype), 0)).toBe(true);
      expect(roundToDType(-Infinity, dtype)).toBe(-Infinity);
      expect(roundToDType(Number.NaN, dtype)).toBeNaN();
    }
  });
});

describe("roundSumToDType", () => {
  it("matches the oracle on hi + lo pairs", () => {
    fc.assert(
      fc.property(interestingDouble, fc.double({ min: -1, max: 1, noNaN: true }), fc.constantFrom(...DTYPES), (hi, fraction, dtype) => {
        // lo is at most a quarter of an ulp of hi, so hi = fl64(hi + lo) as the contract requires.
        const lo = fraction * ulp64(hi) * 0.25;
        if (hi === 0 || !Number.isFinite(lo)) return;
        const exact = exactOfDouble(hi) + exactOfDouble(lo);
        expect(roundSumToDType(hi, lo, dtype)).toBe(roundExact(exact, ORACLE_FORMATS[dtype]));
      }),
      { numRuns: 20000 },
    );
  });

  it("breaks a tie of hi by the sign of lo", () => {
    const tie = 1 + 2 ** -11;
    expect(roundSumToDType(tie, 2 ** -60, "float16")).toBe(1 + 2 ** -10);
    expect(roundSumToDType(tie, -(2 ** -60), "float16")).toBe(1);
    expect(roundSumToDType(tie, 0, "float16")).toBe(1);
    expect(roundSumToDType(-tie, -(2 ** -60), "float16")).toBe(-(1 + 2 ** -10));
  });

  it("pulls the overflow threshold back with a negative lo", () => {
    const info = FORMAT_INFO.float16;
    expect(roundSumToDType(info.overflowThreshold, -(2 ** -30), "float16")).toBe(info.maxFinite);
    expect(roundSumToDType(info.overflowThreshold, 2 ** -30, "float16")).toBe(Infinity);
    expect(roundSumToDType(-info.overflowThreshold, 2 ** -30, "float16")).toBe(-info.maxFinite);
  });

  it("breaks a tie at the bottom of the subnormals", () => {
    const half = FORMAT_INFO.float16.minSubnormal / 2;
    expect(roundSumToDType(half, 2 ** -90, "float16")).toBe(FORMAT_INFO.float16.minSubnormal);
    expect(roundSumToDType(half, -(2 ** -90), "float16")).toBe(0);
  });
});

describe("ulpOf", () => {
  it("gives the grid spacing per binade", () => {
    expect(ulpOf(1, "float32")).toBe(2 ** -23);
    expect(ulpOf(1.5, "float16")).toBe(2 ** -10);
    expect(ulpOf(-3, "bfloat16")).toBe(2 ** -6);
    expect(ulpOf(65504, "float16")).toBe(32);
    expect(ulpOf(1e6, "float16")).toBe(32);
    expect(ulpOf(0, "float16")).toBe(2 ** -24);
    expect(ulpOf(1e-6, "float16")).toBe(2 ** -24);
    expect(ulpOf(0, "bfloat16")).toBe(2 ** -133);
    expect(ulpOf(0, "float32")).toBe(2 ** -149);
    expect(ulpOf(Infinity, "float32")).toBeNaN();
  });

  it("equals the gap to the next value above", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7bfe }), (bits) => {
        const value = float16BitsToNumber(bits);
        expect(ulpOf(value, "float16")).toBe(float16BitsToNumber(bits + 1) - value);
      }),
    );
  });
});

describe("FORMAT_INFO", () => {
  it("lists the IEEE constants", () => {
    expect(FORMAT_INFO.float16).toMatchObject({ precision: 11, minNormalExponent: -14, maxExponent: 15, maxFinite: 65504, minSubnormal: 2 ** -24, unitRoundoff: 2 ** -11 });
    expect(FORMAT_INFO.bfloat16).toMatchObject({ precision: 8, minNormalExponent: -126, maxExponent: 127, minSubnormal: 2 ** -133, unitRoundoff: 2 ** -8 });
    expect(FORMAT_INFO.float32).toMatchObject({ precision: 24, minNormalExponent: -126, maxExponent: 127, minSubnormal: 2 ** -149, unitRoundoff: 2 ** -24 });
    expect(FORMAT_INFO.float32.maxFinite).toBe(float32BitsToNumber(0x7f7fffff));
    expect(FORMAT_INFO.bfloat16.maxFinite).toBe(bfloat16BitsToNumber(0x7f7f));
  });
});

describe("roundHalfToEven", () => {
  it("rounds like C rint", () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2], [2.4999, 2], [-0.4, -0], [3, 3], [2 ** 53, 2 ** 53],
    ];
    for (const [input, expected] of cases) expect(Object.is(roundHalfToEven(input), expected), `${input}`).toBe(true);
    expect(roundHalfToEven(Number.NaN)).toBeNaN();
    expect(roundHalfToEven(-Infinity)).toBe(-Infinity);
  });
});

function nextUp(value: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, value >= 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

function nextDown(value: number): number {
  return -nextUp(-value);
}

function ulp64(value: number): number {
  return Math.abs(nextUp(Math.abs(value)) - Math.abs(value));
}
