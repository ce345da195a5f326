/**
 * Splits a vector of float64 values into a few chunks on fixed binary grids, so that any weighted
 * sum Σ_k v_k·c_k with small weights c_k is exact in plain float64 chunk by chunk.
 *
 * Chunk j contains each value rounded to a multiple of u_j = 2^(E + 1 − (j+1)·W), where E is the largest
 * exponent among the values, minus what the earlier chunks took. Each chunk entry is at most 2^W units
 * of u_j, so with weights below 2^weightBits and K terms every partial sum stays below 2^53 units
 * when W + weightBits + log2 K ≤ 51: float64 adds them without rounding. Chunks end once u_j reaches
 * the lowest set bit among the values, where the remainder is exactly zero.
 */
import { pow2 } from "../exact/pow2.ts";
import { exponentOf, lowestBitExponent } from "./bits.ts";

/** More chunks than this and the caller adds terms one by one instead. */
export const MAX_CHUNKS = 8;

/**
 * Writes the chunks of `values` into `out` (chunk j at out[j·K .. j·K + K)) and returns their count,
 * or undefined when the values span too many binades for {@link MAX_CHUNKS} chunks.
 * `weightBits` bounds the weights the chunks will be multiplied by: |weight| < 2^weightBits units
 * of the weights' own grid.
 */
export function splitIntoChunks(values: Float64Array, weightBits: number, out: Float64Array): number | undefined {
  const K = values.length;
  let topExponent = -Infinity;
  let lowBit = Infinity;

  for (let k = 0; k < K; k++) {
    const value = values[k];
    if (value === 0) continue;
    topExponent = Math.max(topExponent, exponentOf(value));
    lowBit = Math.min(lowBit, lowestBitExponent(value));
  }
  if (topExponent === -Infinity) return 0;

  const width = 51 - weightBits - Math.ceil(Math.log2(K + 1));
  if (width < 4) return undefined;
  const count = Math.ceil((topExponent + 1 - lowBit) / width);
  if (count > MAX_CHUNKS || topExponent + 1 - count * width < -1074) return undefined;

  for (let k = 0; k < K; k++) out[k] = values[k];
  for (let j = 0; j < count; j++) {
    const unit = pow2(topExponent + 1 - (j + 1) * width);
    // Adding and subtracting 1.5·2^52·unit rounds to the nearest multiple of unit, because |rest| < 2^51·unit.
    const shifter = 1.5 * 2 ** 52 * unit;
    const chunk = out.subarray(j * K, (j + 1) * K);
    const next = j + 1 < count ? out.subarray((j + 1) * K, (j + 2) * K) : undefined;
    for (let k = 0; k < K; k++) {
      const rest = chunk[k];
      const kept = rest + shifter - shifter;
      chunk[k] = kept;
      if (next !== undefined) next[k] = rest - kept;
    }
  }
  return count;
}
