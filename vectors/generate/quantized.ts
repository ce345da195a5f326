/**
 * Quantizes a real-valued logical weight with the reference `quantize` (MLX's CPU algorithm,
 * SPEC.md §12), in the dtype MLX would quantize it in: the scales dtype for affine, x's dtype for
 * the fp modes.
 */
import { quantize } from "../../reference/quantize.ts";
import { tensorFromNumbers, tensorToNumbers } from "../../reference/tensor.ts";
import type { CaseConfig } from "./config.ts";
import { logicalWeightShape } from "./config.ts";
import type { WeightTensors } from "./weights.ts";

/**
 * Quantizes `values` (matrices × rows × cols of the logical weight, row-major) and returns the
 * packed tensors. Affine biases are cast to their own dtype when it differs from the scales dtype.
 */
export function quantizeLogical(cfg: CaseConfig, values: Float64Array): WeightTensors {
  const { rows, cols } = logicalWeightShape(cfg);
  const weightDType = cfg.mode === "affine" ? cfg.scalesDType : cfg.xDType;
  const weight = tensorFromNumbers(weightDType, [...cfg.shape.wBatch, rows, cols], values);

  const quantized = quantize(weight, { mode: cfg.mode, bits: cfg.bits, groupSize: cfg.groupSize });
  if (cfg.mode !== "affine") return { w: quantized.w, scales: quantized.scales };

  const biases = quantized.biases!;
  if (biases.dtype === cfg.biasesDType) return { w: quantized.w, scales: quantized.scales, biases };
  return {
    w: quantized.w,
    scales: quantized.scales,
    biases: tensorFromNumbers(cfg.biasesDType, biases.shape, tensorToNumbers(biases)),
  };
}
