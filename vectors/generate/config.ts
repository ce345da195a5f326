/**
 * A case's configuration and its stable, readable ID. The ID is a query string such as
 * `affine/b4/g64/float16/t/M1_K4096_N11/random-normal`:
 * mode / bits / group size / dtypes / t (transpose) or n / shape / value pattern.
 */
import type { FloatDType, Mode } from "../../spec/types.ts";

/** Shape of one case: M×K times the logical weight, with optional batch dimensions. */
export interface ShapeSpec {
  /** Batch dimensions of x (all but the last two); empty when x is 2-D or 1-D. */
  readonly xBatch: readonly number[];
  /** Batch dimensions of w; empty when w is 2-D. */
  readonly wBatch: readonly number[];
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** x is 1-D, shape [K]; M must be 1 and xBatch empty. */
  readonly vector: boolean;
}

/** Everything that fixes a case's inputs except the value pattern. */
export interface CaseConfig {
  readonly mode: Mode;
  readonly bits: number;
  readonly groupSize: number;
  readonly transpose: boolean;
  readonly xDType: FloatDType;
  /** Affine scales dtype; the fp modes store uint8 scales and ignore this. */
  readonly scalesDType: FloatDType;
  /** Affine biases dtype; unused in the fp modes. */
  readonly biasesDType: FloatDType;
  readonly shape: ShapeSpec;
}

/** Builds a 2-D shape with no batch dimensions. */
export function plainShape(M: number, K: number, N: number): ShapeSpec {
  return { xBatch: [], wBatch: [], M, K, N, vector: false };
}

/** Builds a config whose x, scales and biases share one dtype. */
export function config(mode: Mode, bits: number, groupSize: number, dtype: FloatDType, transpose: boolean, shape: ShapeSpec): CaseConfig {
  return { mode, bits, groupSize, transpose, xDType: dtype, scalesDType: dtype, biasesDType: dtype, shape };
}

/** Formats the dtype part of an ID: `float16`, or `x.s.b` such as `float16.bfloat16.bfloat16` when affine dtypes differ. */
export function dtypeToken(cfg: CaseConfig): string {
  if (cfg.mode !== "affine") return cfg.xDType;
  if (cfg.xDType === cfg.scalesDType && cfg.xDType === cfg.biasesDType) return cfg.xDType;
  return `${cfg.xDType}.${cfg.scalesDType}.${cfg.biasesDType}`;
}

/**
 * Formats the shape part of an ID: `M3_K256_N7`; a 1-D x is `Mvec`; batch dimensions come first as
 * `Bx2x1` (x) and `Bw3` (w), e.g. `Bx2x1_Bw3_M5_K64_N16`.
 */
export function shapeToken(shape: ShapeSpec): string {
  const parts: string[] = [];
  if (shape.xBatch.length > 0) parts.push(`Bx${shape.xBatch.join("x")}`);
  if (shape.wBatch.length > 0) parts.push(`Bw${shape.wBatch.join("x")}`);
  parts.push(shape.vector ? "Mvec" : `M${shape.M}`, `K${shape.K}`, `N${shape.N}`);
  return parts.join("_");
}

/** Formats the stable case ID of a config and value pattern. */
export function caseId(cfg: CaseConfig, pattern: string): string {
  return [cfg.mode, `b${cfg.bits}`, `g${cfg.groupSize}`, dtypeToken(cfg), cfg.transpose ? "t" : "n", shapeToken(cfg.shape), pattern].join("/");
}

/** Shape of x: [...xBatch, M, K], or [K] for a vector. */
export function xShapeOf(shape: ShapeSpec): number[] {
  return shape.vector ? [shape.K] : [...shape.xBatch, shape.M, shape.K];
}

/** Rows and columns of the logical weight: (N, K) for transpose=true, (K, N) otherwise; quantization runs along the columns. */
export function logicalWeightShape(cfg: CaseConfig): { rows: number; cols: number } {
  return cfg.transpose ? { rows: cfg.shape.N, cols: cfg.shape.K } : { rows: cfg.shape.K, cols: cfg.shape.N };
}

/** Number of weight matrices: the product of wBatch. */
export function weightMatrixCount(shape: ShapeSpec): number {
  return shape.wBatch.reduce((product, size) => product * size, 1);
}

/**
 * Shape-class tags of a case, the classes kernels dispatch on: M around the matrix-vector
 * thresholds, N and K tails against common tile sizes, dimensions of 2^15 or more, and batching.
 */
export function shapeTags(cfg: CaseConfig): string[] {
  const { M, K, N, xBatch, wBatch, vector } = cfg.shape;
  const tags: string[] = [];

  if (vector) tags.push("x-rank1");
  else if (M === 1) tags.push("M1");
  else if (M <= 8) tags.push("M2-8");
  else tags.push("M>8");

  if (N % 2 === 1) tags.push("N-odd");
  for (const tile of [8, 32, 64]) if (N % tile !== 0) tags.push(`N-mod${tile}-tail`);

  for (const block of [256, 512, 1024]) {
    if (K % block === 0) tags.push(`K-at-${block}`);
    else if (K > block && K % block <= cfg.groupSize) tags.push(`K-past-${block}`);
  }
  if (K === 3200) tags.push("K-3200");
  if (Math.max(M, K, N) >= 2 ** 15) tags.push("dim>=2^15");

  if (xBatch.length > 0 && wBatch.length > 0) tags.push("batch-broadcast");
  else if (xBatch.length > 0) tags.push("batch-x-only");

  return tags;
}
