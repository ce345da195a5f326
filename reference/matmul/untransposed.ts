/**
 * The exact kernel for transpose=false: w contains W (K × N) quantized along N, so groups run across
 * the output columns and no factoring along the reduction is possible. Each term's exact float64
 * parts go into the accumulator one by one: x_k·q_k·s exactly as a two-part product plus x_k·β
 * (affine), or x_k·v_k·scale as a single exact float64 (fp modes).
 *
 * NOTE: this path costs about three accumulator adds per multiply-accumulate, several times the
 * transposed kernel's cost; a grouped fast path like row-groups.ts would need the exponent span of
 * x_k·s_k down each column, which is not implemented.
 */
import { ExactAccumulator } from "../exact/accumulator.ts";
import type { Operands } from "./operands.ts";
import type { OutputBuffers } from "./output.ts";
import { TermClasses } from "./non-finite.ts";

/** Location of one output row's inputs and outputs. */
export interface UntransposedRow {
  readonly xOffset: number;
  readonly codes: Uint8Array;
  readonly scaleOffset: number;
  readonly outOffset: number;
  /** Per group of output columns: 1 if any scale or bias of that group (over all k) is NaN or infinite. */
  readonly groupNonFinite: Uint8Array;
}

const accumulator = new ExactAccumulator();
const classes = new TermClasses();

/** Computes the N outputs of one row of x against one weight matrix. */
export function untransposedRow(operands: Operands, row: UntransposedRow, N: number, K: number, groupSize: number, output: OutputBuffers): void {
  const { x, scales, biases, elementValues } = operands;
  const { xOffset, codes, scaleOffset, outOffset } = row;
  const groupCount = N / groupSize;

  let xAbsSum = 0;
  let xNonFinite = false;
  for (let k = 0; k < K; k++) {
    const value = x[xOffset + k];
    if (Number.isFinite(value)) xAbsSum += Math.abs(value);
    else xNonFinite = true;
  }

  for (let n = 0; n < N; n++) {
    const g = Math.floor(n / groupSize);

    if (xNonFinite || row.groupNonFinite[g] === 1) {
      classes.reset();
      for (let k = 0; k < K; k++) {
        const scaleIndex = scaleOffset + k * groupCount + g;
        const value = elementValues[codes[k * N + n]];
        const weight = biases === undefined ? scales[scaleIndex] * value : scales[scaleIndex] * value + biases[scaleIndex];
        classes.record(x[xOffset + k] * weight);
      }
      const special = classes.result();
      if (special !== undefined) {
        output.store(outOffset + n, accumulator, special, NaN, NaN, xAbsSum);
        continue;
      }
    }

    accumulator.reset();
    let absSum = 0;
    let dequantAbsSum = 0;

    for (let k = 0; k < K; k++) {
      const xv = x[xOffset + k];
      if (xv === 0) continue;

      const scaleIndex = scaleOffset + k * groupCount + g;
      const scale = scales[scaleIndex];
      const value = elementValues[codes[k * N + n]];
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

    output.store(outOffset + n, accumulator, undefined, absSum, biases === undefined ? absSum : dequantAbsSum, xAbsSum);
  }
}
