/**
 * The exact reference's result for one call: the correctly rounded output, the exact value to
 * float64 precision, and the condition data that error budgets are computed from (SPEC.md §8.4).
 */
import type { FloatDType, QmmParams, Tensor } from "../spec/types.ts";

/** Shapes and parameters of a call after validation (SPEC.md §6, §7). */
export interface ResolvedCall {
  readonly params: QmmParams;
  /** Output dtype; for affine also the dtype x, scales and biases are cast to (SPEC.md §7.3). */
  readonly outDType: FloatDType;
  /** Rows of x per batch element (1 when x has rank 1). */
  readonly M: number;
  /** Reduction length. */
  readonly K: number;
  /** Output columns. */
  readonly N: number;
  /** Batch dimensions of x (all but the last two; empty for rank 1 or 2). */
  readonly xBatch: readonly number[];
  /** Batch dimensions of w (all but the last two; empty for rank 2). */
  readonly wBatch: readonly number[];
  /** Broadcast batch dimensions of the output. */
  readonly outBatch: readonly number[];
  /** The output shape: outBatch + [M, N], or [N] when x has rank 1. */
  readonly outShape: readonly number[];
}

/** Per output element, in float64 (SPEC.md §8.4). Each array has one entry per output element. */
export interface ConditionData {
  /** Σ_k |x_k·ŵ_k|. */
  readonly absSum: Float64Array;
  /** Σ_k |x_k|·(|s·q_k| + |β|) for affine; equal to absSum in the fp modes. */
  readonly dequantAbsSum: Float64Array;
  /** Σ_k |x_k| over the reduction. */
  readonly xAbsSum: Float64Array;
  /** Reduction length K. */
  readonly reductionLength: number;
  /** Groups along the reduction: K / group_size for transpose=true, K for transpose=false. */
  readonly groupCount: number;
}

/** The exact result of one call. */
export interface ExactResult {
  readonly call: ResolvedCall;
  /** y_exact rounded once to the output dtype (SPEC.md §8.2). */
  readonly y: Tensor;
  /** y_exact rounded once to float64, with the non-finite rules of SPEC.md §8.3. */
  readonly exact: Float64Array;
  readonly condition: ConditionData;
}
