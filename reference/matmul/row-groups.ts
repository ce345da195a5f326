/**
 * Per-row, per-group facts about x that decide whether a group's dot product can be summed in plain
 * float64 without any rounding (the fast path of the transposed kernel).
 *
 * Within a group every product x_k·v_k is exact in float64, because x has at most 24 significant
 * bits and an element value at most 8. Every product is a multiple of 2^(L + elementLowBit), where L
 * is the lowest set bit over the group's x values. If Σ|x_k·v_k| < 2^(53 + L + elementLowBit), every partial
 * sum is an integer multiple of that unit below 2^53 units, so float64 addition is exact in any order.
 * The bound uses elementMax·Σ|x_k|, computed in float64 and padded by a factor (1 + 2^-40).
 */
import { pow2 } from "../exact/pow2.ts";
import { lowestBitExponent } from "./bits.ts";

/** The facts for one row of x, reused for every output column. */
export interface RowGroups {
  /** Σ x_k per group (exact wherever `fast` is 1). */
  readonly sum: Float64Array;
  /** Σ |x_k| per group. */
  readonly absSum: Float64Array;
  /** 1 where the group's sums are exact in float64, 0 where the kernel must add terms one by one. */
  readonly fast: Uint8Array;
  /** Σ |x_k| over the whole row. */
  rowAbsSum: number;
  /** Whether the row contains a NaN or an infinity. */
  nonFinite: boolean;
}

/** Allocates the per-group buffers for `groupCount` groups. */
export function createRowGroups(groupCount: number): RowGroups {
  return {
    sum: new Float64Array(groupCount),
    absSum: new Float64Array(groupCount),
    fast: new Uint8Array(groupCount),
    rowAbsSum: 0,
    nonFinite: false,
  };
}

const PADDING = 1 + 2 ** -40;

/** Fills `groups` for the row x[offset, offset + groupCount·groupSize). */
export function analyseRow(
  x: Float64Array,
  offset: number,
  groupSize: number,
  elementMax: number,
  elementLowBit: number,
  groups: RowGroups,
): void {
  const groupCount = groups.sum.length;
  let rowAbsSum = 0;
  let nonFinite = false;

  for (let g = 0; g < groupCount; g++) {
    const start = offset + g * groupSize;
    let sum = 0;
    let absSum = 0;
    let lowBit = Infinity;

    for (let k = start; k < start + groupSize; k++) {
      const value = x[k];
      if (value === 0) continue;
      if (!Number.isFinite(value)) {
        nonFinite = true;
        continue;
      }
      sum += value;
      absSum += Math.abs(value);
      lowBit = Math.min(lowBit, lowestBitExponent(value));
    }

    groups.sum[g] = sum;
    groups.absSum[g] = absSum;
    groups.fast[g] = absSum === 0 || elementMax * absSum * PADDING < pow2(53 + lowBit + elementLowBit) ? 1 : 0;
    rowAbsSum += absSum;
  }

  groups.rowAbsSum = rowAbsSum;
  groups.nonFinite = nonFinite;
}
