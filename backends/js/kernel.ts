/**
 * The JS backend's kernel: quantized_matmul in plain TypeScript with typed arrays. Scales and
 * biases are decoded once per call and codes are unpacked one weight row at a time. Each row is
 * dequantized to float64: s·q+β rounds once in the addition, and fp-mode weights are exact.
 * Products and sums are float64, and each output element is rounded once to the output dtype.
 * Nothing is allocated per element.
 */
import { e4m3ToNumber, E4M3_VALUES } from "../../reference/formats/e4m3.ts";
import { E2M1_VALUES } from "../../reference/formats/e2m1.ts";
import { e8m0ToNumber } from "../../reference/formats/e8m0.ts";
import { broadcastSourceIndices } from "../../reference/matmul/batch.ts";
import { unpackRowInto } from "../../reference/pack.ts";
import type { ResolvedCall } from "../../reference/result.ts";
import { tensorFromNumbers, tensorToNumbers } from "../../reference/tensor.ts";
import { resolveCall } from "../../reference/validate.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../../spec/types.ts";

/** Per-group scale and bias values of every weight matrix, and the element table of the fp modes. */
interface DecodedWeights {
  readonly scales: Float64Array;
  /** Affine only. */
  readonly biases?: Float64Array;
  /** fp modes: the value of each element code. */
  readonly elementValues?: Float64Array;
}

function decodeWeights(inputs: QmmInputs, call: ResolvedCall): DecodedWeights {
  const mode = call.params.mode;
  if (mode === "affine") return { scales: tensorToNumbers(inputs.scales), biases: tensorToNumbers(inputs.biases!) };

  const bytes = inputs.scales.data as Uint8Array;
  const scales = new Float64Array(bytes.length);
  const decodeScale = mode === "nvfp4" ? e4m3ToNumber : e8m0ToNumber;
  for (let index = 0; index < bytes.length; index++) scales[index] = decodeScale(bytes[index]);

  const elementValues = mode === "mxfp8" ? E4M3_VALUES : Float64Array.from(E2M1_VALUES);
  return { scales, elementValues };
}

/**
 * Computes y = quantized_matmul(x, w, scales, biases) as described in the file header. Throws the
 * reference validation's QmmError for invalid input (SPEC.md §9.1).
 */
export function jsQuantizedMatmul(inputs: QmmInputs, params: QmmParamsInput): Tensor {
  const call = resolveCall(inputs, params);
  const { M, K, N } = call;
  const { transpose, bits, groupSize } = call.params;

  // x keeps its values: the cast to the output dtype never narrows (SPEC.md §7.3).
  const x = tensorToNumbers(inputs.x);
  const words = inputs.w.data as Uint32Array;
  const weights = decodeWeights(inputs, call);

  const rows = transpose ? N : K;
  const cols = transpose ? K : N;
  const wordsPerRow = (cols * bits) / 32;
  const groupsPerRow = cols / groupSize;
  const matrixCount = call.wBatch.reduce((product, size) => product * size, 1);
  const batchCount = call.outBatch.reduce((product, size) => product * size, 1);
  const xSources = broadcastSourceIndices(call.outBatch, call.xBatch);
  const wSources = broadcastSourceIndices(call.outBatch, call.wBatch);

  const out = new Float64Array(batchCount * M * N);
  const layout: Layout = { M, K, N, rows, cols, bits, groupSize, wordsPerRow, groupsPerRow, words, weights, x, xSources, out };

  for (let matrix = 0; matrix < matrixCount; matrix++) {
    const batches: number[] = [];
    for (let b = 0; b < batchCount; b++) if (wSources[b] === matrix) batches.push(b);
    if (batches.length === 0) continue;

    if (transpose) transposedMatrix(layout, matrix, batches);
    else untransposedMatrix(layout, matrix, batches);
  }

  return tensorFromNumbers(call.outDType, call.outShape, out);
}

/** Sizes and buffers of one call, shared by the two layouts. */
interface Layout {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly rows: number;
  readonly cols: number;
  readonly bits: number;
  readonly groupSize: number;
  readonly wordsPerRow: number;
  readonly groupsPerRow: number;
  readonly words: Uint32Array;
  readonly weights: DecodedWeights;
  readonly x: Float64Array;
  readonly xSources: Int32Array;
  readonly out: Float64Array;
}

/** Rows of a transposed weight dequantized together, so each row of x is read once per block. */
const ROW_BLOCK = 4;

/** Computes y[b, m, n] = Σ_k x[m, k]·ŵ[n, k] for the output batches `batches` that use weight matrix `matrix`. */
function transposedMatrix(layout: Layout, matrix: number, batches: readonly number[]): void {
  const { M, K, N, rows, cols, bits, groupSize, wordsPerRow, groupsPerRow, words, weights, x, xSources, out } = layout;
  const codes = new Uint8Array(cols);

  // One output row: dequantize inside the dot, so the weight row is read once.
  if (batches.length === 1 && M === 1) {
    const fusedDot = weights.biases !== undefined ? affineDot : fpDot;
    for (let r = 0; r < rows; r++) {
      unpackRowInto(words, (matrix * rows + r) * wordsPerRow, bits, cols, codes, 0);
      out[batches[0] * N + r] = fusedDot(x, xSources[batches[0]] * K, codes, weights, (matrix * rows + r) * groupsPerRow, groupSize, groupsPerRow);
    }
    return;
  }

  const block = new Float64Array(ROW_BLOCK * cols);
  for (let first = 0; first < rows; first += ROW_BLOCK) {
    const count = Math.min(ROW_BLOCK, rows - first);
    for (let i = 0; i < count; i++) {
      const r = first + i;
      unpackRowInto(words, (matrix * rows + r) * wordsPerRow, bits, cols, codes, 0);
      dequantizeRow(weights, (matrix * rows + r) * groupsPerRow, groupSize, groupsPerRow, codes, block.subarray(i * cols, (i + 1) * cols));
    }

    for (const b of batches) {
      const xBase = xSources[b] * M * K;
      let m = 0;
      if (count === ROW_BLOCK) {
        for (; m + 1 < M; m += 2) dot2x4(x, xBase + m * K, block, K, out, b * M * N + m * N + first, N);
      }
      for (; m < M; m++) {
        const target = b * M * N + m * N + first;
        if (count === ROW_BLOCK) dot4(x, xBase + m * K, block, K, out, target);
        else for (let i = 0; i < count; i++) out[target + i] = dot(x, xBase + m * K, block.subarray(i * cols, (i + 1) * cols), K);
      }
    }
  }
}

/** Computes y[b, m, n] = Σ_k x[m, k]·ŵ[k, n], accumulating one weight row at a time. */
function untransposedMatrix(layout: Layout, matrix: number, batches: readonly number[]): void {
  const { M, K, N, rows, cols, bits, groupSize, wordsPerRow, groupsPerRow, words, weights, x, xSources, out } = layout;
  const codes = new Uint8Array(cols);
  const row = new Float64Array(cols);

  for (let r = 0; r < rows; r++) {
    unpackRowInto(words, (matrix * rows + r) * wordsPerRow, bits, cols, codes, 0);
    dequantizeRow(weights, (matrix * rows + r) * groupsPerRow, groupSize, groupsPerRow, codes, row);

    for (const b of batches) {
      const xBase = xSources[b] * M * K;
      for (let m = 0; m < M; m++) axpy(x[xBase + m * K + r], row, out, b * M * N + m * N, N);
    }
  }
}

function dequantizeRow(weights: DecodedWeights, scaleBase: number, groupSize: number, groups: number, codes: Uint8Array, row: Float64Array): void {
  const { scales, biases, elementValues } = weights;

  for (let g = 0; g < groups; g++) {
    const scale = scales[scaleBase + g];
    const start = g * groupSize;
    const end = start + groupSize;

    if (biases !== undefined) {
      const bias = biases[scaleBase + g];
      for (let c = start; c < end; c++) row[c] = scale * codes[c] + bias;
    } else {
      const table = elementValues!;
      for (let c = start; c < end; c++) row[c] = scale * table[codes[c]];
    }
  }
}

/** Returns Σ_k x[offset + k]·(s·q_k + β) for one affine weight row, with the roundings of dequantizeRow then dot. */
function affineDot(x: Float64Array, offset: number, codes: Uint8Array, weights: DecodedWeights, scaleBase: number, groupSize: number, groups: number): number {
  const scales = weights.scales;
  const biases = weights.biases!;
  let s0 = 0;
  let s1 = 0;

  for (let g = 0; g < groups; g++) {
    const scale = scales[scaleBase + g];
    const bias = biases[scaleBase + g];
    const start = g * groupSize;
    for (let c = start; c < start + groupSize; c += 2) {
      s0 += x[offset + c] * (scale * codes[c] + bias);
      s1 += x[offset + c + 1] * (scale * codes[c + 1] + bias);
    }
  }
  return s0 + s1;
}

/** Returns Σ_k x[offset + k]·(scale·value(q_k)) for one fp-mode weight row, with the roundings of dequantizeRow then dot. */
function fpDot(x: Float64Array, offset: number, codes: Uint8Array, weights: DecodedWeights, scaleBase: number, groupSize: number, groups: number): number {
  const scales = weights.scales;
  const table = weights.elementValues!;
  let s0 = 0;
  let s1 = 0;

  for (let g = 0; g < groups; g++) {
    const scale = scales[scaleBase + g];
    const start = g * groupSize;
    for (let c = start; c < start + groupSize; c += 2) {
      s0 += x[offset + c] * (scale * table[codes[c]]);
      s1 += x[offset + c + 1] * (scale * table[codes[c + 1]]);
    }
  }
  return s0 + s1;
}

/** Returns Σ x[offset + k]·w[k] in float64 with four partial sums, an order the declared variant allows. */
function dot(x: Float64Array, offset: number, w: Float64Array, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;

  for (; k + 4 <= length; k += 4) {
    s0 += x[offset + k] * w[k];
    s1 += x[offset + k + 1] * w[k + 1];
    s2 += x[offset + k + 2] * w[k + 2];
    s3 += x[offset + k + 3] * w[k + 3];
  }
  for (; k < length; k++) s0 += x[offset + k] * w[k];

  return s0 + s1 + (s2 + s3);
}

/** Writes the four dots of one x row with the four rows of `block` (each `length` long) to out[target..target+3]. */
function dot4(x: Float64Array, offset: number, block: Float64Array, length: number, out: Float64Array, target: number): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const r1 = length;
  const r2 = 2 * length;
  const r3 = 3 * length;

  for (let k = 0; k < length; k++) {
    const value = x[offset + k];
    s0 += value * block[k];
    s1 += value * block[r1 + k];
    s2 += value * block[r2 + k];
    s3 += value * block[r3 + k];
  }

  out[target] = s0;
  out[target + 1] = s1;
  out[target + 2] = s2;
  out[target + 3] = s3;
}

/**
 * Writes the dots of two consecutive x rows with the four rows of `block`: row m to
 * out[target..target+3] and row m+1 to out[target+stride..]. Each weight value is loaded once for both.
 */
function dot2x4(x: Float64Array, offset: number, block: Float64Array, length: number, out: Float64Array, target: number, stride: number): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let b3 = 0;
  const next = offset + length;

  for (let k = 0; k < length; k++) {
    const u = x[offset + k];
    const v = x[next + k];
    const w0 = block[k];
    const w1 = block[length + k];
    const w2 = block[2 * length + k];
    const w3 = block[3 * length + k];
    a0 += u * w0;
    a1 += u * w1;
    a2 += u * w2;
    a3 += u * w3;
    b0 += v * w0;
    b1 += v * w1;
    b2 += v * w2;
    b3 += v * w3;
  }

  out[target] = a0;
  out[target + 1] = a1;
  out[target + 2] = a2;
  out[target + 3] = a3;
  out[target + stride] = b0;
  out[target + stride + 1] = b1;
  out[target + stride + 2] = b2;
  out[target + stride + 3] = b3;
}

/** Adds a·w[n] to out[offset + n] for n < length. */
function axpy(a: number, w: Float64Array, out: Float64Array, offset: number, length: number): void {
  for (let n = 0; n < length; n++) out[offset + n] += a * w[n];
}
