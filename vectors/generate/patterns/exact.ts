/**
 * The exact-by-construction tier. Scales are 2^-2..2^0, element levels are multiples of 1/2 up to
 * 3, biases are −s·z with z in {0, 1}, and x contains integers in [−3, 3] times 2^-2. So every product
 * x·ŵ, x·s·q and x·β is a multiple of 2^-5. Entries of x are kept only while, for every output
 * element, Σ|x|·(|s·q| + |β|) ≤ 2^(p−5) and Σ|x| ≤ 2^(p−2), with p the precision of the case's
 * dtype. Then every partial sum in any order (dequantize-dot, factored s·Σx·q + β·Σx, split-K) is a
 * multiple of 2^-5 below 2^(p−5) in magnitude, hence exactly representable, and every correct
 * backend must return y bit for bit.
 */
import { FORMAT_INFO, powerOfTwo } from "../../../reference/formats/float.ts";
import type { CaseConfig } from "../config.ts";
import { logicalWeightShape, weightMatrixCount } from "../config.ts";
import { exactXTensor, xElementCount } from "../values.ts";
import { buildDirectWeights } from "../weights.ts";
import type { ValuePattern } from "./pattern.ts";
import { requireUniformDType } from "./pattern.ts";

/** Quantum of every product: 2^-2 (x) · 2^-2 (smallest scale) · 2^-1 (level step of E2M1). */
const PRODUCT_QUANTUM_EXPONENT = -5;

const FP_LEVELS = [0, 0.5, 1, 1.5, 2, 3, -0.5, -1, -1.5, -2, -3];

/** The `exact` pattern; cases built with it carry exactTier = true. */
export const exactTier: ValuePattern = {
  name: "exact",
  summary: "exact by construction: every partial sum in any order is representable, bit equality required",
  unsupported: requireUniformDType,
  build(cfg, rng) {
    const { K, N } = cfg.shape;
    const { rows, cols } = logicalWeightShape(cfg);
    const matrices = weightMatrixCount(cfg.shape);
    const groups = cols / cfg.groupSize;
    const precision = FORMAT_INFO[cfg.xDType].precision;
    const productBound = powerOfTwo(precision + PRODUCT_QUANTUM_EXPONENT);
    const xBound = powerOfTwo(precision - 2);

    const zeroPoint = cfg.mode === "affine" ? rng.integer(2) : 0;
    const levels = cfg.mode === "affine" ? integerLevels(cfg.bits, zeroPoint) : FP_LEVELS;
    const exponents = Int8Array.from({ length: matrices * rows * groups }, () => rng.integerBetween(-2, 0));
    const weights = buildDirectWeights(cfg, {
      zeroPoint,
      scaleExponent: (b, r, g) => exponents[(b * rows + r) * groups + g],
      level: () => rng.pick(levels),
    });

    // |s·q| + |β| per (matrix, k, n), with q = level + z: the weight side of the dequantAbsSum bound.
    const weightMagnitude = new Float64Array(matrices * K * N);
    for (let b = 0; b < matrices; b++) {
      for (let k = 0; k < K; k++) {
        for (let n = 0; n < N; n++) {
          const r = cfg.transpose ? n : k;
          const c = cfg.transpose ? k : n;
          const scale = powerOfTwo(exponents[(b * rows + r) * groups + Math.floor(c / cfg.groupSize)]);
          const level = weights.values[(b * rows + r) * cols + c] / scale;
          weightMagnitude[(b * K + k) * N + n] = scale * (Math.abs(level + zeroPoint) + zeroPoint);
        }
      }
    }

    const x = new Float64Array(xElementCount(cfg));
    const bound = new Float64Array(matrices * N);
    for (let row = 0; row < x.length / K; row++) {
      bound.fill(0);
      let xAbsSum = 0;

      for (let k = 0; k < K; k++) {
        const value = rng.integerBetween(-3, 3) / 4;
        if (value === 0 || xAbsSum + Math.abs(value) > xBound) continue;
        if (!fitsEveryOutput(bound, weightMagnitude, matrices, K, N, k, Math.abs(value), productBound)) continue;

        for (let b = 0; b < matrices; b++) {
          for (let n = 0; n < N; n++) bound[b * N + n] += Math.abs(value) * weightMagnitude[(b * K + k) * N + n];
        }
        xAbsSum += Math.abs(value);
        x[row * K + k] = value;
      }
    }

    const { w, scales, biases } = weights;
    const xTensor = exactXTensor(cfg, x);
    return biases === undefined ? { x: xTensor, w, scales } : { x: xTensor, w, scales, biases };
  },
};

function integerLevels(bits: number, zeroPoint: number): number[] {
  const top = Math.min(3, 2 ** bits - 1 - zeroPoint);
  return Array.from({ length: top + zeroPoint + 1 }, (_, index) => index - zeroPoint);
}

function fitsEveryOutput(bound: Float64Array, weightMagnitude: Float64Array, matrices: number, K: number, N: number, k: number, magnitude: number, limit: number): boolean {
  for (let b = 0; b < matrices; b++) {
    for (let n = 0; n < N; n++) {
      if (bound[b * N + n] + magnitude * weightMagnitude[(b * K + k) * N + n] > limit) return false;
    }
  }
  return true;
}

/**
 * Checks an exact-tier result after the reference computed it: every dequantAbsSum within the
 * bound and y equal to the exact value. Throws when the construction failed, which is a generator bug.
 */
export function assertExactTier(id: string, cfg: CaseConfig, exact: Float64Array, y: ArrayLike<number>, dequantAbsSum: Float64Array): void {
  const limit = powerOfTwo(FORMAT_INFO[cfg.xDType].precision + PRODUCT_QUANTUM_EXPONENT);

  for (let index = 0; index < exact.length; index++) {
    if (dequantAbsSum[index] > limit) throw new Error(`${id}: dequantAbsSum ${dequantAbsSum[index]} at ${index} exceeds the exact-tier bound ${limit}`);
    if (exact[index] !== y[index]) throw new Error(`${id}: y ${y[index]} differs from the exact value ${exact[index]} at ${index}`);
  }
}
