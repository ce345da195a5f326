/**
 * An exact accumulator for float64 values (a Kulisch-style fixed-point superaccumulator).
 *
 * The sum is held as a signed fixed-point integer in 32-bit limbs; limb j carries weight
 * 2^(32·j − 1074), so every finite float64 lands on whole bits. Limbs are float64 values holding
 * integers, which lets an add touch three limbs without carrying: each add changes a limb by less
 * than 2^32, and carries are propagated every 2^20 adds, long before a limb could pass 2^53.
 * Nothing is rounded until {@link ExactAccumulator.round} rounds the exact sum once.
 */
import { BINARY_FORMATS, type BinaryFormat } from "./format.ts";
import { pow2 } from "./pow2.ts";
import { twoProduct, type ProductParts } from "./two-product.ts";

const LIMB_BASE = 4294967296;
/** 72 limbs = 2304 bits: the float64 range (2^-1074 to 2^1024) plus headroom for 2^200 carries. */
const LIMB_COUNT = 72;
const ADDS_BETWEEN_CARRIES = 1 << 20;

const scratchFloat = new Float64Array(1);
const scratchWords = new Uint32Array(scratchFloat.buffer);
const product: ProductParts = { hi: 0, lo: 0 };

scratchFloat[0] = 1;
if (scratchWords[1] !== 0x3ff00000) {
  throw new Error("The exact accumulator reads float64 words in little-endian order; this platform is big-endian.");
}

/** Which non-finite values reached {@link ExactAccumulator.add}. */
export interface NonFiniteSeen {
  nan: boolean;
  positiveInfinity: boolean;
  negativeInfinity: boolean;
}

/** Exact sum of float64 values, rounded once on request. Reusable through {@link ExactAccumulator.reset}. */
export class ExactAccumulator {
  private readonly limbs = new Float64Array(LIMB_COUNT);
  private readonly work = new Float64Array(LIMB_COUNT);
  private addsSinceCarry = 0;
  private readonly nonFinite: NonFiniteSeen = { nan: false, positiveInfinity: false, negativeInfinity: false };

  /** Clears the sum. */
  reset(): void {
    this.limbs.fill(0);
    this.addsSinceCarry = 0;
    this.nonFinite.nan = false;
    this.nonFinite.positiveInfinity = false;
    this.nonFinite.negativeInfinity = false;
  }

  /** Adds `value` exactly. NaN and infinities are recorded and left out of the finite sum. */
  add(value: number): void {
    if (value === 0) return;

    scratchFloat[0] = value;
    const low = scratchWords[0];
    const high = scratchWords[1];
    let biasedExponent = (high >>> 20) & 0x7ff;
    let mantissaHigh = high & 0xfffff;

    if (biasedExponent === 0x7ff) {
      this.recordNonFinite(value);
      return;
    }
    if (biasedExponent === 0) biasedExponent = 1;
    else mantissaHigh |= 0x100000;

    // The mantissa's lowest bit has weight 2^(biasedExponent − 1075), i.e. bit (biasedExponent − 1) of the fixed-point integer.
    const bit = biasedExponent - 1;
    const index = bit >>> 5;
    const shift = bit & 31;

    let part0: number;
    let part1: number;
    let part2: number;
    if (shift === 0) {
      part0 = low;
      part1 = mantissaHigh;
      part2 = 0;
    } else {
      part0 = (low << shift) >>> 0;
      part1 = ((mantissaHigh << shift) | (low >>> (32 - shift))) >>> 0;
      part2 = mantissaHigh >>> (32 - shift);
    }

    const limbs = this.limbs;
    if (high >>> 31) {
      limbs[index] -= part0;
      limbs[index + 1] -= part1;
      limbs[index + 2] -= part2;
    } else {
      limbs[index] += part0;
      limbs[index + 1] += part1;
      limbs[index + 2] += part2;
    }

    if (++this.addsSinceCarry === ADDS_BETWEEN_CARRIES) {
      propagateCarries(limbs);
      this.addsSinceCarry = 0;
    }
  }

  /** Adds the exact product `a·b` (both finite, magnitudes within 2^±600). */
  addProduct(a: number, b: number): void {
    twoProduct(a, b, product);
    this.add(product.hi);
    this.add(product.lo);
  }

  private recordNonFinite(value: number): void {
    if (Number.isNaN(value)) this.nonFinite.nan = true;
    else if (value > 0) this.nonFinite.positiveInfinity = true;
    else this.nonFinite.negativeInfinity = true;
  }

  /** The non-finite values added so far. */
  get nonFiniteSeen(): Readonly<NonFiniteSeen> {
    return this.nonFinite;
  }

  /**
   * Rounds the exact finite sum once to `format` with round-to-nearest-even, overflowing to ±inf
   * and keeping subnormals. An exact zero gives +0. Non-finite values added earlier are ignored here;
   * callers combine them through {@link ExactAccumulator.nonFiniteSeen}.
   */
  round(format: BinaryFormat = BINARY_FORMATS.float64): number {
    propagateCarries(this.limbs);
    this.addsSinceCarry = 0;

    const magnitude = this.work;
    magnitude.set(this.limbs);
    const negative = magnitude[LIMB_COUNT - 1] < 0;
    if (negative) {
      for (let j = 0; j < LIMB_COUNT; j++) magnitude[j] = -magnitude[j];
      propagateCarries(magnitude);
    }

    let top = LIMB_COUNT - 1;
    while (top >= 0 && magnitude[top] === 0) top--;
    if (top < 0) return 0;

    const bottom = Math.max(top - 2, 0);
    let significand = 0n;
    for (let j = top; j >= bottom; j--) significand = (significand << 32n) | BigInt(magnitude[j]);
    let sticky = false;
    for (let j = 0; j < bottom; j++) {
      if (magnitude[j] !== 0) {
        sticky = true;
        break;
      }
    }

    const rounded = roundScaledInteger(significand, 32 * bottom - 1074, sticky, format);
    return negative ? -rounded : rounded;
  }
}

/** Carries every limb but the top one into [0, 2^32); the top limb keeps the sign. */
function propagateCarries(limbs: Float64Array): void {
  let carry = 0;
  for (let j = 0; j < LIMB_COUNT - 1; j++) {
    const value = limbs[j] + carry;
    carry = Math.floor(value / LIMB_BASE);
    limbs[j] = value - carry * LIMB_BASE;
  }
  limbs[LIMB_COUNT - 1] += carry;
}

/**
 * Rounds the positive value (significand + a sticky fraction below it) · 2^lsbExponent to `format`,
 * round-to-nearest-even. `sticky` says that nonzero bits exist below the significand's lowest bit.
 */
export function roundScaledInteger(significand: bigint, lsbExponent: number, sticky: boolean, format: BinaryFormat): number {
  const leadExponent = lsbExponent + bitLength(significand) - 1;
  const quantumExponent = Math.max(leadExponent, format.minExponent) - (format.precision - 1);
  const shift = quantumExponent - lsbExponent;

  let units: bigint;
  if (shift <= 0) {
    // Every bit lies at or above the quantum; the caller guarantees no sticky bits in this case.
    units = significand << BigInt(-shift);
  } else {
    const bigShift = BigInt(shift);
    units = significand >> bigShift;
    const remainder = significand & ((1n << bigShift) - 1n);
    const half = 1n << (bigShift - 1n);
    const roundUp = remainder > half || (remainder === half && (sticky || (units & 1n) === 1n));
    if (roundUp) units += 1n;
  }

  const result = Number(units) * pow2(quantumExponent);
  return result > maxFinite(format) ? Infinity : result;
}

function bitLength(value: bigint): number {
  return value.toString(2).length;
}

const maxFiniteCache = new Map<BinaryFormat, number>();

/** The largest finite value of `format`. */
export function maxFinite(format: BinaryFormat): number {
  let value = maxFiniteCache.get(format);
  if (value === undefined) {
    value = (2 - pow2(1 - format.precision)) * pow2(format.maxExponent);
    maxFiniteCache.set(format, value);
  }
  return value;
}
