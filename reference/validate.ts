/**
 * Input validation of QuantizedMatmul in the order of SPEC.md §9.1. The first failing check
 * throws a QmmError, so a call with several problems always reports the same one, whichever
 * implementation validates it.
 */
import { fail } from "../spec/errors.ts";
import { parseParamsInput, parseTensor } from "../spec/schema.ts";
import { isFloatDType, isMode, MODE_RULES } from "../spec/types.ts";
import type { FloatDType, Mode, QmmInputs, QmmParams, QmmParamsInput, Tensor } from "../spec/types.ts";
import type { ResolvedCall } from "./result.ts";

/** Returns the promoted dtype of two float dtypes (SPEC.md §7.2): float16 with bfloat16 gives float32. */
export function promoteFloat(a: FloatDType, b: FloatDType): FloatDType {
  if (a === b) return a;
  return "float32";
}

/**
 * Applies SPEC.md §9.1 steps 1, 2 and 4 to parameters alone: types, mode, then group_size and bits
 * against the mode's allowed set, after defaults (§2.3). Throws a QmmError on the first failure.
 */
export function resolveParams(params: QmmParamsInput): QmmParams {
  const { parsed, mode } = resolveMode(params);
  return resolveGroupSizeAndBits(parsed, mode);
}

/**
 * Validates one call in the order of SPEC.md §9.1 and returns its parameters, dimensions and
 * output dtype. Throws a QmmError carrying the code, section, path and offending values of the
 * first failing check. Cost: one pass over the scale bytes (fp modes) and the mxfp8 element bytes.
 */
export function resolveCall(inputs: QmmInputs, params: QmmParamsInput): ResolvedCall {
  const { x, w, scales, biases } = checkTensorsWellFormed(inputs);

  const { parsed, mode } = resolveMode(params);

  checkScalesAndBiases(mode, scales, biases);

  const resolved = resolveGroupSizeAndBits(parsed, mode);

  checkOperandDTypes(x, w);

  checkRanks(x, w, scales);

  checkNoEmptyDimension({ x, w, scales, ...(biases === undefined ? {} : { biases }) });

  const call = checkShapes(x, w, scales, biases, resolved);

  checkReservedCodes(w, scales, resolved.mode);

  return call;
}

/** Step 0: each tensor is well-formed. A missing x, w or scales is a parameter error. */
function checkTensorsWellFormed(inputs: QmmInputs): { x: Tensor; w: Tensor; scales: Tensor; biases?: Tensor } {
  if (inputs === null || typeof inputs !== "object") {
    fail("E_PARAM_INVALID", "inputs must be an object with the tensors x, w, scales and optional biases", {}, ["inputs"]);
  }

  for (const name of ["x", "w", "scales"] as const) {
    if (inputs[name] === undefined || inputs[name] === null) {
      fail("E_PARAM_INVALID", `tensor ${name} is missing; x, w and scales are required`, { tensor: name }, [name]);
    }
  }

  const x = parseTensor(inputs.x, "x");
  const w = parseTensor(inputs.w, "w");
  const scales = parseTensor(inputs.scales, "scales");
  if (inputs.biases === undefined || inputs.biases === null) return { x, w, scales };

  return { x, w, scales, biases: parseTensor(inputs.biases, "biases") };
}

/** Steps 1 and 2: parameter types, then the mode name. Missing parameters (undefined or null) are `{}`. */
function resolveMode(params: QmmParamsInput | null | undefined): { parsed: QmmParamsInput; mode: Mode } {
  const parsed = parseParamsInput(params);
  const mode = parsed.mode ?? "affine";

  if (!isMode(mode)) {
    fail("E_MODE_INVALID", `mode '${mode}' is not one of affine, mxfp4, mxfp8, nvfp4`, { mode }, ["params", "mode"]);
  }
  return { parsed, mode };
}

/** Step 3: biases presence and the dtypes of scales and biases for the mode. */
function checkScalesAndBiases(mode: Mode, scales: Tensor, biases: Tensor | undefined): void {
  if (mode === "affine") {
    if (biases === undefined) {
      fail("E_BIASES_REQUIRED", "affine mode needs biases with the shape of scales", { mode }, ["biases"]);
    }
    if (!isFloatDType(scales.dtype)) {
      fail("E_SCALES_DTYPE", `affine scales must be float32, float16 or bfloat16, got ${scales.dtype}`, { mode, scalesDType: scales.dtype }, ["scales", "dtype"]);
    }
    if (!isFloatDType(biases.dtype)) {
      fail("E_BIASES_DTYPE", `biases must be float32, float16 or bfloat16, got ${biases.dtype}`, { mode, biasesDType: biases.dtype }, ["biases", "dtype"]);
    }
    return;
  }

  if (scales.dtype !== "uint8") {
    fail("E_SCALES_DTYPE", `${mode} scales must be uint8 codes, got ${scales.dtype}`, { mode, scalesDType: scales.dtype }, ["scales", "dtype"]);
  }
  if (biases !== undefined) {
    fail("E_BIASES_FORBIDDEN", `${mode} takes no biases; pass biases only in affine mode`, { mode, biasesShape: biases.shape }, ["biases"]);
  }
}

/** Step 4: defaults, then group_size and bits against the mode's allowed set. */
function resolveGroupSizeAndBits(params: QmmParamsInput, mode: Mode): QmmParams {
  const rule = MODE_RULES[mode];
  const groupSize = params.groupSize ?? rule.defaultGroupSize;
  const bits = params.bits ?? rule.defaultBits;

  if (!rule.groupSizes.includes(groupSize)) {
    fail("E_GROUP_SIZE_INVALID", `group_size ${groupSize} is not allowed in ${mode} mode`, { mode, groupSize, allowed: rule.groupSizes }, ["params", "groupSize"]);
  }
  if (!rule.bits.includes(bits)) {
    fail("E_BITS_INVALID", `bits ${bits} is not allowed in ${mode} mode`, { mode, bits, allowed: rule.bits }, ["params", "bits"]);
  }

  return { mode, transpose: params.transpose ?? true, groupSize, bits };
}

/** Steps 5 and 6: w is uint32, x is a float dtype. */
function checkOperandDTypes(x: Tensor, w: Tensor): void {
  if (w.dtype !== "uint32") {
    fail("E_W_DTYPE", `w must be uint32 words of packed codes, got ${w.dtype}`, { wDType: w.dtype }, ["w", "dtype"]);
  }
  if (!isFloatDType(x.dtype)) {
    fail("E_X_DTYPE", `x must be float32, float16 or bfloat16, got ${x.dtype}; cast x before the call`, { xDType: x.dtype }, ["x", "dtype"]);
  }
}

/** Step 7: x has rank ≥ 1, w rank ≥ 2, scales the rank of w. */
function checkRanks(x: Tensor, w: Tensor, scales: Tensor): void {
  if (x.shape.length < 1) {
    fail("E_RANK", "x must have at least 1 dimension, got a scalar", { xShape: x.shape }, ["x", "shape"]);
  }
  if (w.shape.length < 2) {
    fail("E_RANK", `w must have at least 2 dimensions, got ${w.shape.length}`, { wShape: w.shape }, ["w", "shape"]);
  }
  if (scales.shape.length !== w.shape.length) {
    fail("E_RANK", `scales must have the rank of w (${w.shape.length}), got ${scales.shape.length}`, { wShape: w.shape, scalesShape: scales.shape }, ["scales", "shape"]);
  }
}

/** Step 8: no dimension of size zero anywhere. */
function checkNoEmptyDimension(tensors: Record<string, Tensor>): void {
  for (const [name, tensor] of Object.entries(tensors)) {
    const axis = tensor.shape.indexOf(0);
    if (axis >= 0) {
      fail("E_EMPTY_DIM", `${name} has a dimension of size zero at axis ${axis}; empty inputs are not defined`, { tensor: name, axis, shape: tensor.shape }, [name, "shape", axis]);
    }
  }
}

/** Steps 9 to 14: shape relations between the tensors, then K, N, M and the output shape. */
function checkShapes(x: Tensor, w: Tensor, scales: Tensor, biases: Tensor | undefined, params: QmmParams): ResolvedCall {
  if (biases !== undefined && !sameShape(scales.shape, biases.shape)) {
    fail("E_SCALES_BIASES_SHAPE", "scales and biases must have the same shape", { scalesShape: scales.shape, biasesShape: biases.shape }, ["biases", "shape"]);
  }

  const wBatch = w.shape.slice(0, -2);
  const scalesBatch = scales.shape.slice(0, -2);
  if (!sameShape(wBatch, scalesBatch)) {
    fail("E_BATCH_SHAPE", "w and scales must have the same batch dimensions", { wShape: w.shape, scalesShape: scales.shape }, ["scales", "shape"]);
  }

  const wRows = w.shape.at(-2)!;
  const scalesRows = scales.shape.at(-2)!;
  if (scalesRows !== wRows) {
    fail("E_SCALES_ROWS", `scales.shape[-2] is ${scalesRows} but w.shape[-2] is ${wRows}; scales need one row per row of w`, { wShape: w.shape, scalesShape: scales.shape }, ["scales", "shape", -2]);
  }

  const columns = packedColumns(w, scales, params);

  const K = params.transpose ? columns : wRows;
  const N = params.transpose ? wRows : columns;
  const xK = x.shape.at(-1)!;
  if (xK !== K) {
    fail("E_K_MISMATCH", `x.shape[-1] is ${xK} but w holds a reduction length of ${K} (transpose=${params.transpose})`, { xShape: x.shape, wShape: w.shape, K, transpose: params.transpose }, ["x", "shape", -1]);
  }

  const xBatch = x.shape.slice(0, -2);
  const outBatch = broadcastBatch(x, w, xBatch, wBatch);
  const M = x.shape.length === 1 ? 1 : x.shape.at(-2)!;
  const outShape = x.shape.length === 1 ? [N] : [...outBatch, M, N];

  return { params, outDType: outputDType(x, scales, biases, params.mode), M, K, N, xBatch, wBatch, outBatch, outShape };
}

/** Step 12: the logical row length C that w packs, checked against scales.shape[-1]·group_size. */
function packedColumns(w: Tensor, scales: Tensor, params: QmmParams): number {
  const words = w.shape.at(-1)!;
  const groups = scales.shape.at(-1)!;
  const values = { wShape: w.shape, scalesShape: scales.shape, bits: params.bits, groupSize: params.groupSize };

  if ((words * 32) % params.bits !== 0) {
    fail("E_PACKED_SHAPE", `w.shape[-1]·32 = ${words * 32} is not a multiple of bits ${params.bits}`, values, ["w", "shape", -1]);
  }

  const columns = (words * 32) / params.bits;
  if (columns !== groups * params.groupSize) {
    fail(
      "E_PACKED_SHAPE",
      `w.shape[-1] packs ${columns} codes per row but scales.shape[-1]·group_size is ${groups * params.groupSize}`,
      values,
      ["scales", "shape", -1],
    );
  }
  return columns;
}

/** Step 14: a batched w needs a batched x, and the two batch shapes must broadcast. */
function broadcastBatch(x: Tensor, w: Tensor, xBatch: readonly number[], wBatch: readonly number[]): number[] {
  if (wBatch.length > 0 && x.shape.length <= 2) {
    fail("E_UNBATCHED_X", `w has batch dimensions [${wBatch.join(",")}] but x has rank ${x.shape.length}; give x batch dimensions too`, { xShape: x.shape, wShape: w.shape }, ["x", "shape"]);
  }

  const rank = Math.max(xBatch.length, wBatch.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const a = xBatch[xBatch.length - rank + i] ?? 1;
    const b = wBatch[wBatch.length - rank + i] ?? 1;
    if (a !== b && a !== 1 && b !== 1) {
      fail("E_BROADCAST", `batch dimensions [${xBatch.join(",")}] of x and [${wBatch.join(",")}] of w cannot be broadcast`, { xBatch, wBatch, xShape: x.shape, wShape: w.shape }, ["x", "shape"]);
    }
    out.push(a === 1 ? b : a);
  }
  return out;
}

/** Returns the output dtype (SPEC.md §7.3): affine promotes x, scales and biases, and the fp modes keep x's dtype. */
function outputDType(x: Tensor, scales: Tensor, biases: Tensor | undefined, mode: Mode): FloatDType {
  const xDType = x.dtype as FloatDType;
  if (mode !== "affine" || biases === undefined) return xDType;
  return promoteFloat(xDType, promoteFloat(scales.dtype as FloatDType, biases.dtype as FloatDType));
}

/** Step 15: reserved scale bytes (E8M0 0xFF, nvfp4 E4M3 0x7F/0xFF) and mxfp8 element bytes. */
function checkReservedCodes(w: Tensor, scales: Tensor, mode: Mode): void {
  if (mode === "affine") return;

  const scaleBytes = scales.data as Uint8Array;
  const scaleHit = findReservedCodes(scaleBytes, mode === "nvfp4" ? "e4m3" : "e8m0");
  if (scaleHit !== undefined) {
    fail(
      "E_RESERVED_SCALE",
      `scales hold ${scaleHit.count} reserved ${mode === "nvfp4" ? "E4M3" : "E8M0"} byte(s), the first 0x${hex(scaleHit.byte)} at index [${unflatten(scaleHit.index, scales.shape).join(",")}]`,
      { mode, byte: scaleHit.byte, index: unflatten(scaleHit.index, scales.shape), count: scaleHit.count },
      ["scales", "data", scaleHit.index],
    );
  }

  if (mode !== "mxfp8") return;

  const words = w.data as Uint32Array;
  const elementBytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const elementHit = findReservedCodes(elementBytes, "e4m3");
  if (elementHit !== undefined) {
    const word = littleEndianWordIndex(elementHit.index);
    fail(
      "E_RESERVED_ELEMENT",
      `w holds ${elementHit.count} reserved E4M3 element byte(s), the first 0x${hex(elementHit.byte)} in byte ${word.byte} of word [${unflatten(word.word, w.shape).join(",")}]`,
      { mode, byte: elementHit.byte, wordIndex: unflatten(word.word, w.shape), byteInWord: word.byte, count: elementHit.count },
      ["w", "data", word.word],
    );
  }
}

/**
 * Maps a byte offset in the host's view of a Uint32Array to the word and the little-endian byte
 * position in it, which is the element position of §5.1.
 */
function littleEndianWordIndex(byteOffset: number): { word: number; byte: number } {
  const word = Math.floor(byteOffset / 4);
  const hostByte = byteOffset % 4;
  return { word, byte: HOST_IS_LITTLE_ENDIAN ? hostByte : 3 - hostByte };
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function unflatten(flatIndex: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  let rest = flatIndex;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
  }
  return index;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dimension, axis) => dimension === b[axis]);
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

// Reserved 8-bit codes (SPEC.md §3.6): E8M0 0xFF, and E4M3 0x7F and 0xFF.

/** An 8-bit code format: E8M0 (scales) or E4M3 (scales and mxfp8 elements). */
export type ByteCodeFormat = "e8m0" | "e4m3";

/** The first reserved byte of a scan and how many there are in total. */
export interface ReservedCodeHit {
  /** Offset of the first reserved byte. */
  readonly index: number;
  readonly byte: number;
  readonly count: number;
}

/** Returns true when `byte` is a reserved code of `format`. */
export function isReservedCode(byte: number, format: ByteCodeFormat): boolean {
  return format === "e8m0" ? byte === 0xff : (byte & 0x7f) === 0x7f;
}

/**
 * Scans `bytes` once and returns the first reserved code with the total count, or undefined when
 * there is none. Aligned input is read four bytes at a time, and only words that may hold a
 * reserved byte are looked at byte by byte.
 */
export function findReservedCodes(bytes: Uint8Array, format: ByteCodeFormat): ReservedCodeHit | undefined {
  let first = -1;
  let count = 0;
  const countBytes = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      if (!isReservedCode(bytes[i], format)) continue;
      if (first < 0) first = i;
      count++;
    }
  };

  const aligned = bytes.byteOffset % 4 === 0;
  const wordCount = aligned ? bytes.length >>> 2 : 0;
  const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, wordCount) : new Uint32Array(0);
  for (let i = 0; i < wordCount; i++) {
    if (wordMayHoldReservedCode(words[i], format)) countBytes(4 * i, 4 * i + 4);
  }
  countBytes(4 * wordCount, bytes.length);

  if (first < 0) return undefined;
  return { index: first, byte: bytes[first], count };
}

/**
 * Returns true when some byte of `word` is reserved. A byte equals the target exactly when the
 * XOR of the two is a zero byte, and (v − 0x01010101) & ~v & 0x80808080 is nonzero exactly when
 * some byte of v is zero. The byte order of the word does not matter.
 */
function wordMayHoldReservedCode(word: number, format: ByteCodeFormat): boolean {
  const difference = format === "e8m0" ? ~word : (word & 0x7f7f7f7f) ^ 0x7f7f7f7f;
  return ((difference - 0x01010101) & ~difference & 0x80808080) !== 0;
}
