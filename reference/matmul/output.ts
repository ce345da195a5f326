/** The per-element outputs of the exact kernels: y, the float64 exact value and the condition data. */
import { ExactAccumulator } from "../exact/accumulator.ts";
import { BINARY_FORMATS, type BinaryFormat } from "../exact/format.ts";
import type { FloatDType } from "../../spec/types.ts";

/** Buffers for every output element, written by index. */
export class OutputBuffers {
  readonly y: Float64Array;
  readonly exact: Float64Array;
  readonly absSum: Float64Array;
  readonly dequantAbsSum: Float64Array;
  readonly xAbsSum: Float64Array;
  private readonly format: BinaryFormat;

  constructor(count: number, outDType: FloatDType) {
    this.y = new Float64Array(count);
    this.exact = new Float64Array(count);
    this.absSum = new Float64Array(count);
    this.dequantAbsSum = new Float64Array(count);
    this.xAbsSum = new Float64Array(count);
    this.format = BINARY_FORMATS[outDType];
  }

  /** Stores element `index` from the accumulated exact sum (or from `nonFinite` when a term was NaN or infinite). */
  store(index: number, accumulator: ExactAccumulator, nonFinite: number | undefined, absSum: number, dequantAbsSum: number, xAbsSum: number): void {
    if (nonFinite === undefined) {
      this.y[index] = accumulator.round(this.format);
      this.exact[index] = accumulator.round(BINARY_FORMATS.float64);
    } else {
      this.y[index] = nonFinite;
      this.exact[index] = nonFinite;
    }
    this.absSum[index] = absSum;
    this.dequantAbsSum[index] = dequantAbsSum;
    this.xAbsSum[index] = xAbsSum;
  }
}
