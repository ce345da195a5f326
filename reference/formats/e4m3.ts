/**
 * FP8 E4M3 as MLX decodes and encodes it (SPEC.md §3.4): 1 sign bit, 4 exponent bits with bias 7,
 * 3 mantissa bits. The encoder saturates at ±448, so it never produces the codes 0x7F and 0xFF.
 * Their decoding differs between MLX versions: the MLX source up to 0.32.2 decodes them to ±480,
 * while the pip release 0.32.4 decodes them to NaN as OCP E4M3FN does. The specification rejects
 * both codes in inputs (SPEC.md §3.6).
 */
import { powerOfTwo, roundHalfToEven, signBit } from "./float.ts";

/** Largest magnitude the encoder produces (code 0x7E). */
export const E4M3_MAX_ENCODED = 448;

/** The codes that OCP reserves for NaN (SPEC.md §3.6). */
export const E4M3_RESERVED_CODES: readonly number[] = [0x7f, 0xff];

function decodeE4m3(byte: number): number {
  const exponentField = (byte >>> 3) & 0xf;
  const mantissa = byte & 0x7;
  const magnitude = exponentField === 0 ? mantissa * powerOfTwo(-9) : (8 + mantissa) * powerOfTwo(exponentField - 10);
  return byte & 0x80 ? -magnitude : magnitude;
}

/** The value of every code 0..255. */
export const E4M3_VALUES: Float64Array = Float64Array.from({ length: 256 }, (_, byte) => decodeE4m3(byte));

/**
 * Decodes an E4M3 byte: exponent field 0 gives the subnormal m/8·2^-6, otherwise (1 + m/8)·2^(e-7).
 * Code 0x80 is -0.
 *
 * NOTE: the reserved codes 0x7F and 0xFF decode to ±480, the value of their bit fields and of the
 * MLX source up to 0.32.2. MLX 0.32.4 decodes them to NaN; {@link e4m3ToNumberMlxRelease} does that.
 */
export function e4m3ToNumber(byte: number): number {
  return E4M3_VALUES[byte & 0xff];
}

/** Decodes an E4M3 byte as MLX 0.32.4 (pip, CPU) does: like {@link e4m3ToNumber}, but 0x7F and 0xFF are NaN. */
export function e4m3ToNumberMlxRelease(byte: number): number {
  return (byte & 0x7f) === 0x7f ? Number.NaN : E4M3_VALUES[byte & 0xff];
}

/**
 * Encodes a number as E4M3 the way MLX's CPU `ToFP8` does. The input is first rounded to float32,
 * because MLX converts its operand to float. Then |x| ≥ 448 saturates to code 0x7E with the input's
 * sign (this covers ±infinity and NaN, which keeps the sign bit of the NaN), |x| < 2^-6 rounds to a
 * multiple of 2^-9 with ties to even, and larger values round to 3 mantissa bits with ties to even.
 * A value that rounds to zero keeps its sign, so -1e-9 gives 0x80.
 */
export function numberToE4m3(value: number): number {
  const single = Math.fround(value);
  const sign = signBit(single) ? 0x80 : 0;
  const magnitude = Math.abs(single);

  if (Number.isNaN(single) || magnitude >= E4M3_MAX_ENCODED) return sign | 0x7e;

  if (magnitude < powerOfTwo(-6)) {
    // Subnormal range: a count of 2^-9 units. A count of 8 is code 0x08, the smallest normal 2^-6.
    return sign | roundHalfToEven(magnitude * 512);
  }

  // Normal range: the significand in units of 2^(e-3) is an integer in [8, 16] after rounding. A
  // result of 16 carries into the next binade, which the packed form below absorbs.
  let exponent = Math.floor(Math.log2(magnitude));
  if (powerOfTwo(exponent) > magnitude) exponent -= 1;
  if (powerOfTwo(exponent + 1) <= magnitude) exponent += 1;
  const significand = roundHalfToEven(magnitude / powerOfTwo(exponent - 3));

  return sign | (((exponent + 7) << 3) + (significand - 8));
}
