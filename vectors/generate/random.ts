/**
 * The deterministic random source of the generator. Each case seeds its own stream from the
 * SHA-256 of its ID, so adding, removing or filtering cases never changes another case's data.
 * Only integer operations and exact float64 arithmetic are used, so every JavaScript engine
 * produces the same values.
 */
import { createHash } from "node:crypto";

/** A xoshiro128** stream (Blackman and Vigna, 2018) with helpers for the value patterns. */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Seeds the four state words from the first 16 bytes of SHA-256(`seedText`). */
  constructor(seedText: string) {
    const digest = createHash("sha256").update(seedText, "utf8").digest();
    this.s0 = digest.readUInt32LE(0);
    this.s1 = digest.readUInt32LE(4);
    this.s2 = digest.readUInt32LE(8);
    this.s3 = digest.readUInt32LE(12);

    // xoshiro must not start from the all-zero state; SHA-256 makes that practically impossible.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Returns the next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;

    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotateLeft(this.s3, 11);

    return result;
  }

  /** Returns a uniform float64 in [0, 1) with 53 random bits. */
  uniform(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Returns a uniform integer in [0, n) for 0 < n ≤ 2^32, without modulo bias. */
  integer(n: number): number {
    const limit = Math.floor(4294967296 / n) * n;
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % n;
    }
  }

  /** Returns a uniform integer in [low, high], both inclusive. */
  integerBetween(low: number, high: number): number {
    return low + this.integer(high - low + 1);
  }

  /** Returns −1 or +1 with equal probability. */
  sign(): number {
    return this.nextUint32() & 1 ? -1 : 1;
  }

  /** Returns true with probability `p`. */
  chance(p: number): boolean {
    return this.uniform() < p;
  }

  /**
   * Returns an approximately standard normal value: the Irwin–Hall sum of 12 uniforms minus 6.
   * It avoids Math.log and Math.cos, whose last bit may differ between engines. Its tails end at ±6.
   */
  normal(): number {
    let sum = 0;
    for (let i = 0; i < 12; i++) sum += this.nextUint32() / 4294967296;
    return sum - 6;
  }

  /** Returns one element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.integer(items.length)];
  }
}

function rotateLeft(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}
