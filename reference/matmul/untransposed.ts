/**
 * The exact kernel for transpose=false: w contains W (K × N) quantized along N, so groups run across
 * the output columns. For output column n in group g:
 *   affine:   y_n = Σ_k (x_k·s_kg)·q_kn + Σ_k x_k·β_kg
 *   fp modes: y_n = Σ_k (x_k·scale_kg)·v_kn
 * The products x_k·s_kg and x_k·β_kg are exact in float64 (at most 24 + 24 significant bits). Per
 * group they are split into fixed-grid chunks (chunks.ts) so that each chunk's weighted sum over k
 * is exact in float64; the bias sum is shared by the group's columns. Where the values span too many
 * binades, each term's exact parts go into the accumulator one by one.
 */
import { ExactAccumulator } from "../exact/accumulator.ts";
import type { Operands } from "./operands.ts";
import type { OutputBuffers } from "./output.ts";
import { TermClasses } from "./non-finite.ts";
import { MAX_CHUNKS, splitIntoChunks } from "./chunks.ts";

/** Location of one output row's inputs and outputs. */
export interface UntransposedRow {
  readonly xOffset: number;
  /** Codes column-major (N × K), so that one output's codes are contiguous. */
  readonly codesByColumn: Uint8Array;
  readonly scaleOffset: number;
  readonly outOffset: number;
  /** Per group of output columns: 1 if any scale or bias of that group (over all k) is NaN or infinite. */
  readonly groupNonFinite: Uint8Array;
}

const accumulator = new ExactAccumulator();
const classes = new TermClasses();

/** Per-group working buffers, grown on demand. */
let scaled = new Float64Array(0);
let biased = new Float64Array(0);
let scaledChunks = new Float64Array(0);
let biasChunks = new Float64Array(0);

function ensureCapacity(K: number): void {
  if (scaled.length >= K) return;
  scaled = new Float64Array(K);
  biased = new Float64Array(K);
  scaledChunks = new Float64Array(K * MAX_CHUNKS);
  biasChunks = new Float64Array(K * MAX_CHUNKS);
}

/** Computes the N outputs of one row of x against one weight matrix. */
export function untransposedRow(operands: Operands, row: UntransposedRow, N: number, K: number, groupSize: number, output: OutputBuffers): void {
  const { x, scales, biases } = operands;
  const { xOffset, scaleOffset } = row;
  const groupCount = N / groupSize;
  ensureCapacity(K);

  let xAbsSum = 0;
  let xNonFinite = false;
  for (let k = 0; k < K; k++) {
    const value = x[xOffset + k];
    if (Number.isFinite(value)) xAbsSum += Math.abs(value);
    else xNonFinite = true;
  }

  // Values are integers below 2^weightBits on the grid of elementLowBit.
  const weightBits = Math.ceil(Math.log2(operands.elementMax * 2 ** -operands.elementLowBit + 1));

  for (let g = 0; g < groupCount; g++) {
    const columns = { start: g * groupSize, end: (g + 1) * groupSize };

    if (xNonFinite || row.groupNonFinite[g] === 1) {
      for (let n = columns.start; n < columns.end; n++) {
        const special = classifyColumn(operands, row, n, g, K, groupCount);
        if (special !== undefined) output.store(row.outOffset + n, accumulator, special, NaN, NaN, xAbsSum);
        else slowColumn(operands, row, n, g, K, groupCount, xAbsSum, output);
      }
      continue;
    }

    let biasAbsSum = 0;
    for (let k = 0; k < K; k++) {
      const scaleIndex = scaleOffset + k * groupCount + g;
      scaled[k] = x[xOffset + k] * scales[scaleIndex];
      biased[k] = biases === undefined ? 0 : x[xOffset + k] * biases[scaleIndex];
      biasAbsSum += Math.abs(biased[k]);
    }

    const scaledCount = splitIntoChunks(scaled.subarray(0, K), weightBits, scaledChunks);
    const biasCount = biases === undefined ? 0 : splitIntoChunks(biased.subarray(0, K), 1, biasChunks);
    if (scaledCount === undefined || biasCount === undefined) {
      for (let n = columns.start; n < columns.end; n++) slowColumn(operands, row, n, g, K, groupCount, xAbsSum, output);
      continue;
    }

    const biasSums = new Float64Array(biasCount);
    for (let j = 0; j < biasCount; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += biasChunks[j * K + k];
      biasSums[j] = sum;
    }

    for (let n = columns.start; n < columns.end; n++) {
      chunkedColumn(operands, row, n, K, scaledCount, biasSums, biasAbsSum, xAbsSum, output);
    }
  }
}

/** Computes output n from the chunked sums; every float64 addition here is exact (chunks.ts). */
function chunkedColumn(
  operands: Operands,
  row: UntransposedRow,
  n: number,
  K: number,
  scaledCount: number,
  biasSums: Float64Array,
  biasAbsSum: number,
  xAbsSum: number,
  output: OutputBuffers,
): void {
  const { elementValues } = operands;
  const codes = row.codesByColumn;
  const codeOffset = n * K;
  accumulator.reset();

  let absSum = 0;
  let scaledAbsSum = 0;
  for (let k = 0; k < K; k++) {
    const value = elementValues[codes[codeOffset + k]];
    const term = scaled[k] * value;
    absSum += Math.abs(term + biased[k]);
    scaledAbsSum += Math.abs(term);
  }

  for (let j = 0; j < scaledCount; j++) {
    const chunk = j * K;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += scaledChunks[chunk + k] * elementValues[codes[codeOffset + k]];
    accumulator.add(sum);
  }
  for (const sum of biasSums) accumulator.add(sum);

  const dequantAbsSum = operands.biases === undefined ? absSum : scaledAbsSum + biasAbsSum;
  output.store(row.outOffset + n, accumulator, undefined, absSum, dequantAbsSum, xAbsSum);
}

/** Computes output n by adding each term's exact parts: x_k·q·s as a two-part product plus x_k·β (affine), or x_k·v·scale. */
function slowColumn(operands: Operands, row: UntransposedRow, n: number, g: number, K: number, groupCount: number, xAbsSum: number, output: OutputBuffers): void {
  const { x, scales, biases, elementValues } = operands;
  accumulator.reset();
  let absSum = 0;
  let dequantAbsSum = 0;

  for (let k = 0; k < K; k++) {
    const xv = x[row.xOffset + k];
    if (xv === 0) continue;

    const scaleIndex = row.scaleOffset + k * groupCount + g;
    const scale = scales[scaleIndex];
    const value = elementValues[row.codesByColumn[n * K + k]];
    const xValue = xv * value;

    if (biases === undefined) {
      accumulator.add(xValue * scale);
      absSum += Math.abs(xValue * scale);
    } else {
      const bias = biases[scaleIndex];
      accumulator.addProduct(xValue, scale);
      accumulator.add(xv * bias);
      absSum += Math.abs(xv * (scale * value + bias));
      dequantAbsSum += Math.abs(xv) * (Math.abs(scale) * value + Math.abs(bias));
    }
  }

  output.store(row.outOffset + n, accumulator, undefined, absSum, biases === undefined ? absSum : dequantAbsSum, xAbsSum);
}

/** Returns the non-finite value of output n (SPEC.md §8.3), or undefined when all its terms are finite. */
function classifyColumn(operands: Operands, row: UntransposedRow, n: number, g: number, K: number, groupCount: number): number | undefined {
  const { x, scales, biases, elementValues } = operands;
  classes.reset();
  for (let k = 0; k < K; k++) {
    const scaleIndex = row.scaleOffset + k * groupCount + g;
    const value = elementValues[row.codesByColumn[n * K + k]];
    const weight = biases === undefined ? scales[scaleIndex] * value : scales[scaleIndex] * value + biases[scaleIndex];
    classes.record(x[row.xOffset + k] * weight);
  }
  return classes.result();
}
