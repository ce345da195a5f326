/**
 * Error-free product of two float64 values (Dekker's algorithm with Veltkamp splitting).
 * `hi + lo` equals `a·b` exactly provided neither the product nor the split overflows and the low
 * part does not fall below the float64 subnormal range. The reference only multiplies values of
 * magnitude between 2^-600 and 2^600, where both conditions hold.
 */

const SPLITTER = 134217729; // 2^27 + 1

/** Receives the two halves of an exact product; reused to avoid allocation in hot loops. */
export interface ProductParts {
  hi: number;
  lo: number;
}

/** Writes `a·b = out.hi + out.lo` exactly into `out` (see the file comment for the range). */
export function twoProduct(a: number, b: number, out: ProductParts): void {
  const hi = a * b;

  let t = SPLITTER * a;
  const aHi = t - (t - a);
  const aLo = a - aHi;

  t = SPLITTER * b;
  const bHi = t - (t - b);
  const bLo = b - bHi;

  out.hi = hi;
  out.lo = aLo * bLo - (((hi - aHi * bHi) - aLo * bHi) - aHi * bLo);
}
