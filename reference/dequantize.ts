/**
 * Exact dequantization (SPEC.md §4): the logical weight ŵ of shape (..., R, C) from packed codes,
 * scales and (affine) biases, without rounding. Each ŵ is returned as an unevaluated float64 sum
 * hi + lo. In affine mode s·q is exact in float64 (at most 24 + 8 significant bits), and TwoSum
 * splits s·q + β into hi = fl(s·q + β) plus its exact rounding error lo. In the fp modes a power of
 * two or an E4M3 value times an E2M1 or E4M3 value is exact, so lo is 0.
 */
import { fail } from "../spec/errors.ts";
import { isFloatDType, MODE_RULES } from "../spec/types.ts";
import type { FloatDType, QmmParams, QmmParamsInput, Tensor } from "../spec/types.ts";
import { e4m3ToNumberMlxRelease } from "./formats/e4m3.ts";
import { E2M1_VALUES } from "./formats/e2m1.ts";
import { e8m0ToNumber } from "./formats/e8m0.ts";
import { roundSumToDType } from "./formats/float.ts";
import { packedWordsPerRow, unpackRowInto } from "./pack.ts";
import { tensorFromNumbers, tensorToNumbers } from "./tensor.ts";
import { findReservedCodes, resolveParams } from "./validate.ts";
import { parseTensor } from "../spec/schema.ts";

/** The dequantized weight: ŵ[i] = hi[i] + lo[i] exactly, row-major over `shape`. */
export interface DequantizedWeight {
  /** Logical shape (..., R, C): w's batch dimensions, its rows, and C = w.shape[-1]·32/bits. */
  readonly shape: number[];
  readonly hi: Float64Array;
  readonly lo: Float64Array;
}

/** Options of {@link dequantize}. */
export interface DequantizeOptions {
  /**
   * Decode reserved codes as MLX 0.32.4 does (E8M0 0xFF to +infinity, E4M3 0x7F and 0xFF to NaN)
   * instead of throwing E_RESERVED_SCALE or E_RESERVED_ELEMENT. Defaults to false.
   */
  readonly allowReserved?: boolean;
}

/**
 * Dequantizes `w` exactly. The parameters take the mode's defaults (SPEC.md §2.3); `transpose` does
 * not matter, because w always packs the rows of the logical weight. Throws a QmmError for invalid
 * parameters, dtypes, ranks or shapes, and for reserved codes unless `allowReserved` is set.
 * Non-finite affine scales or biases follow IEEE rules, so an infinite scale times code 0 gives NaN.
 */
export function dequantize(
  w: Tensor,
  scales: Tensor,
  biases: Tensor | null | undefined,
  params: QmmParamsInput,
  options: DequantizeOptions = {},
): DequantizedWeight {
  parseTensor(w, "w");
  parseTensor(scales, "scales");
  if (biases) parseTensor(biases, "biases");

  const resolved = resolveParams(params);
  const layout = checkDequantizeInputs(w, scales, biases ?? undefined, resolved);
  if (!options.allowReserved) checkReservedCodes(w, scales, resolved);

  const { rows, columns, matrices, wordsPerRow, groupsPerRow } = layout;
  const count = matrices * rows * columns;
  const hi = new Float64Array(count);
  const lo = new Float64Array(count);
  const words = w.data as Uint32Array;
  const scaleValues = decodeScales(scales, resolved);
  const biasValues = biases ? tensorToNumbers(biases) : null;
  const elementValues = elementTable(resolved);
  const codes = new Uint8Array(columns);
  const groupSize = resolved.groupSize;

  for (let row = 0; row < matrices * rows; row++) {
    unpackRowInto(words, row * wordsPerRow, resolved.bits, columns, codes);
    const rowStart = row * columns;
    const groupStart = row * groupsPerRow;

    for (let column = 0; column < columns; column++) {
      const group = groupStart + Math.floor(column / groupSize);
      const product = scaleValues[group] * elementValues[codes[column]];
      if (biasValues === null) {
        hi[rowStart + column] = product;
        continue;
      }

      const bias = biasValues[group];
      const sum = product + bias;
      hi[rowStart + column] = sum;
      lo[rowStart + column] = Number.isFinite(sum) ? twoSumError(product, bias, sum) : 0;
    }
  }

  return { shape: [...w.shape.slice(0, -1), columns], hi, lo };
}

/**
 * Dequantizes `w` and rounds each exact ŵ once to `dtype` (round to nearest even, overflow to
 * ±infinity). MLX's own dequantize rounds twice in affine mode (s·q, then + β), so its result can
 * differ from this one in the last place.
 */
export function dequantizeToTensor(
  w: Tensor,
  scales: Tensor,
  biases: Tensor | null | undefined,
  params: QmmParamsInput,
  dtype: FloatDType,
  options: DequantizeOptions = {},
): Tensor {
  const { shape, hi, lo } = dequantize(w, scales, biases, params, options);
  const rounded = new Float64Array(hi.length);
  for (let index = 0; index < hi.length; index++) rounded[index] = roundSumToDType(hi[index], lo[index], dtype);
  return tensorFromNumbers(dtype, shape, rounded);
}

/** Knuth's TwoSum: the exact error a + b - fl(a + b), for finite a, b and sum = fl(a + b). */
function twoSumError(a: number, b: number, sum: number): number {
  const bVirtual = sum - a;
  const aVirtual = sum - bVirtual;
  return (a - aVirtual) + (b - bVirtual);
}

interface WeightLayout {
  readonly rows: number;
  readonly columns: number;
  /** Number of R×C matrices: the product of w's batch dimensions. */
  readonly matrices: number;
  readonly wordsPerRow: number;
  readonly groupsPerRow: number;
}

/** Checks dtypes, ranks and shapes of the three tensors for the resolved parameters. */
function checkDequantizeInputs(w: Tensor, scales: Tensor, biases: Tensor | undefined, params: QmmParams): WeightLayout {
  const { mode } = params;

  if (mode === "affine") {
    if (biases === undefined) fail("E_BIASES_REQUIRED", "affine mode needs biases with the shape of scales", { mode }, ["biases"]);
    if (!isFloatDType(scales.dtype)) {
      fail("E_SCALES_DTYPE", `affine scales must be float32, float16 or bfloat16, got ${scales.dtype}`, { mode, scalesDType: scales.dtype }, ["scales", "dtype"]);
    }
    if (!isFloatDType(biases.dtype)) {
      fail("E_BIASES_DTYPE", `biases must be float32, float16 or bfloat16, got ${biases.dtype}`, { mode, biasesDType: biases.dtype }, ["biases", "dtype"]);
    }
  } else {
    if (scales.dtype !== "uint8") {
      fail("E_SCALES_DTYPE", `${mode} scales must be uint8 codes, got ${scales.dtype}`, { mode, scalesDType: scales.dtype }, ["scales", "dtype"]);
    }
    if (biases !== undefined) {
      fail("E_BIASES_FORBIDDEN", `${mode} takes no biases; pass biases only in affine mode`, { mode, biasesShape: biases.shape }, ["biases"]);
    }
  }

  if (w.dtype !== "uint32") fail("E_W_DTYPE", `w must be uint32 words of packed codes, got ${w.dtype}`, { wDType: w.dtype }, ["w", "dtype"]);
  if (w.shape.length < 2) fail("E_RANK", `w must have at least 2 dimensions, got ${w.shape.length}`, { wShape: w.shape }, ["w", "shape"]);
  if (scales.shape.length !== w.shape.length) {
    fail("E_RANK", `scales must have the rank of w (${w.shape.length}), got ${scales.shape.length}`, { wShape: w.shape, scalesShape: scales.shape }, ["scales", "shape"]);
  }

  if (biases !== undefined && !sameShape(biases.shape, scales.shape)) {
    fail("E_SCALES_BIASES_SHAPE", "scales and biases must have the same shape", { scalesShape: scales.shape, biasesShape: biases.shape }, ["biases", "shape"]);
  }
  if (!sameShape(w.shape.slice(0, -2), scales.shape.slice(0, -2))) {
    fail("E_BATCH_SHAPE", "w and scales must have the same batch dimensions", { wShape: w.shape, scalesShape: scales.shape }, ["scales", "shape"]);
  }

  const rank = w.shape.length;
  const rows = w.shape[rank - 2];
  if (scales.shape[rank - 2] !== rows) {
    fail("E_SCALES_ROWS", `scales.shape[-2] is ${scales.shape[rank - 2]} but w.shape[-2] is ${rows}; scales need one row per row of w`, { wShape: w.shape, scalesShape: scales.shape }, ["scales", "shape", -2]);
  }

  const wordsPerRow = w.shape[rank - 1];
  const groupsPerRow = scales.shape[rank - 1];
  const columns = (wordsPerRow * 32) / params.bits;
  if (!Number.isInteger(columns) || columns !== groupsPerRow * params.groupSize) {
    fail(
      "E_PACKED_SHAPE",
      `w.shape[-1] = ${wordsPerRow} words of ${params.bits}-bit codes do not make scales.shape[-1]·group_size = ${groupsPerRow * params.groupSize} columns`,
      { wShape: w.shape, scalesShape: scales.shape, bits: params.bits, groupSize: params.groupSize },
      ["scales", "shape", -1],
    );
  }
  packedWordsPerRow(columns, params.bits);

  let matrices = 1;
  for (const dim of w.shape.slice(0, -2)) matrices *= dim;

  return { rows, columns, matrices, wordsPerRow, groupsPerRow };
}

function checkReservedCodes(w: Tensor, scales: Tensor, params: QmmParams): void {
  const { mode } = params;
  if (mode === "affine") return;

  const scaleFormat = mode === "nvfp4" ? "e4m3" : "e8m0";
  const scaleHit = findReservedCodes(scales.data as Uint8Array, scaleFormat);
  if (scaleHit !== undefined) {
    fail(
      "E_RESERVED_SCALE",
      `scales contain ${scaleHit.count} reserved ${scaleFormat.toUpperCase()} byte(s), the first 0x${scaleHit.byte.toString(16)} at flat index ${scaleHit.index}`,
      { mode, byte: scaleHit.byte, flatIndex: scaleHit.index, count: scaleHit.count },
      ["scales", "data", scaleHit.index],
    );
  }

  if (mode !== "mxfp8") return;

  // Element i of an mxfp8 row is byte i of the row's little-endian byte string.
  const words = w.data as Uint32Array;
  const elementBytes = new Uint8Array(words.length * 4);
  for (let index = 0; index < words.length; index++) {
    const word = words[index];
    elementBytes[4 * index] = word & 0xff;
    elementBytes[4 * index + 1] = (word >>> 8) & 0xff;
    elementBytes[4 * index + 2] = (word >>> 16) & 0xff;
    elementBytes[4 * index + 3] = word >>> 24;
  }
  const elementHit = findReservedCodes(elementBytes, "e4m3");
  if (elementHit !== undefined) {
    fail(
      "E_RESERVED_ELEMENT",
      `w contains ${elementHit.count} reserved E4M3 element byte(s), the first 0x${elementHit.byte.toString(16)} in byte ${elementHit.index % 4} of flat word ${Math.floor(elementHit.index / 4)}`,
      { mode, byte: elementHit.byte, flatWord: Math.floor(elementHit.index / 4), byteInWord: elementHit.index % 4, count: elementHit.count },
      ["w", "data", Math.floor(elementHit.index / 4)],
    );
  }
}

function decodeScales(scales: Tensor, params: QmmParams): Float64Array {
  if (params.mode === "affine") return tensorToNumbers(scales);

  const decode = params.mode === "nvfp4" ? e4m3ToNumberMlxRelease : e8m0ToNumber;
  const bytes = scales.data as Uint8Array;
  const values = new Float64Array(bytes.length);
  for (let index = 0; index < bytes.length; index++) values[index] = decode(bytes[index]);
  return values;
}

/** Value of each element code: the code itself (affine), E2M1 (mxfp4, nvfp4) or E4M3 (mxfp8). */
function elementTable(params: QmmParams): Float64Array {
  const rule = MODE_RULES[params.mode];
  if (rule.element === "uint") return Float64Array.from({ length: 1 << params.bits }, (_, code) => code);
  if (rule.element === "e2m1") return Float64Array.from(E2M1_VALUES);
  return Float64Array.from({ length: 256 }, (_, code) => e4m3ToNumberMlxRelease(code));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, axis) => dim === b[axis]);
}
