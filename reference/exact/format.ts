/**
 * Binary floating-point formats as the exact rounding uses them: precision and exponent range.
 * float32, float16 and bfloat16 are the output dtypes (SPEC.md §3.1); float64 is used for the
 * `exact` value the reference reports next to y.
 */
import type { FloatDType } from "../../spec/types.ts";

/** A binary format with subnormals: precision p (significand bits including the hidden one) and normal exponent range. */
export interface BinaryFormat {
  readonly name: string;
  readonly precision: number;
  /** Exponent of the smallest normal number (float32: -126). */
  readonly minExponent: number;
  /** Exponent of the largest finite binade (float32: 127). */
  readonly maxExponent: number;
}

/** The formats the reference rounds to. */
export const BINARY_FORMATS: Readonly<Record<FloatDType | "float64", BinaryFormat>> = {
  float64: { name: "float64", precision: 53, minExponent: -1022, maxExponent: 1023 },
  float32: { name: "float32", precision: 24, minExponent: -126, maxExponent: 127 },
  float16: { name: "float16", precision: 11, minExponent: -14, maxExponent: 15 },
  bfloat16: { name: "bfloat16", precision: 8, minExponent: -126, maxExponent: 127 },
};
