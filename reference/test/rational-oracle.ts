/**
 * A deliberately simple exact oracle for tests: values are BigInt multiples of 2^-SCALE, sums are
 * BigInt additions, and rounding divides by the quantum. It shares no code with the reference.
 */

/** Every value the tests build is an integer multiple of 2^-SCALE (products of two float64 values need 2148 bits). */
export const SCALE = 2400;

/** A binary format for the oracle's rounding: precision and normal exponent range. */
export interface OracleFormat {
  readonly precision: number;
  readonly minExponent: number;
  readonly maxExponent: number;
}

export const ORACLE_FORMATS = {
  float64: { precision: 53, minExponent: -1022, maxExponent: 1023 },
  float32: { precision: 24, minExponent: -126, maxExponent: 127 },
  float16: { precision: 11, minExponent: -14, maxExponent: 15 },
  bfloat16: { precision: 8, minExponent: -126, maxExponent: 127 },
} as const satisfies Record<string, OracleFormat>;

/** Returns the exact value of a finite float64 as a multiple of 2^-SCALE, decoded from its bit fields. */
export function exactOfDouble(value: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const exponentField = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  if (exponentField === 0x7ff) throw new Error(`exactOfDouble: ${value} is not finite`);

  const significand = exponentField === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (exponentField === 0 ? 1 : exponentField) - 1075;
  const magnitude = significand << BigInt(exponent + SCALE);
  return negative ? -magnitude : magnitude;
}

/** Returns the exact value m·2^e as a multiple of 2^-SCALE. */
export function exactOfScaled(mantissa: bigint, exponent: number): bigint {
  const shift = exponent + SCALE;
  if (shift < 0) throw new Error("exactOfScaled: below the oracle's resolution");
  return mantissa << BigInt(shift);
}

/** Multiplies two oracle values (each a multiple of 2^-SCALE), returning a multiple of 2^-SCALE; exact only when the product lies on that grid. */
export function multiplyExact(a: bigint, b: bigint): bigint {
  const product = a * b;
  const unit = 1n << BigInt(SCALE);
  if (product % unit !== 0n) throw new Error("multiplyExact: product below the oracle's resolution");
  return product / unit;
}

/** Rounds an oracle value to `format` with round-to-nearest-even and overflow to ±inf. */
export function roundExact(value: bigint, format: OracleFormat): number {
  if (value === 0n) return 0;

  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const leadExponent = magnitude.toString(2).length - 1 - SCALE;
  const quantumExponent = Math.max(leadExponent, format.minExponent) - (format.precision - 1);
  const quantum = 1n << BigInt(quantumExponent + SCALE);

  let units = magnitude / quantum;
  const twiceRemainder = 2n * (magnitude % quantum);
  if (twiceRemainder > quantum || (twiceRemainder === quantum && units % 2n === 1n)) units += 1n;

  const largest = (2n ** BigInt(format.precision) - 1n) << BigInt(format.maxExponent - format.precision + 1 + SCALE);
  const rounded = units * quantum;
  const result = rounded > largest ? Infinity : Number(units) * 2 ** quantumExponent;
  return negative ? -result : result;
}
