/**
 * The reference quantize (SPEC.md §12): MLX's CPU algorithm for all four modes, step by step, with
 * each floating-point operation rounded where MLX rounds it. Affine follows MLX's C++ kernel, which
 * computes in float32. The fp modes follow MLX's array-level algorithm, whose operations compute in
 * the weight's dtype. Where MLX's source (0.32.2) and its pip release 0.32.4 differ, this follows
 * the release, which the cross-check test compares byte for byte.
 *
 * Emulating float32 steps in float64 is exact: a float64 result of +, -, × or ÷ on float32
 * operands, rounded again to float32, equals the directly rounded result (53 ≥ 2·24 + 2). The
 * same argument covers float16 and bfloat16 results.
 *
 * MLX's Metal kernels quantize differently (in the 0.32.2 source: the affine maximum starts at 0,
 * q0 rounds half away from zero, and E2M1 ties go to even), so this reproduces the CPU only.
 */
import { fail } from "../spec/errors.ts";
import { parseParamsInput, parseTensor } from "../spec/schema.ts";
import { isFloatDType, isMode, MODE_RULES } from "../spec/types.ts";
import type { FloatDType, Mode, QmmParams, QmmParamsInput, Tensor } from "../spec/types.ts";
import { e4m3ToNumber, numberToE4m3 } from "./formats/e4m3.ts";
import { numberToE2m1 } from "./formats/e2m1.ts";
import { powerOfTwo, roundHalfToEven, roundToDType } from "./formats/float.ts";
import { packCodes } from "./pack.ts";
import { tensorFromNumbers, tensorToNumbers } from "./tensor.ts";

/** The output of {@link quantize}: the tensors quantized_matmul takes. */
export interface QuantizedWeight {
  /** Packed codes, uint32 of shape (..., R, C·bits/32). */
  readonly w: Tensor;
  /** Affine: the weight's dtype; fp modes: uint8 codes. Shape (..., R, C/group_size). */
  readonly scales: Tensor;
  /** Affine: the weight's dtype with the shape of scales; null in the fp modes. */
  readonly biases: Tensor | null;
}

/**
 * Quantizes `w` (shape (..., R, C), float32, float16 or bfloat16) along its last axis. Validation
 * follows MLX's quantize in order: parameter types, mode, the dtype of w, rank ≥ 2, C divisible by
 * group_size, then group_size and bits for the mode. Non-finite values are rejected with
 * E_QUANTIZE_NONFINITE in affine, mxfp4 and mxfp8, where MLX's CPU result is undefined. nvfp4 keeps
 * them and follows MLX's arithmetic.
 */
export function quantize(w: Tensor, params: QmmParamsInput): QuantizedWeight {
  parseTensor(w, "w");
  const resolved = resolveQuantizeParams(w, params);
  const dtype = w.dtype as FloatDType;
  const values = tensorToNumbers(w);
  if (resolved.mode !== "nvfp4") checkFinite(values, w.shape, resolved.mode);

  const columns = w.shape[w.shape.length - 1];
  const rows = columns === 0 ? 0 : values.length / columns;
  const groupsPerRow = columns / resolved.groupSize;
  const scalesShape = [...w.shape.slice(0, -1), groupsPerRow];
  const packedShape = [...w.shape.slice(0, -1), (columns * resolved.bits) / 32];
  const codes = new Uint8Array(values.length);

  let scales: Tensor;
  let biases: Tensor | null = null;
  if (resolved.mode === "affine") {
    const result = quantizeAffine(values, resolved, codes);
    scales = tensorFromNumbers(dtype, scalesShape, result.scales.map((scale) => roundToDType(scale, dtype)));
    biases = tensorFromNumbers(dtype, scalesShape, result.biases.map((bias) => roundToDType(bias, dtype)));
  } else {
    const scaleBytes = resolved.mode === "nvfp4" ? quantizeNvfp4(values, dtype, codes) : quantizeMx(values, dtype, resolved, codes);
    scales = { dtype: "uint8", shape: scalesShape, data: scaleBytes };
  }

  const words = packCodes(codes, resolved.bits, rows, columns);
  return { w: { dtype: "uint32", shape: packedShape, data: words }, scales, biases };
}

/** MLX's quantize validation order, with this project's error codes. */
function resolveQuantizeParams(w: Tensor, params: QmmParamsInput): QmmParams {
  const parsed = parseParamsInput(params);
  const mode = parsed.mode ?? "affine";
  if (!isMode(mode)) fail("E_MODE_INVALID", `mode '${mode}' is not one of affine, mxfp4, mxfp8, nvfp4`, { mode }, ["params", "mode"]);

  const rule = MODE_RULES[mode];
  const groupSize = parsed.groupSize ?? rule.defaultGroupSize;
  const bits = parsed.bits ?? rule.defaultBits;

  if (!isFloatDType(w.dtype)) {
    fail("E_QUANTIZE_DTYPE", `only float32, float16 and bfloat16 matrices can be quantized, got ${w.dtype}`, { wDType: w.dtype }, ["w", "dtype"]);
  }
  if (w.shape.length < 2) {
    fail("E_RANK", `the matrix to quantize needs at least 2 dimensions, got ${w.shape.length}`, { wShape: w.shape }, ["w", "shape"]);
  }

  // MLX divides by group_size before it checks the allowed set, so zero or negative sizes (which
  // crash MLX) are reported here first.
  if (!Number.isInteger(groupSize) || groupSize <= 0) {
    fail("E_GROUP_SIZE_INVALID", `group_size ${groupSize} is not allowed in ${mode} mode`, { mode, groupSize, allowed: rule.groupSizes }, ["params", "groupSize"]);
  }
  const columns = w.shape[w.shape.length - 1];
  if (columns % groupSize !== 0) {
    fail(
      "E_QUANTIZE_SHAPE",
      `the last dimension ${columns} of the matrix to quantize is not a multiple of group_size ${groupSize}`,
      { wShape: w.shape, groupSize },
      ["w", "shape", -1],
    );
  }

  if (!rule.groupSizes.includes(groupSize)) {
    fail("E_GROUP_SIZE_INVALID", `group_size ${groupSize} is not allowed in ${mode} mode`, { mode, groupSize, allowed: rule.groupSizes }, ["params", "groupSize"]);
  }
  if (!rule.bits.includes(bits)) {
    fail("E_BITS_INVALID", `bits ${bits} is not allowed in ${mode} mode`, { mode, bits, allowed: rule.bits }, ["params", "bits"]);
  }

  return { mode, transpose: parsed.transpose ?? true, groupSize, bits };
}

function checkFinite(values: Float64Array, shape: readonly number[], mode: Mode): void {
  for (let index = 0; index < values.length; index++) {
    if (Number.isFinite(values[index])) continue;
    fail(
      "E_QUANTIZE_NONFINITE",
      `the matrix to quantize contains ${values[index]} at flat index ${index}; ${mode} quantization of non-finite values is undefined in MLX, so replace them first`,
      { mode, flatIndex: index, value: String(values[index]), wShape: [...shape] },
      ["w", "data", index],
    );
  }
}

/**
 * MLX's CPU affine kernel, in float32 (`f` rounds each step). Per group: max and min, a scale of
 * (max - min)/(2^bits - 1) at least 1e-7, negated unless |min| > |max|, the edge value of larger
 * magnitude as bias, and a rescale so that the edge is code 0 and zero sits on an integer code.
 * Returns the float32 scales and biases; the caller rounds them to w's dtype as MLX stores them.
 */
function quantizeAffine(values: Float64Array, params: QmmParams, codes: Uint8Array): { scales: number[]; biases: number[] } {
  const f = Math.fround;
  const binCount = (1 << params.bits) - 1;
  const epsilon = f(1e-7);
  const groupSize = params.groupSize;
  const scales: number[] = [];
  const biases: number[] = [];

  for (let start = 0; start < values.length; start += groupSize) {
    let max = -Infinity;
    let min = Infinity;
    for (let index = start; index < start + groupSize; index++) {
      if (max < values[index]) max = values[index];
      if (values[index] < min) min = values[index];
    }

    const minIsEdge = Math.abs(min) > Math.abs(max);
    let scale = f(f(max - min) / binCount);
    if (scale < epsilon) scale = epsilon;
    if (!minIsEdge) scale = -scale;
    const edge = minIsEdge ? min : max;

    const edgeCode = roundHalfToEven(f(edge / scale));
    let bias = 0;
    if (edgeCode !== 0) {
      scale = f(edge / edgeCode);
      bias = edge;
    }

    for (let index = start; index < start + groupSize; index++) {
      let code = roundHalfToEven(f(f(values[index] - bias) / scale));
      // std::max(code, 0) and std::min(code, n_bins) in MLX's argument order.
      if (code < 0) code = 0;
      if (binCount < code) code = binCount;
      // NOTE: a NaN code cannot arise from finite input (checked before); MLX's cast of NaN to an
      // integer is undefined, and 0 is stored here only to keep the output well-formed.
      codes[index] = Number.isNaN(code) ? 0 : code;
    }

    scales.push(scale);
    biases.push(bias);
  }

  return { scales, biases };
}

/**
 * MLX's CPU path for mxfp4 and mxfp8, with every array operation in w's dtype (`r` rounds). The
 * shared exponent is e = ceil(log2(s)) for s = amax / elem_max rounded to w's dtype, or 0 when s is
 * 0. The elements are w / 2^e encoded as E2M1 (distances in w's dtype) or E4M3, and the scale byte
 * is e + 127 modulo 256. The ceiling is exact: s just above a power of two 2^k gives k + 1.
 *
 * This matches MLX 0.32.4 from pip (CPU, x86-64), checked byte for byte on random and edge-case
 * groups. The MLX source around 0.32.2 rounds the exponent with rint instead, so other releases
 * may give e one lower for groups whose log2(s) has a fraction below one half.
 */
function quantizeMx(values: Float64Array, dtype: FloatDType, params: QmmParams, codes: Uint8Array): Uint8Array {
  const r = (value: number): number => roundToDType(value, dtype);
  const elementMax = params.mode === "mxfp4" ? 6 : 448;
  const groupSize = params.groupSize;
  const scaleBytes = new Uint8Array(values.length / groupSize);

  for (let group = 0; group < scaleBytes.length; group++) {
    const start = group * groupSize;
    const amax = groupAbsMax(values, start, groupSize);
    const scale = r(amax / elementMax);

    const exponent = scale === 0 ? 0 : ceilLog2(scale);
    const divisor = r(powerOfTwo(exponent));

    for (let index = start; index < start + groupSize; index++) {
      const scaled = r(values[index] / divisor);
      codes[index] = params.mode === "mxfp4" ? numberToE2m1(scaled, dtype) : numberToE4m3(scaled);
    }

    // MLX stores e + 127 without a clamp. Only float32 groups with s ≤ 2^-128 go below 0, and they
    // wrap: MLX 0.32.4 on x86-64 gives byte 253 for s = 2^-130. Byte 255 (s in (2^-129, 2^-128])
    // is the reserved E8M0 code, which quantized_matmul then rejects.
    scaleBytes[group] = (((exponent + 127) % 256) + 256) % 256;
  }

  return scaleBytes;
}

/**
 * MLX's CPU fallback for nvfp4 without a global scale: the scale is E4M3(amax/6), amax/6 computed in
 * w's dtype, and the elements are w / E4M3value in w's dtype, then widened to float32, where the E2M1
 * distances are taken. A scale byte of 0 divides by zero, which gives code 0 for every element.
 */
function quantizeNvfp4(values: Float64Array, dtype: FloatDType, codes: Uint8Array): Uint8Array {
  const groupSize = 16;
  const scaleBytes = new Uint8Array(values.length / groupSize);

  for (let group = 0; group < scaleBytes.length; group++) {
    const start = group * groupSize;
    const amax = groupAbsMax(values, start, groupSize);
    // A NaN maximum is a positive NaN (it comes from abs), which E4M3 encodes as +448.
    const scaleByte = Number.isNaN(amax) ? 0x7e : numberToE4m3(roundToDType(amax / 6, dtype));
    const divisor = e4m3ToNumber(scaleByte);
    scaleBytes[group] = scaleByte;

    for (let index = start; index < start + groupSize; index++) {
      const scaled = roundToDType(values[index] / divisor, dtype);
      codes[index] = numberToE2m1(scaled, "float32");
    }
  }

  return scaleBytes;
}

/** Returns ceil(log2(value)) exactly for a positive finite value. */
function ceilLog2(value: number): number {
  let exponent = Math.floor(Math.log2(value));
  if (powerOfTwo(exponent) > value) exponent -= 1;
  if (powerOfTwo(exponent + 1) <= value) exponent += 1;
  return powerOfTwo(exponent) === value ? exponent : exponent + 1;
}

/** max |v| over a group; a NaN anywhere makes the result NaN, as MLX's max reduction propagates NaN. */
function groupAbsMax(values: Float64Array, start: number, length: number): number {
  let max = 0;
  for (let index = start; index < start + length; index++) {
    const magnitude = Math.abs(values[index]);
    if (Number.isNaN(magnitude)) return Number.NaN;
    if (magnitude > max) max = magnitude;
  }
  return max;
}
