/**
 * The exact kernel for transpose=true: w contains W (N × K) quantized along K, so each output element
 * is Σ over groups of one scale (and bias) times a group dot product.
 *
 * Affine: Σ_g [s_g·Σ_k x_k·q_k + β_g·Σ_k x_k]. fp modes: Σ_g scale_g·Σ_k x_k·v_k. Where a group's
 * sums are exact in float64 (see row-groups.ts), the kernel adds two or four exact float64 parts per
 * group to the accumulator. Elsewhere it adds each term's exact parts one by one.
 */
import { ExactAccumulator } from "../exact/accumulator.ts";
import type { Operands } from "./operands.ts";
import type { OutputBuffers } from "./output.ts";
import { TermClasses } from "./non-finite.ts";
import type { RowGroups } from "./row-groups.ts";

/** Location of one output row's inputs and outputs. */
export interface TransposedRow {
  readonly xOffset: number;
  readonly codes: Uint8Array;
  /** Offset of this weight matrix's first scale (and bias). */
  readonly scaleOffset: number;
  /** Index of the row's first output element. */
  readonly outOffset: number;
  readonly groups: RowGroups;
  /** Per weight row n: 1 if any of its scales or biases is NaN or infinite. */
  readonly weightRowNonFinite: Uint8Array;
}

const accumulator = new ExactAccumulator();
const classes = new TermClasses();

/** Computes the N outputs of one row of x against one weight matrix. */
export function transposedRow(operands: Operands, row: TransposedRow, N: number, K: number, groupSize: number, output: OutputBuffers): void {
  const { x, scales, biases, elementValues, powerOfTwoScales } = operands;
  const { xOffset, codes, scaleOffset, outOffset, groups } = row;
  const groupCount = K / groupSize;

  for (let n = 0; n < N; n++) {
    const codeOffset = n * K;
    const scaleBase = scaleOffset + n * groupCount;

    if (groups.nonFinite || row.weightRowNonFinite[n] === 1) {
      const special = classifyTerms(operands, xOffset, codes, codeOffset, scaleBase, K, groupSize);
      if (special !== undefined) {
        output.store(outOffset + n, accumulator, special, NaN, NaN, groups.rowAbsSum);
        continue;
      }
    }

    accumulator.reset();
    let absSum = 0;
    let dequantAbsSum = 0;

    for (let g = 0; g < groupCount; g++) {
      const scale = scales[scaleBase + g];
      const bias = biases === undefined ? 0 : biases[scaleBase + g];
      const start = g * groupSize;
      let dot = 0;
      let absDot = 0;

      if (biases !== undefined) {
        let absTerms = 0;
        if (groups.fast[g] === 1) {
          for (let k = start; k < start + groupSize; k++) {
            const xv = x[xOffset + k];
            const q = elementValues[codes[codeOffset + k]];
            const xq = xv * q;
            dot += xq;
            absDot += Math.abs(xq);
            absTerms += Math.abs(xv * (scale * q + bias));
          }
          accumulator.addProduct(scale, dot);
          accumulator.addProduct(bias, groups.sum[g]);
        } else {
          for (let k = start; k < start + groupSize; k++) {
            const xv = x[xOffset + k];
            const q = elementValues[codes[codeOffset + k]];
            const xq = xv * q;
            accumulator.addProduct(xq, scale);
            accumulator.add(xv * bias);
            absDot += Math.abs(xq);
            absTerms += Math.abs(xv * (scale * q + bias));
          }
        }
        absSum += absTerms;
        dequantAbsSum += Math.abs(scale) * absDot + Math.abs(bias) * groups.absSum[g];
        continue;
      }

      if (groups.fast[g] === 1) {
        for (let k = start; k < start + groupSize; k++) {
          const xv = x[xOffset + k] * elementValues[codes[codeOffset + k]];
          dot += xv;
          absDot += Math.abs(xv);
        }
        if (powerOfTwoScales) accumulator.add(dot * scale);
        else accumulator.addProduct(dot, scale);
      } else {
        for (let k = start; k < start + groupSize; k++) {
          const xv = x[xOffset + k] * elementValues[codes[codeOffset + k]];
          accumulator.add(xv * scale);
          absDot += Math.abs(xv);
        }
      }
      absSum += Math.abs(scale) * absDot;
      dequantAbsSum = absSum;
    }

    output.store(outOffset + n, accumulator, undefined, absSum, dequantAbsSum, groups.rowAbsSum);
  }
}

function classifyTerms(operands: Operands, xOffset: number, codes: Uint8Array, codeOffset: number, scaleBase: number, K: number, groupSize: number): number | undefined {
  const { x, scales, biases, elementValues } = operands;
  classes.reset();
  for (let k = 0; k < K; k++) {
    const g = Math.floor(k / groupSize);
    const value = elementValues[codes[codeOffset + k]];
    const weight = biases === undefined ? scales[scaleBase + g] * value : scales[scaleBase + g] * value + biases[scaleBase + g];
    classes.record(x[xOffset + k] * weight);
  }
  return classes.result();
}
