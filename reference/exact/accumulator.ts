/**
 * An exact accumulator for float64 values (a Kulisch-style fixed-point superaccumulator).
 *
 * The sum is a signed fixed-point integer in 32-bit limbs. Limb j has weight 2^(32·j − 1074), so
 * every finite float64 lands on whole bits. Limbs are float64 values that contain integers, so an
 * add can touch three limbs without carrying. Each add changes a limb by less than 2^32, and carries
 * are propagated every 2^20 adds, long before a limb could pass 2^53.
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

/** Record of the non-finite values passed to {@link ExactAccumulator.add}. */
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
  /** The range of limbs any add has touched since the last reset; every limb outside it is zero. */
  private lowest = LIMB_COUNT;
  private highest = -1;
  private readonly nonFinite: NonFiniteSeen = { nan: false, positiveInfinity: false, negativeInfinity: false };

  /** Clears the sum. */
  reset(): void {
    if (this.highest >= 0) this.limbs.fill(0, this.lowest, this.highest + 1);
    this.lowest = LIMB_COUNT;
    this.highest = -1;
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

    if (index < this.lowest) this.lowest = index;
    if (index + 2 > this.highest) this.highest = index + 2;

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
      propagateCarries(limbs, this.lowest, this.highest);
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
    const { lowest, highest } = this;
    if (highest < 0) return 0;

    propagateCarries(this.limbs, lowest, highest);
    this.addsSinceCarry = 0;

    const magnitude = this.work;
    for (let j = lowest; j <= highest; j++) magnitude[j] = this.limbs[j];
    const negative = magnitude[highest] < 0;
    if (negative) {
      for (let j = lowest; j <= highest; j++) magnitude[j] = -magnitude[j];
      propagateCarries(magnitude, lowest, highest);
    }

    let top = highest;
    while (top >= lowest && magnitude[top] === 0) top--;
    if (top < lowest) return 0;

    const rounded = roundMagnitude(magnitude, lowest, top, format);
    return negative ? -rounded : rounded;
  }
}

/**
 * Carries limbs lowest..highest−1 into [0, 2^32); limb `highest` takes the last carry and keeps the
 * sign. Limbs above `highest` are zero, so the value is unchanged.
 */
function propagateCarries(limbs: Float64Array, lowest: number, highest: number): void {
  let carry = 0;
  for (let j = lowest; j < highest; j++) {
    const value = limbs[j] + carry;
    carry = Math.floor(value / LIMB_BASE);
    limbs[j] = value - carry * LIMB_BASE;
  }
  limbs[highest] += carry;
}

/**
 * Rounds the positive fixed-point integer in carried `limbs` (nonzero limbs within lowest..top) to `format`,
 * round-to-nearest-even. The leading 64 bits are gathered into two words `high:low`; every bit
 * below them only matters as a sticky bit.
 */
function roundMagnitude(limbs: Float64Array, lowest: number, top: number, format: BinaryFormat): number {
  const a = limbs[top];
  const b = top - 1 >= lowest ? limbs[top - 1] : 0;
  const c = top - 2 >= lowest ? limbs[top - 2] : 0;
  const zeros = Math.clz32(a);

  let high: number;
  let low: number;
  let sticky: boolean;
  if (zeros === 0) {
    high = a;
    low = b;
    sticky = c !== 0;
  } else {
    high = ((a << zeros) | (b >>> (32 - zeros))) >>> 0;
    low = ((b << zeros) | (c >>> (32 - zeros))) >>> 0;
    sticky = ((c << zeros) | 0) !== 0;
  }
  for (let j = top - 3; j >= lowest && !sticky; j--) sticky = limbs[j] !== 0;

  const leadExponent = 32 * top - 1074 + (31 - zeros);
  const precision = format.precision - Math.max(0, format.minExponent - leadExponent);
  if (precision < 0) return 0;

  let kept: number;
  let roundBit: number;
  let rest: boolean;
  if (precision === 0) {
    kept = 0;
    roundBit = high >>> 31;
    rest = (high & 0x7fffffff) !== 0 || low !== 0 || sticky;
  } else if (precision <= 31) {
    kept = high >>> (32 - precision);
    roundBit = (high >>> (31 - precision)) & 1;
    rest = (high & ((1 << (31 - precision)) - 1)) !== 0 || low !== 0 || sticky;
  } else if (precision === 32) {
    kept = high;
    roundBit = low >>> 31;
    rest = (low & 0x7fffffff) !== 0 || sticky;
  } else {
    kept = high * pow2(precision - 32) + (low >>> (64 - precision));
    roundBit = (low >>> (63 - precision)) & 1;
    rest = (low & ((1 << (63 - precision)) - 1)) !== 0 || sticky;
  }

  if (roundBit === 1 && (rest || kept % 2 === 1)) kept += 1;

  const result = kept * pow2(leadExponent - precision + 1);
  return result > maxFinite(format) ? Infinity : result;
}

const maxFiniteCache = new Map<BinaryFormat, number>();

/** Returns the largest finite value of `format`. */
export function maxFinite(format: BinaryFormat): number {
  let value = maxFiniteCache.get(format);
  if (value === undefined) {
    value = (2 - pow2(1 - format.precision)) * pow2(format.maxExponent);
    maxFiniteCache.set(format, value);
  }
  return value;
}
