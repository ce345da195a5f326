import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ExactAccumulator } from "../exact/accumulator.ts";
import { BINARY_FORMATS } from "../exact/format.ts";
import { ORACLE_FORMATS, exactOfDouble, roundExact } from "./rational-oracle.ts";

const FORMAT_NAMES = ["float64", "float32", "float16", "bfloat16"] as const;

function sumAndRound(values: readonly number[], format: (typeof FORMAT_NAMES)[number]): number {
  const accumulator = new ExactAccumulator();
  for (const value of values) accumulator.add(value);
  return accumulator.round(BINARY_FORMATS[format]);
}

function oracle(values: readonly number[], format: (typeof FORMAT_NAMES)[number]): number {
  let sum = 0n;
  for (const value of values) sum += exactOfDouble(value);
  return roundExact(sum, ORACLE_FORMATS[format]);
}

/** Doubles across the whole range, weighted towards the hard spots: subnormals, huge values, powers of two. */
const anyFiniteDouble = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1074, max: 1023 }).chain((e) => fc.integer({ min: -8, max: 8 }).map((m) => m * 2 ** e)).filter(Number.isFinite),
  fc.double({ min: -1e-300, max: 1e-300, noNaN: true }),
  fc.double({ min: -70000, max: 70000, noNaN: true }),
);

describe("ExactAccumulator against the BigInt oracle", () => {
  it("matches for random doubles in every format", () => {
    fc.assert(
      fc.property(fc.array(anyFiniteDouble, { maxLength: 40 }), fc.constantFrom(...FORMAT_NAMES), (values, format) => {
        expect(sumAndRound(values, format)).toBe(oracle(values, format));
      }),
      { numRuns: 3000 },
    );
  });

  it("matches under heavy cancellation", () => {
    fc.assert(
      fc.property(fc.array(anyFiniteDouble, { minLength: 1, maxLength: 20 }), fc.array(fc.double({ min: -1e-10, max: 1e-10, noNaN: true }), { maxLength: 5 }), fc.constantFrom(...FORMAT_NAMES), (values, tail, format) => {
        const cancelling = [...values, ...values.map((value) => -value), ...tail];
        expect(sumAndRound(cancelling, format)).toBe(oracle(cancelling, format));
      }),
      { numRuns: 1000 },
    );
  });

  it("matches at exact ties of each format", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORMAT_NAMES), fc.integer({ min: 1, max: 2 ** 20 }), fc.integer({ min: -30, max: 30 }), fc.boolean(), (format, units, exponent, nudge) => {
        const precision = ORACLE_FORMATS[format].precision;
        const base = units * 2 ** exponent;
        const halfUlp = 2 ** (Math.floor(Math.log2(base)) - precision);
        const values = nudge ? [base, halfUlp, 2 ** -1000] : [base, halfUlp];
        expect(sumAndRound(values, format)).toBe(oracle(values, format));
      }),
      { numRuns: 2000 },
    );
  });

  it("survives more adds than the carry interval", () => {
    const accumulator = new ExactAccumulator();
    const count = (1 << 20) * 2 + 17;
    for (let i = 0; i < count; i++) accumulator.add(2 ** 1000);
    for (let i = 0; i < count; i++) accumulator.add(-(2 ** 1000));
    accumulator.add(3 * 2 ** -1074);
    expect(accumulator.round(BINARY_FORMATS.float64)).toBe(3 * 2 ** -1074);
  });
});

describe("ExactAccumulator hand-computed values", () => {
  it("breaks a float64 tie only with a sticky bit", () => {
    expect(sumAndRound([1, 2 ** -53], "float64")).toBe(1);
    expect(sumAndRound([1, 2 ** -53, 2 ** -1074], "float64")).toBe(1 + 2 ** -52);
    expect(sumAndRound([1 + 2 ** -52, 2 ** -53], "float64")).toBe(1 + 2 ** -51);
  });

  it("rounds the exact sum, not a float64 sum, to float32", () => {
    // 1 + 2^-24 + 2^-80: float64 addition drops 2^-80 and leaves a tie that goes to 1; the exact sum is above the tie.
    expect(sumAndRound([1, 2 ** -24, 2 ** -80], "float32")).toBe(1 + 2 ** -23);
    expect(sumAndRound([1, 2 ** -24], "float32")).toBe(1);
  });

  it("overflows float16 at the rounding threshold 65520", () => {
    expect(sumAndRound([65504, 15.99], "float16")).toBe(65504);
    expect(sumAndRound([65504, 16], "float16")).toBe(Infinity);
    expect(sumAndRound([-65504, -16], "float16")).toBe(-Infinity);
  });

  it("keeps subnormal results", () => {
    expect(sumAndRound([2 ** -24, 2 ** -26], "float16")).toBe(2 ** -24);
    expect(sumAndRound([2 ** -24, 2 ** -25], "float16")).toBe(2 ** -23);
    expect(sumAndRound([2 ** -149, -(2 ** -150)], "float32")).toBe(0);
    expect(sumAndRound([2 ** -133, 2 ** -135], "bfloat16")).toBe(2 ** -133);
  });

  it("gives +0 for an exact zero and records non-finite values", () => {
    const accumulator = new ExactAccumulator();
    accumulator.add(-0);
    accumulator.add(5);
    accumulator.add(-5);
    accumulator.add(-Infinity);
    accumulator.add(NaN);
    expect(Object.is(accumulator.round(), 0)).toBe(true);
    expect(accumulator.nonFiniteSeen).toEqual({ nan: true, positiveInfinity: false, negativeInfinity: true });
  });

  it("adds exact products", () => {
    const accumulator = new ExactAccumulator();
    accumulator.addProduct(1 + 2 ** -30, 1 + 2 ** -30);
    accumulator.add(-1);
    accumulator.add(-(2 ** -29));
    expect(accumulator.round()).toBe(2 ** -60);
  });
});
