/**
 * A scalar model of MLX's CPU quantized_matmul loops as the `mlx-cpu` variant describes them
 * (mlx 0.32.4, mlx/backend/cpu/quantized.cpp: `_qmm_t`, `_qmm`, `fp_qmm_t`, `fp_qmm`). Every
 * operation is rounded to the compute dtype T, in MLX's order. For float16 and bfloat16, MLX's
 * portable half types compute each operation in float and round to T, and float has enough
 * precision (24 ≥ 2·11 + 2) that this equals one correct rounding, which is what `round` does here.
 *
 * The test compares MLX with this model bit for bit, which checks the variant's description.
 * Only 2-D w is modelled.
 */
import { e2m1ToNumber } from "../../../reference/formats/e2m1.ts";
import { e4m3ToNumber } from "../../../reference/formats/e4m3.ts";
import { e8m0ToNumber } from "../../../reference/formats/e8m0.ts";
import { roundToDType } from "../../../reference/formats/float.ts";
import { unpackCodes } from "../../../reference/pack.ts";
import { promoteFloat } from "../../../reference/validate.ts";
import { floatValues } from "../../../harness/budget/values.ts";
import { MODE_RULES } from "../../../spec/types.ts";
import type { FloatDType, Mode, QmmInputs } from "../../../spec/types.ts";

/** Parameters of the modelled call, with defaults already applied. */
export interface EmulatedParams {
  readonly mode: Mode;
  readonly transpose: boolean;
  readonly groupSize: number;
  readonly bits: number;
}

/** Returns the output values MLX's CPU loops compute, and the output dtype. */
export function emulateMlxCpu(inputs: QmmInputs, params: EmulatedParams): { values: Float64Array; dtype: FloatDType } {
  const { mode, transpose, groupSize, bits } = params;
  const affine = mode === "affine";
  const xDType = inputs.x.dtype as FloatDType;
  const T = affine ? promoteFloat(xDType, promoteFloat(inputs.scales.dtype as FloatDType, inputs.biases!.dtype as FloatDType)) : xDType;
  const round = (value: number) => roundToDType(value, T);

  const [rows, words] = inputs.w.shape;
  const cols = (words * 32) / bits;
  const codes = unpackCodes(inputs.w.data as Uint32Array, bits, rows, cols);
  const groupsPerRow = cols / groupSize;
  const x = floatValues(inputs.x);
  const K = transpose ? cols : rows;
  const N = transpose ? rows : cols;
  const M = x.length / K;

  // Per group: the scale and bias in T (affine), or the scale converted to T (fp modes).
  const scaleValues = affine ? floatValues(inputs.scales) : Float64Array.from(inputs.scales.data as Uint8Array, (byte) => fpScale(byte, mode));
  const scales = scaleValues.map(round);
  const biases = affine ? floatValues(inputs.biases!).map(round) : new Float64Array(scales.length);
  const decodeElement = MODE_RULES[mode].element === "e2m1" ? e2m1ToNumber : e4m3ToNumber;
  const element = (code: number) => (affine ? code : decodeElement(code));

  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const row = (k: number) => x[m * K + k];
    if (transpose) {
      for (let n = 0; n < N; n++) out[m * N + n] = transposedElement(row, n);
    } else {
      untransposedRow(row, out.subarray(m * N, (m + 1) * N));
    }
  }
  return { values: out, dtype: T };

  function transposedElement(row: (k: number) => number, n: number): number {
    let sum = 0;
    for (let group = 0; group < groupsPerRow; group++) {
      const scale = scales[n * groupsPerRow + group];
      const bias = biases[n * groupsPerRow + group];
      let groupSum = 0;
      for (let i = 0; i < groupSize; i++) {
        const k = group * groupSize + i;
        const code = codes[n * cols + k];
        if (affine) sum = round(sum + round(row(k) * round(round(scale * code) + bias)));
        else groupSum = round(groupSum + round(row(k) * element(code)));
      }
      if (!affine) sum = round(sum + round(scale * groupSum));
    }
    return sum;
  }

  function untransposedRow(row: (k: number) => number, result: Float64Array): void {
    for (let k = 0; k < K; k++) {
      const xi = row(k);
      for (let n = 0; n < N; n++) {
        const group = k * groupsPerRow + Math.floor(n / groupSize);
        const code = codes[k * cols + n];
        const term = affine ? round(xi * round(round(scales[group] * code) + biases[group])) : round(round(xi * scales[group]) * element(code));
        result[n] = round(result[n] + term);
      }
    }
  }
}

/** Decodes a scale byte before its conversion to T: E8M0 for mxfp4 and mxfp8, E4M3 for nvfp4. */
function fpScale(byte: number, mode: Mode): number {
  return MODE_RULES[mode].scales === "e8m0" ? e8m0ToNumber(byte) : e4m3ToNumber(byte);
}

/** Default group size and bits of a mode. */
export function defaultsOf(mode: Mode): { groupSize: number; bits: number } {
  return { groupSize: MODE_RULES[mode].defaultGroupSize, bits: MODE_RULES[mode].defaultBits };
}
