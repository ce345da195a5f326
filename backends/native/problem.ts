/**
 * Turns a validated call into the record the addon reads: dtype and encoding codes, matrix
 * counts, and for every output matrix the x and w matrices it reads (numpy broadcasting of the
 * batch dimensions, SPEC.md §6.3).
 */
import { broadcastSourceIndices } from "../../reference/matmul/batch.ts";
import type { ResolvedCall } from "../../reference/result.ts";
import type { FloatDType, Mode, QmmInputs } from "../../spec/types.ts";
import type { AddonProblem } from "./addon.ts";

/** The addon's codes for float types (qmm::FloatType). */
const FLOAT_TYPE_CODES: Readonly<Record<FloatDType, number>> = { float32: 0, float16: 1, bfloat16: 2 };

/** The addon's codes for element encodings (qmm::Encoding): affine uses its bit width. */
const E2M1_ENCODING = 16;
const E4M3_ENCODING = 17;

/** The addon's codes for scale storage (qmm::ScaleKind). */
const SCALE_KIND_CODES: Readonly<Record<Mode, number>> = { affine: 0, mxfp4: 1, mxfp8: 1, nvfp4: 2 };

function encodingCode(mode: Mode, bits: number): number {
  if (mode === "affine") return bits;
  return mode === "mxfp8" ? E4M3_ENCODING : E2M1_ENCODING;
}

function product(sizes: readonly number[]): number {
  return sizes.reduce((total, size) => total * size, 1);
}

function floatTypeCode(dtype: string): number {
  return FLOAT_TYPE_CODES[dtype as FloatDType] ?? 0;
}

/** Builds the addon record of a call that resolveCall accepted, with a fresh output array. */
export function buildProblem(inputs: QmmInputs, call: ResolvedCall): AddonProblem {
  const { params } = call;
  const batchCount = product(call.outBatch);
  const outputLength = batchCount * call.M * call.N;
  const biases = inputs.biases ?? undefined;

  return {
    encoding: encodingCode(params.mode, params.bits),
    scaleKind: SCALE_KIND_CODES[params.mode],
    affine: params.mode === "affine",
    transpose: params.transpose,
    bits: params.bits,
    groupSize: params.groupSize,
    M: call.M,
    K: call.K,
    N: call.N,
    xType: floatTypeCode(inputs.x.dtype),
    scalesType: floatTypeCode(inputs.scales.dtype),
    biasesType: biases === undefined ? 0 : floatTypeCode(biases.dtype),
    outType: FLOAT_TYPE_CODES[call.outDType],
    batchCount,
    xMatrixCount: product(call.xBatch),
    wMatrixCount: product(call.wBatch),
    x: inputs.x.data,
    w: inputs.w.data as Uint32Array,
    scales: inputs.scales.data,
    ...(biases === undefined ? {} : { biases: biases.data }),
    y: call.outDType === "float32" ? new Float32Array(outputLength) : new Uint16Array(outputLength),
    xIndex: broadcastSourceIndices(call.outBatch, call.xBatch),
    wIndex: broadcastSourceIndices(call.outBatch, call.wBatch),
  };
}
