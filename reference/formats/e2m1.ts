/**
 * FP4 E2M1 elements of mxfp4 and nvfp4 (SPEC.md §3.3): bit 3 is the sign, bits 0..2 index the
 * magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6.
 */
import type { FloatDType } from "../../spec/types.ts";
import { roundToDType } from "./float.ts";

/** The value of each code 0..15. Code 8 is -0. */
export const E2M1_VALUES: readonly number[] = Object.freeze([
  0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6,
]);

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
 * tie; for example a float32 value of 2^30 is equally far from every table value, and gives code 0.
 */
export function numberToE2m1(value: number, distanceDType?: FloatDType): number {
  // In exact arithmetic every value beyond ±6 is nearest to ±6; the float64 differences used below
  // would lose that for huge values, so those are settled first.
  if (distanceDType === undefined && value > 6 && value !== Infinity) return 7;
  if (distanceDType === undefined && value < -6 && value !== -Infinity) return 15;

  let bestCode = 0;
  let bestDistance = distanceTo(value, 0, distanceDType);

  for (let code = 1; code < 16; code++) {
    const distance = distanceTo(value, code, distanceDType);
    if (distance < bestDistance) {
      bestDistance = distance;
      bestCode = code;
    }
  }

  return bestCode;
}

function distanceTo(value: number, code: number, distanceDType: FloatDType | undefined): number {
  const difference = value - E2M1_VALUES[code];
  return Math.abs(distanceDType === undefined ? difference : roundToDType(difference, distanceDType));
}
