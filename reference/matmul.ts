/**
 * The exact reference of QuantizedMatmul (SPEC.md §8): every output element is the exact real sum
 * Σ_k x_k·ŵ_k rounded once to the output dtype, with the condition data error budgets need.
 */
import { resolveCall } from "./validate.ts";
import { decodeOperands, type Operands } from "./matmul/operands.ts";
import { broadcastSourceIndices } from "./matmul/batch.ts";
import { OutputBuffers } from "./matmul/output.ts";
import { analyseRow, createRowGroups } from "./matmul/row-groups.ts";
import { transposedRow } from "./matmul/transposed.ts";
import { untransposedRow } from "./matmul/untransposed.ts";
import { tensorFromNumbers } from "./tensor.ts";
import type { ExactResult, ResolvedCall } from "./result.ts";
import type { QmmInputs, QmmParamsInput } from "../spec/types.ts";
import { fail } from "../spec/errors.ts";

/**
 * The maximum number of output elements of one call. The reference keeps five float64 values per output
 * element (y, the exact value and three condition sums), so this limit is about 2.7 GB.
 */
export const MAX_OUTPUT_ELEMENTS = 2 ** 26;

/**
 * Computes QuantizedMatmul exactly. Validates the call first (SPEC.md §9.1) and throws a QmmError
 * for invalid input. No floating-point rounding happens anywhere before the single final rounding.
 */
export function quantizedMatmul(inputs: QmmInputs, params: QmmParamsInput): ExactResult {
  const call = resolveCall(inputs, params);
  const operands = decodeOperands(inputs, call);
  const { M, K, N } = call;

  const batchCount = call.outBatch.reduce((product, size) => product * size, 1);
  const outputElements = batchCount * M * N;
  if (outputElements > MAX_OUTPUT_ELEMENTS) {
    fail(
      "E_TOO_LARGE",
      `the output would have ${outputElements} elements, more than the reference's limit of ${MAX_OUTPUT_ELEMENTS}; split the call along M or the batch`,
      { outShape: call.outShape, elements: outputElements, limit: MAX_OUTPUT_ELEMENTS },
      ["output"],
    );
  }

  const xSources = broadcastSourceIndices(call.outBatch, call.xBatch);
  const wSources = broadcastSourceIndices(call.outBatch, call.wBatch);
  const output = new OutputBuffers(outputElements, call.outDType);
  const scalesPerMatrix = operands.weightRows * (operands.weightColumns / call.params.groupSize);
  const nonFiniteWeights = new Map<number, Uint8Array>();

  for (let b = 0; b < batchCount; b++) {
    const wIndex = wSources[b];
    const scaleOffset = wIndex * scalesPerMatrix;
    let flags = nonFiniteWeights.get(wIndex);
    if (flags === undefined) {
      flags = findNonFiniteWeights(operands, call, scaleOffset);
      nonFiniteWeights.set(wIndex, flags);
    }

    for (let m = 0; m < M; m++) {
      const xOffset = (xSources[b] * M + m) * K;
      const outOffset = (b * M + m) * N;

      if (call.params.transpose) {
        const groups = createRowGroups(K / call.params.groupSize);
        analyseRow(operands.x, xOffset, call.params.groupSize, operands.elementMax, operands.elementLowBit, groups);
        transposedRow(operands, { xOffset, codes: operands.codes(wIndex), scaleOffset, outOffset, groups, weightRowNonFinite: flags }, N, K, call.params.groupSize, output);
      } else {
        untransposedRow(operands, { xOffset, codesByColumn: operands.codesByColumn(wIndex), scaleOffset, outOffset, groupNonFinite: flags }, N, K, call.params.groupSize, output);
      }
    }
  }

  return {
    call,
    y: tensorFromNumbers(call.outDType, call.outShape, output.y),
    exact: output.exact,
    condition: {
      absSum: output.absSum,
      dequantAbsSum: output.dequantAbsSum,
      xAbsSum: output.xAbsSum,
      reductionLength: K,
      groupCount: call.params.transpose ? K / call.params.groupSize : K,
    },
  };
}

/**
 * Flags weight rows (transpose=true) or column groups (transpose=false) whose scales or biases hold
 * a NaN or an infinity. Only affine scales and biases can; fp-mode scales are validated bytes.
 */
function findNonFiniteWeights(operands: Operands, call: ResolvedCall, scaleOffset: number): Uint8Array {
  const rows = operands.weightRows;
  const groupsPerRow = operands.weightColumns / call.params.groupSize;
  const flags = new Uint8Array(call.params.transpose ? rows : groupsPerRow);
  if (operands.biases === undefined) return flags;

  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groupsPerRow; g++) {
      const index = scaleOffset + r * groupsPerRow + g;
      if (Number.isFinite(operands.scales[index]) && Number.isFinite(operands.biases[index])) continue;
      flags[call.params.transpose ? r : g] = 1;
    }
  }
  return flags;
}
