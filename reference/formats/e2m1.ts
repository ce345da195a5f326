/**
 * FP4 E2M1 elements of mxfp4 and nvfp4 (SPEC.md §3.3): bit 3 is the sign, bits 0..2 index the
 * magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6.
 */
import type { FloatDType } from "../../spec/types.ts";
import { FORMAT_INFO, roundToDType } from "./float.ts";

/** The value of each code 0..15. Code 8 is -0. */
export const E2M1_VALUES: readonly number[] = Object.freeze([
  0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6,
]);

/** The same values in a typed array, for the encoder's inner loop. */
const TABLE = Float64Array.from(E2M1_VALUES);

/** Decodes a 4-bit E2M1 code; only the low 4 bits of `code` are read. */
export function e2m1ToNumber(code: number): number {
  return E2M1_VALUES[code & 0xf];
}

/**
 * Encodes a number as E2M1 the way MLX's CPU quantize fallback does: the code whose table value is
 * nearest, found as the first minimum of |value - table[code]| over codes 0..15 (a strict `<` scan).
 * So ties go to the lower code (0.75 gives 0.5, -0.25 gives +0), magnitudes beyond 6 give ±6, and
 * NaN or ±infinity give code 0 because every distance is NaN or infinite.
 *
 * With `distanceDType`, each difference value - table[code] is rounded to that dtype before the
 * comparison, as MLX computes it in the array's dtype. Rounding can turn distinct distances into a
 * tie. For example, a float32 value of 2^30 is equally far from every table value, so it gives code 0.
 */
export function numberToE2m1(value: number, distanceDType?: FloatDType): number {
  const bestCode = nearestCode(value);
  if (distanceDType === undefined || bestCode === 0) return bestCode;

  // Rounding is monotonic, so no rounded distance falls below the winner's. It can only create a
  // tie, and a tie with a lower code hands the first-minimum scan to that code. Only codes whose
  // float64 distance lies within one ulp of the winner's rounded distance are rounded and compared.
  const target = Math.abs(roundToDType(value - TABLE[bestCode], distanceDType));
  const info = FORMAT_INFO[distanceDType];
  // At least one ulp of target, without reading its exponent: 2^(1-p)·target covers normal
  // numbers and minSubnormal covers the rest.
  const margin = Math.max(target * 2 * info.unitRoundoff, info.minSubnormal);
  for (let code = 0; code < bestCode; code++) {
    const distance = Math.abs(value - TABLE[code]);
    if (distance - target > margin) continue;
    if (Math.abs(roundToDType(value - TABLE[code], distanceDType)) === target) return code;
  }

  return bestCode;
}

/** Upper bounds of the magnitude buckets of codes 0..6: the midpoints between table values. */
const MIDPOINTS = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5];

/**
 * Returns the first minimum of the exact distances: the nearest magnitude with ties to the smaller
 * one, then the sign. Near zero +0 (code 0) wins over -0 (code 8), and NaN or ±infinity give 0.
 */
function nearestCode(value: number): number {
  if (!Number.isFinite(value)) return 0;

  const magnitude = Math.abs(value);
  let index = 0;
  while (index < MIDPOINTS.length && magnitude > MIDPOINTS[index]) index++;

  if (index === 0 || value > 0) return index;
  return index + 8;
}
