/** Exact powers of two as float64, for every exponent a float64 can hold (2^-1074 to 2^1023). */

const MIN_EXPONENT = -1074;
const MAX_EXPONENT = 1023;
const TABLE = new Float64Array(MAX_EXPONENT - MIN_EXPONENT + 1);

TABLE[0] = 5e-324;
for (let i = 1; i < TABLE.length; i++) TABLE[i] = TABLE[i - 1] * 2;

/** Returns 2^e exactly; 0 below 2^-1074 and Infinity above 2^1023. */
export function pow2(e: number): number {
  if (e < MIN_EXPONENT) return 0;
  if (e > MAX_EXPONENT) return Infinity;
  return TABLE[e - MIN_EXPONENT];
}
