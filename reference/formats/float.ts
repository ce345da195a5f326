/**
 * Binary floating-point formats of SPEC.md §3.1 (float32, float16, bfloat16): bit-pattern codecs and
 * correctly rounded conversion from float64 (round to nearest, ties to even, overflow to ±infinity,
 * subnormals kept). Every rounding here goes from the float64 value straight to the target format,
 * so no value is rounded twice.
 */
import { pow2 } from "../exact/pow2.ts";
import type { FloatDType } from "../../spec/types.ts";

/** Constants of one binary floating-point format. */
export interface FloatFormatInfo {
  /** Significand bits including the hidden bit: 24 (float32), 11 (float16), 8 (bfloat16). */
  readonly precision: number;
  /** Exponent of the smallest normal number, e.g. -14 for float16. */
  readonly minNormalExponent: number;
  /** Exponent of the largest finite number, e.g. 15 for float16. */
  readonly maxExponent: number;
  /** Largest finite value. */
  readonly maxFinite: number;
  /** Smallest positive normal value, 2^minNormalExponent. */
  readonly minNormal: number;
  /** Smallest positive subnormal value. */
  readonly minSubnormal: number;
  /** Unit roundoff u = 2^-precision: the largest relative error of one round-to-nearest. */
  readonly unitRoundoff: number;
  /**
   * Smallest magnitude that rounds to infinity: maxFinite plus half its spacing. The largest finite
   * significand is odd, so a value exactly at this threshold also rounds up to infinity.
   */
  readonly overflowThreshold: number;
}

/** Returns 2^exponent exactly for an integer exponent in [-1074, 1023]; 0 below and Infinity above. */
export function powerOfTwo(exponent: number): number {
  return pow2(exponent);
}

function makeInfo(precision: number, minNormalExponent: number, maxExponent: number): FloatFormatInfo {
  const top = powerOfTwo(maxExponent);

  return {
    precision,
    minNormalExponent,
    maxExponent,
    maxFinite: top * (2 - powerOfTwo(1 - precision)),
    minNormal: powerOfTwo(minNormalExponent),
    minSubnormal: powerOfTwo(minNormalExponent - precision + 1),
    unitRoundoff: powerOfTwo(-precision),
    overflowThreshold: top * (2 - powerOfTwo(-precision)),
  };
}

/** Constants of float32, float16 and bfloat16. */
export const FORMAT_INFO: Readonly<Record<FloatDType, FloatFormatInfo>> = {
  float32: makeInfo(24, -126, 127),
  float16: makeInfo(11, -14, 15),
  bfloat16: makeInfo(8, -126, 127),
};

const float64Scratch = new Float64Array(1);
const float64Words = new Uint32Array(float64Scratch.buffer);
const float32Scratch = new Float32Array(1);
const float32Word = new Uint32Array(float32Scratch.buffer);

/** True on little-endian hosts, where the high word of a float64 is word 1 of its two uint32 words. */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Returns true when the sign bit of `value` is set, including for -0 and negative NaN payloads. */
export function signBit(value: number): boolean {
  float64Scratch[0] = value;
  return (float64Words[HIGH_WORD] & 0x80000000) !== 0;
}

/**
 * Returns floor(log2(magnitude)) for a positive finite float64, read from its exponent field.
 * Subnormal float64 inputs return -1023, which is below every exponent the formats here use.
 */
function binaryExponent(magnitude: number): number {
  float64Scratch[0] = magnitude;
  const biased = (float64Words[HIGH_WORD] >>> 20) & 0x7ff;
  return biased === 0 ? -1023 : biased - 1023;
}

/**
 * Rounds a float64 to the nearest integer, ties to even, as C's `rint` does in the default rounding
 * mode. Negative inputs that round to zero give -0; NaN and ±infinity are returned unchanged.
 */
export function roundHalfToEven(value: number): number {
  if (!Number.isFinite(value)) return value;

  const floor = Math.floor(value);
  const fraction = value - floor;
  let rounded = floor;
  if (fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0)) rounded = floor + 1;

  return rounded === 0 && value < 0 ? -0 : rounded;
}

function roundToFormat(value: number, info: FloatFormatInfo): number {
  if (value === 0 || !Number.isFinite(value)) return value;

  const magnitude = Math.abs(value);
  if (magnitude >= info.overflowThreshold) return value < 0 ? -Infinity : Infinity;

  // The grid spacing is 2^(e - precision + 1), with e clamped at the subnormal range. Dividing by a
  // power of two is exact here, so the only rounding is the explicit ties-to-even step.
  const exponent = Math.max(binaryExponent(magnitude), info.minNormalExponent);
  const spacing = powerOfTwo(exponent - info.precision + 1);
  const rounded = roundHalfToEven(magnitude / spacing) * spacing;

  return value < 0 ? -rounded : rounded;
}

/**
 * Rounds a float64 to the nearest value of `dtype` (ties to even), returned as a float64.
 * Magnitudes at or above the overflow threshold give ±infinity, tiny values keep their sign as ±0,
 * and NaN stays NaN.
 */
export function roundToDType(value: number, dtype: FloatDType): number {
  if (dtype === "float32") return Math.fround(value);
  return roundToFormat(value, FORMAT_INFO[dtype]);
}

/**
 * Rounds the exact sum hi + lo once to `dtype`, for a pair with hi = fl64(hi + lo) such as the output
 * of TwoSum. Rounding hi alone would be a double rounding: when hi lies exactly halfway between two
 * neighbours in `dtype`, the sign of lo decides the direction.
 */
export function roundSumToDType(hi: number, lo: number, dtype: FloatDType): number {
  const rounded = roundToDType(hi, dtype);
  if (lo === 0 || Number.isNaN(rounded)) return rounded;

  const info = FORMAT_INFO[dtype];
  if (!Number.isFinite(rounded)) {
    // hi exactly at the overflow threshold rounds to infinity; a lo of the opposite sign pulls the
    // exact sum below it, and then the nearest value is maxFinite.
    const atThreshold = Math.abs(hi) === info.overflowThreshold;
    const towardZero = hi > 0 ? lo < 0 : lo > 0;
    if (atThreshold && towardZero) return hi > 0 ? info.maxFinite : -info.maxFinite;
    return rounded;
  }

  const offset = hi - rounded;
  if (offset === 0) return rounded;

  // hi is a tie exactly when it sits half a grid spacing away from its rounded value. The spacing
  // at |hi| is the gap between the two neighbours, also when the upper one is a power of two.
  const isTie = 2 * Math.abs(offset) === ulpOf(hi, dtype);
  if (!isTie) return rounded;

  const loPointsToOther = offset > 0 ? lo > 0 : lo < 0;
  return loPointsToOther ? rounded + 2 * offset : rounded;
}

/**
 * Returns the spacing of the `dtype` grid at |value|: the distance from |value|'s binade start to the
 * next representable number, 2^(max(e, minNormalExponent) - precision + 1) with e = floor(log2|value|).
 * Zero and subnormal magnitudes give minSubnormal, magnitudes beyond maxFinite give the spacing of
 * the top binade, and NaN or ±infinity give NaN.
 */
export function ulpOf(value: number, dtype: FloatDType): number {
  if (!Number.isFinite(value)) return Number.NaN;

  const info = FORMAT_INFO[dtype];
  const magnitude = Math.abs(value);
  const exponent = magnitude === 0 ? info.minNormalExponent : binaryExponent(magnitude);
  const clamped = Math.min(Math.max(exponent, info.minNormalExponent), info.maxExponent);

  return powerOfTwo(clamped - info.precision + 1);
}

/** Layout of a 16-bit format: exponent field width and bias. */
interface HalfLayout {
  readonly info: FloatFormatInfo;
  readonly mantissaBits: number;
  readonly bias: number;
  readonly quietNaN: number;
}

const FLOAT16_LAYOUT: HalfLayout = { info: FORMAT_INFO.float16, mantissaBits: 10, bias: 15, quietNaN: 0x7e00 };
const BFLOAT16_LAYOUT: HalfLayout = { info: FORMAT_INFO.bfloat16, mantissaBits: 7, bias: 127, quietNaN: 0x7fc0 };

function encodeHalf(value: number, layout: HalfLayout): number {
  const sign = signBit(value) ? 0x8000 : 0;
  if (Number.isNaN(value)) return sign | layout.quietNaN;

  const magnitude = Math.abs(roundToFormat(value, layout.info));
  const exponentField = 0x7fff & ~((1 << layout.mantissaBits) - 1);
  if (magnitude === Infinity) return sign | exponentField;

  if (magnitude < layout.info.minNormal) {
    return sign | (magnitude / layout.info.minSubnormal);
  }

  const exponent = binaryExponent(magnitude);
  const fraction = magnitude / powerOfTwo(exponent) - 1;
  const mantissa = fraction * (1 << layout.mantissaBits);

  return sign | ((exponent + layout.bias) << layout.mantissaBits) | mantissa;
}

let float16Table: Float64Array | null = null;

function buildFloat16Table(): Float64Array {
  const table = new Float64Array(65536);
  const subnormalUnit = FORMAT_INFO.float16.minSubnormal;

  for (let bits = 0; bits < 65536; bits++) {
    const exponentField = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    let magnitude: number;
    if (exponentField === 0) magnitude = mantissa * subnormalUnit;
    else if (exponentField === 0x1f) magnitude = mantissa === 0 ? Infinity : Number.NaN;
    else magnitude = (1024 + mantissa) * powerOfTwo(exponentField - 25);
    table[bits] = bits & 0x8000 ? -magnitude : magnitude;
  }

  return table;
}

/** Returns the float16 value of every bit pattern 0..65535, as a shared table built on first use. */
export function float16DecodeTable(): Float64Array {
  float16Table ??= buildFloat16Table();
  return float16Table;
}

/** Decodes a float16 bit pattern (low 16 bits of `bits`). NaN patterns give NaN. */
export function float16BitsToNumber(bits: number): number {
  return float16DecodeTable()[bits & 0xffff];
}

/** Encodes a float64 as float16 bits, rounding to nearest even; NaN gives 0x7e00 with the NaN's sign bit. */
export function numberToFloat16Bits(value: number): number {
  return encodeHalf(value, FLOAT16_LAYOUT);
}

/** Decodes a bfloat16 bit pattern (low 16 bits of `bits`): the top half of a float32. */
export function bfloat16BitsToNumber(bits: number): number {
  float32Word[0] = (bits & 0xffff) << 16;
  return float32Scratch[0];
}

/** Encodes a float64 as bfloat16 bits, rounding to nearest even; NaN gives 0x7fc0 with the NaN's sign bit. */
export function numberToBfloat16Bits(value: number): number {
  return encodeHalf(value, BFLOAT16_LAYOUT);
}

/** Decodes a float32 bit pattern given as an unsigned 32-bit integer. */
export function float32BitsToNumber(bits: number): number {
  float32Word[0] = bits >>> 0;
  return float32Scratch[0];
}

/** Encodes a float64 as float32 bits, rounding to nearest even; NaN gives 0x7fc00000 with the NaN's sign bit. */
export function numberToFloat32Bits(value: number): number {
  if (Number.isNaN(value)) return (signBit(value) ? 0xffc00000 : 0x7fc00000) >>> 0;

  float32Scratch[0] = value;
  return float32Word[0];
}
