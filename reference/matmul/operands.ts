/**
 * Decodes the operands of a validated call once into float64 arrays, so the kernels read plain
 * numbers: x cast to the output dtype (always exact, SPEC.md §7.2), scales and biases as values,
 * and a table from element code to element value (SPEC.md §3, §4).
 */
import { e4m3ToNumber } from "../formats/e4m3.ts";
import { E2M1_VALUES } from "../formats/e2m1.ts";
import { e8m0ToNumber } from "../formats/e8m0.ts";
import { unpackCodes } from "../pack.ts";
import { tensorToNumbers } from "../tensor.ts";
import type { ResolvedCall } from "../result.ts";
import type { QmmInputs } from "../../spec/types.ts";

/** The decoded operands of one call. */
export interface Operands {
  /** x values, row-major over x's own shape. */
  readonly x: Float64Array;
  /** Precision of x's dtype (24, 11 or 8): every x value has at most this many significant bits. */
  readonly xPrecision: number;
  /** Decoded scales, row-major over scales' shape. */
  readonly scales: Float64Array;
  /** Decoded biases (affine), or undefined. */
  readonly biases: Float64Array | undefined;
  /** Element value of each code: the code itself for affine, E2M1 or E4M3 values otherwise. */
  readonly elementValues: Float64Array;
  /** max |elementValues|. */
  readonly elementMax: number;
  /** Every element value is a multiple of 2^elementLowBit. */
  readonly elementLowBit: number;
  /** Whether the scales are powers of two (E8M0), so that scaling is exact in float64. */
  readonly powerOfTwoScales: boolean;
  /** Rows and logical columns of one weight matrix (R × C, quantized along C). */
  readonly weightRows: number;
  readonly weightColumns: number;
  /** Returns the unpacked codes of weight matrix `batchIndex` (row-major R × C), unpacking each at most once. */
  codes(batchIndex: number): Uint8Array;
  /** Returns the codes of weight matrix `batchIndex` transposed (column-major, C × R), so a column reads contiguously. */
  codesByColumn(batchIndex: number): Uint8Array;
}

const PRECISION = { float32: 24, float16: 11, bfloat16: 8 } as const;

/** Decodes the operands of a call that {@link resolveCall} accepted. */
export function decodeOperands(inputs: QmmInputs, call: ResolvedCall): Operands {
  const { mode, bits } = call.params;
  const x = tensorToNumbers(inputs.x);
  const xDType = inputs.x.dtype as keyof typeof PRECISION;

  let scales: Float64Array;
  if (mode === "affine") scales = tensorToNumbers(inputs.scales);
  else {
    const decode = mode === "nvfp4" ? e4m3ToNumber : e8m0ToNumber;
    const bytes = inputs.scales.data as Uint8Array;
    scales = new Float64Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) scales[i] = decode(bytes[i]);
  }
  const biases = mode === "affine" && inputs.biases ? tensorToNumbers(inputs.biases) : undefined;

  const table = elementTable(mode, bits);

  const wShape = inputs.w.shape;
  const weightRows = wShape[wShape.length - 2];
  const wordsPerRow = wShape[wShape.length - 1];
  const weightColumns = (wordsPerRow * 32) / bits;
  const words = inputs.w.data as Uint32Array;
  const cache = new Map<number, Uint8Array>();
  const columnCache = new Map<number, Uint8Array>();

  return {
    x,
    xPrecision: PRECISION[xDType],
    scales,
    biases,
    ...table,
    powerOfTwoScales: mode === "mxfp4" || mode === "mxfp8",
    weightRows,
    weightColumns,
    codes(batchIndex: number): Uint8Array {
      let codes = cache.get(batchIndex);
      if (codes === undefined) {
        const start = batchIndex * weightRows * wordsPerRow;
        codes = unpackCodes(words.subarray(start, start + weightRows * wordsPerRow), bits, weightRows, weightColumns);
        cache.set(batchIndex, codes);
      }
      return codes;
    },
    codesByColumn(batchIndex: number): Uint8Array {
      let transposed = columnCache.get(batchIndex);
      if (transposed === undefined) {
        const codes = this.codes(batchIndex);
        transposed = new Uint8Array(codes.length);
        for (let r = 0; r < weightRows; r++) {
          for (let c = 0; c < weightColumns; c++) transposed[c * weightRows + r] = codes[r * weightColumns + c];
        }
        columnCache.set(batchIndex, transposed);
      }
      return transposed;
    },
  };
}

function elementTable(mode: ResolvedCall["params"]["mode"], bits: number): Pick<Operands, "elementValues" | "elementMax" | "elementLowBit"> {
  if (mode === "affine") {
    const values = Float64Array.from({ length: 1 << bits }, (_, code) => code);
    return { elementValues: values, elementMax: (1 << bits) - 1, elementLowBit: 0 };
  }

  // E2M1 values are multiples of 2^-1; E4M3 values (subnormals m/8·2^-6 included) are multiples of 2^-9.
  const values = mode === "mxfp8" ? Float64Array.from({ length: 256 }, (_, code) => e4m3ToNumber(code)) : Float64Array.from(E2M1_VALUES);
  let max = 0;
  for (const value of values) max = Math.max(max, Math.abs(value));
  return { elementValues: values, elementMax: max, elementLowBit: mode === "mxfp8" ? -9 : -1 };
}
