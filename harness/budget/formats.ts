/**
 * Properties of the binary floating-point formats that error budgets are built from: unit
 * roundoff u, the absolute error η of one rounding in the subnormal range, the ulp at a magnitude,
 * the largest finite value and the overflow threshold (spec/NUMERICS.md).
 */
import type { FloatDType } from "../../spec/types.ts";

/** A format an implementation can round to. `exact` never rounds. */
export type BudgetFormat = FloatDType | "float64" | "exact";

/** The parameters of one IEEE 754 binary format with subnormals. */
export interface FormatTraits {
  readonly name: BudgetFormat;
  /** Significand bits including the hidden bit (float32: 24). */
  readonly precision: number;
  /** Exponent of the smallest normal number (float32: −126). */
  readonly minExponent: number;
  /** Exponent of the largest finite binade (float32: 127). */
  readonly maxExponent: number;
  /** u = 2^−precision: the relative error bound of one round-to-nearest in the normal range. */
  readonly unitRoundoff: number;
  /**
   * η: the absolute error bound of one round-to-nearest in the subnormal range, half the smallest
   * subnormal. For float64 this is 2^−1075, which is not a float64 number, so the smallest
   * subnormal 2^−1074 is used instead (a bound stays a bound when it grows).
   */
  readonly subnormalError: number;
  /** The largest finite value, (2 − 2^(1−p))·2^maxExponent. */
  readonly maxFinite: number;
  /** The magnitude from which round-to-nearest-even gives ±inf: (2 − 2^−p)·2^maxExponent. */
  readonly overflowThreshold: number;
}

function traits(name: Exclude<BudgetFormat, "exact">, precision: number, minExponent: number, maxExponent: number): FormatTraits {
  const top = 2 ** maxExponent;
  return {
    name,
    precision,
    minExponent,
    maxExponent,
    unitRoundoff: 2 ** -precision,
    subnormalError: Math.max(2 ** (minExponent - precision), Number.MIN_VALUE),
    maxFinite: (2 - 2 ** (1 - precision)) * top,
    overflowThreshold: name === "float64" ? Infinity : (2 - 2 ** -precision) * top,
  };
}

/** The rounding formats by name. */
export const FORMATS: Readonly<Record<Exclude<BudgetFormat, "exact">, FormatTraits>> = {
  float64: traits("float64", 53, -1022, 1023),
  float32: traits("float32", 24, -126, 127),
  float16: traits("float16", 11, -14, 15),
  bfloat16: traits("bfloat16", 8, -126, 127),
};

/** Returns u(format): 2^−53, 2^−24, 2^−11, 2^−8, and 0 for `exact`. */
export function unitRoundoff(format: BudgetFormat): number {
  return format === "exact" ? 0 : FORMATS[format].unitRoundoff;
}

/** Returns η(format), half the smallest subnormal (0 for `exact`). */
export function subnormalError(format: BudgetFormat): number {
  return format === "exact" ? 0 : FORMATS[format].subnormalError;
}

/** Returns the largest finite value of a format (Infinity for `exact`, which cannot overflow). */
export function maxFinite(format: BudgetFormat): number {
  return format === "exact" ? Infinity : FORMATS[format].maxFinite;
}

/**
 * Returns γ_n(u), a bound on the relative error of a chain of n roundings: |Π(1 + δ_i) − 1| ≤ γ_n
 * for |δ_i| ≤ u. Below n·u = 1/2 it is Higham's n·u/(1 − n·u) (Accuracy and Stability of Numerical
 * Algorithms, 2nd ed., Lemma 3.1). From there on it is (1 + u)^n − 1, which holds for any n because
 * every factor multiplies and none divides; Higham's form would reach infinity at n·u = 1. The
 * float64 evaluation of (1 + u)^n − 1 is padded by 1 + 2^-30 for the rounding of log1p and expm1.
 */
export function gamma(n: number, u: number): number {
  const nu = n * u;
  if (nu < 0.5) return nu / (1 - nu);
  return Math.expm1(n * Math.log1p(u)) * (1 + 2 ** -30);
}

const exponentView = new DataView(new ArrayBuffer(8));

/** Returns floor(log2(|value|)) exactly for a finite non-zero float64 value, read from its bits. */
export function binaryExponent(value: number): number {
  exponentView.setFloat64(0, Math.abs(value));
  const biased = (exponentView.getUint16(0) >>> 4) & 0x7ff;
  if (biased !== 0) return biased - 1023;

  // A float64 subnormal: scale it into the normal range first.
  return binaryExponent(Math.abs(value) * 2 ** 64) - 64;
}

/**
 * Returns ulp(format, magnitude): the spacing of the format's numbers in the binade of
 * `magnitude`. Below the normal range it is the subnormal spacing, and above the largest finite
 * binade (including Infinity) it is the spacing of that binade.
 */
export function ulp(format: Exclude<BudgetFormat, "exact">, magnitude: number): number {
  const { precision, minExponent, maxExponent } = FORMATS[format];
  const m = Math.abs(magnitude);

  let exponent: number;
  if (m === 0 || Number.isNaN(m)) exponent = minExponent;
  else if (m === Infinity) exponent = maxExponent;
  else exponent = Math.min(maxExponent, Math.max(minExponent, binaryExponent(m)));

  return 2 ** (exponent - precision + 1);
}
