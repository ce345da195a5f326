/**
 * Patterns whose weights go through the reference `quantize`: a real-valued weight is drawn,
 * rounded to the quantization dtype and quantized, as a user's model weights would be.
 */
import { tensorFromNumbers, tensorToNumbers } from "../../../reference/tensor.ts";
import type { QmmInputs } from "../../../spec/types.ts";
import type { CaseConfig } from "../config.ts";
import { logicalWeightShape, weightMatrixCount } from "../config.ts";
import { quantizeLogical } from "../quantized.ts";
import type { Random } from "../random.ts";
import { normalValues, xElementCount, xTensor } from "../values.ts";
import type { ValuePattern } from "./pattern.ts";
import { logicalIndex } from "./pattern.ts";

function weightCount(cfg: CaseConfig): number {
  const { rows, cols } = logicalWeightShape(cfg);
  return weightMatrixCount(cfg.shape) * rows * cols;
}

function inputs(cfg: CaseConfig, x: ArrayLike<number>, weights: Float64Array): QmmInputs {
  return { x: xTensor(cfg, x), ...quantizeLogical(cfg, weights) };
}

/** Normal x and normal weights: the common case. */
export const randomNormal: ValuePattern = {
  name: "random-normal",
  summary: "x ~ N(0,1), weight ~ N(0, 0.25) quantized with the reference quantize",
  unsupported: () => undefined,
  build(cfg, rng) {
    const weights = normalValues(rng, weightCount(cfg), 0.5);
    return inputs(cfg, normalValues(rng, xElementCount(cfg)), weights);
  },
};

/** A few large values in x and in the weight, as in LLM activations and some weight channels. */
export const outliers: ValuePattern = {
  name: "outliers",
  summary: "2% of x ×30 and 2% of weights ×50: one element dominates a group's scale",
  unsupported: () => undefined,
  build(cfg, rng) {
    const weights = normalValues(rng, weightCount(cfg), 0.1);
    for (let index = 0; index < weights.length; index++) if (rng.chance(0.02)) weights[index] *= 50;

    const x = normalValues(rng, xElementCount(cfg));
    for (let index = 0; index < x.length; index++) if (rng.chance(0.02)) x[index] *= 30;

    return inputs(cfg, x, weights);
  },
};

/**
 * |y| ≪ Σ|x·ŵ|: the second half of the reduction repeats the first half's weights while x's
 * second half is the first half negated and perturbed by about 2^-8, so most of each sum cancels.
 */
export const cancellation: ValuePattern = {
  name: "cancellation",
  summary: "x second half ≈ −first half against repeated weights, so |y| is about 2^-8 of Σ|x·ŵ|",
  unsupported(cfg) {
    const half = cfg.shape.K / 2;
    if (!Number.isInteger(half)) return "needs an even K";
    if (cfg.transpose && half % cfg.groupSize !== 0) return "needs K/2 to be a multiple of group_size";
    return undefined;
  },
  build(cfg, rng) {
    const { K, N } = cfg.shape;
    const { rows, cols } = logicalWeightShape(cfg);
    const matrices = weightMatrixCount(cfg.shape);
    const half = K / 2;

    const weights = new Float64Array(matrices * rows * cols);
    for (let b = 0; b < matrices; b++) {
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < half; k++) {
          const value = rng.normal() * 0.5;
          const first = logicalIndex(cfg, k, n);
          const second = logicalIndex(cfg, k + half, n);
          weights[(b * rows + first.row) * cols + first.col] = value;
          weights[(b * rows + second.row) * cols + second.col] = value;
        }
      }
    }

    const x = new Float64Array(xElementCount(cfg));
    const unrounded = xTensor(cfg, normalValues(rng, x.length));
    const firstHalf = tensorToNumbers(unrounded);
    for (let row = 0; row < x.length / K; row++) {
      for (let k = 0; k < half; k++) {
        const value = firstHalf[row * K + k];
        x[row * K + k] = value;
        x[row * K + half + k] = -value * (1 + (rng.uniform() - 0.5) / 128);
      }
    }

    return inputs(cfg, x, weights);
  },
};

/**
 * Groups that are all zero or constant, mixed with normal groups. MLX's quantize handles both
 * specially (scale ±1e-7 or c/q0, bias 0 or c). The first row of x is all zero, so y's first row is +0.
 */
export const zeroConstantGroups: ValuePattern = {
  name: "zero-constant-groups",
  summary: "all-zero and constant weight groups next to normal ones; an all-zero row of x",
  unsupported: () => undefined,
  build(cfg, rng) {
    const { rows, cols } = logicalWeightShape(cfg);
    const matrices = weightMatrixCount(cfg.shape);
    const groups = cols / cfg.groupSize;
    const weights = new Float64Array(matrices * rows * cols);

    for (let groupIndex = 0; groupIndex < matrices * rows * groups; groupIndex++) {
      const kind = groupIndex % 3;
      const constant = rng.normal();
      for (let c = 0; c < cfg.groupSize; c++) {
        let value = rng.normal() * 0.5;
        if (kind === 0) value = 0;
        if (kind === 1) value = constant;
        weights[groupIndex * cfg.groupSize + c] = value;
      }
    }

    const x = normalValues(rng, xElementCount(cfg));
    x.fill(0, 0, cfg.shape.K);
    return inputs(cfg, x, weights);
  },
};

/** NaN, +inf and −inf in x (SPEC.md §8.3): row classes get a NaN, a +inf, a −inf, or both infinities. */
export const nonFiniteX: ValuePattern = {
  name: "nonfinite-x",
  summary: "rows of x with a NaN, a +inf, a −inf, or +inf and −inf together",
  unsupported: () => undefined,
  build(cfg, rng) {
    const { K } = cfg.shape;
    const x = normalValues(rng, xElementCount(cfg));

    for (let row = 0; row < x.length / K; row++) {
      const kind = row % 5;
      const first = row * K + rng.integer(K);
      const second = row * K + rng.integer(K);
      if (kind === 0) x[first] = Number.NaN;
      if (kind === 1) x[first] = Infinity;
      if (kind === 2) x[first] = -Infinity;
      if (kind === 3) {
        x[first] = Infinity;
        x[second === first ? row * K + ((first - row * K + 1) % K) : second] = -Infinity;
      }
    }

    return inputs(cfg, x, normalValues(rng, weightCount(cfg), 0.5));
  },
};

/**
 * NaN and ±inf in affine scales and biases (SPEC.md §8.3). Transposed: weight rows get a NaN
 * scale, a +inf or −inf bias, or a +inf scale in group 0, where x is non-negative, so outputs
 * become NaN, +inf and −inf. A zero x in that group turns inf·0 into NaN for odd rows of x.
 * Untransposed: four reduction rows carry the non-finite values in different column groups.
 */
export const nonFiniteScales: ValuePattern = {
  name: "nonfinite-scales-biases",
  summary: "affine scales and biases with NaN, +inf and −inf in chosen groups; inf·0 from zeros in x",
  unsupported: (cfg) => (cfg.mode === "affine" ? undefined : "only affine scales and biases can be non-finite"),
  build(cfg, rng) {
    const { K } = cfg.shape;
    const x = normalValues(rng, xElementCount(cfg));
    const base = inputs(cfg, x, normalValues(rng, weightCount(cfg), 0.5));
    const scales = tensorToNumbers(base.scales);
    const biases = tensorToNumbers(base.biases!);
    const { rows, cols } = logicalWeightShape(cfg);
    const groups = cols / cfg.groupSize;
    const poison = (matrix: number, r: number, g: number, target: Float64Array, value: number) => {
      target[(matrix * rows + r) * groups + g] = value;
    };

    for (let matrix = 0; matrix < weightMatrixCount(cfg.shape); matrix++) {
      if (cfg.transpose) {
        for (let r = 0; r < rows; r++) {
          const kind = r % 5;
          if (kind === 0) poison(matrix, r, 0, scales, Number.NaN);
          if (kind === 1) poison(matrix, r, 0, biases, Infinity);
          if (kind === 2) poison(matrix, r, 0, biases, -Infinity);
          if (kind === 3) poison(matrix, r, 0, scales, Infinity);
        }
      } else {
        poison(matrix, 1 % rows, 0, biases, Infinity);
        poison(matrix, 2 % rows, 1 % groups, biases, -Infinity);
        poison(matrix, 3 % rows, 2 % groups, scales, Number.NaN);
        poison(matrix, 4 % rows, groups - 1, scales, Infinity);
      }
    }

    const xValues = tensorToNumbers(base.x);
    for (let row = 0; row < xValues.length / K; row++) {
      if (cfg.transpose) {
        for (let k = 0; k < cfg.groupSize; k++) xValues[row * K + k] = Math.abs(xValues[row * K + k]);
      }
      if (row % 2 === 1) xValues[row * K + (cfg.transpose ? 0 : 1 % K)] = 0;
    }

    return {
      x: xTensor(cfg, xValues),
      w: base.w,
      scales: tensorFromNumbers(base.scales.dtype, base.scales.shape, scales),
      biases: tensorFromNumbers(base.biases!.dtype, base.biases!.shape, biases),
    };
  },
};
