/**
 * The structure classifier: names the pattern that the failed elements of one case form over the
 * output (batch, row, column), as a hint at the kind of bug. Quantized-matmul kernels tend to
 * fail in bands: a column tail left by a tile width, rows past a 16-bit index, one batch slice
 * with a wrong stride, NaN from an uninitialised buffer.
 */
import type { FailurePattern } from "../run/records.ts";

/** The facts the structural patterns are read from. */
export interface StructureInput {
  readonly outShape: readonly number[];
  readonly elementCount: number;
  /** Flat indices of the failed elements, ascending and non-empty. */
  readonly failedIndices: readonly number[];
  readonly got: Float64Array;
  readonly exact: Float64Array;
}

/** Tile widths whose column tails the classifier looks for, narrowest first. */
const TILE_WIDTHS = [8, 32, 64] as const;

/** The first row index that does not fit a signed 16-bit integer. */
const INT16_ROWS = 2 ** 15;

/** Returns the first structural pattern the failed elements match, or null. */
export function classifyStructure(input: StructureInput): FailurePattern | null {
  if (input.failedIndices.length === 0) return null;

  return (
    nanOnly(input) ??
    trailingColumns(input) ??
    largeRows(input) ??
    batchSlices(input) ??
    allElements(input)
  );
}

function nanOnly({ failedIndices, got, exact }: StructureInput): FailurePattern | null {
  const every = failedIndices.every((index) => Number.isNaN(got[index]) && Number.isFinite(exact[index]));
  if (!every) return null;
  return {
    name: "nan-only",
    description: "every failed element is NaN where the exact value is finite: look for uninitialised memory, 0·inf in padding, or a division by a zero scale",
  };
}

function trailingColumns({ outShape, failedIndices }: StructureInput): FailurePattern | null {
  const N = outShape[outShape.length - 1];
  for (const tile of TILE_WIDTHS) {
    if (N < tile || N % tile === 0) continue;

    const tailStart = N - (N % tile);
    if (failedIndices.every((index) => index % N >= tailStart)) {
      const tail = N - tailStart;
      return {
        name: `trailing-columns-${tile}`,
        description: `only the trailing ${tail} column(s) beyond a multiple of ${tile} fail (N = ${N}, columns ${tailStart}..${N - 1}): look at the tail handling after the last full tile of ${tile} columns`,
      };
    }
  }
  return null;
}

function largeRows({ outShape, failedIndices }: StructureInput): FailurePattern | null {
  if (outShape.length < 2) return null;

  const N = outShape[outShape.length - 1];
  const M = outShape[outShape.length - 2];
  const rowsInMatrix = failedIndices.every((index) => Math.floor(index / N) % M >= INT16_ROWS);
  const flatRows = failedIndices.every((index) => Math.floor(index / N) >= INT16_ROWS);
  if (!rowsInMatrix && !flatRows) return null;

  const where = rowsInMatrix ? "row index m" : "flattened row index (batch·M + m)";
  return {
    name: "rows-beyond-2^15",
    description: `only elements whose ${where} is at least 2^15 = 32768 fail: look for a 16-bit row index or offset that overflows`,
  };
}

function batchSlices({ outShape, elementCount, failedIndices }: StructureInput): FailurePattern | null {
  if (outShape.length < 3) return null;

  const sliceSize = outShape[outShape.length - 1] * outShape[outShape.length - 2];
  const sliceCount = elementCount / sliceSize;
  const failedSlices = new Set(failedIndices.map((index) => Math.floor(index / sliceSize)));
  if (sliceCount < 2 || failedSlices.size === sliceCount) return null;

  const listed = [...failedSlices].slice(0, 8).join(", ");
  const more = failedSlices.size > 8 ? ", ..." : "";
  return {
    name: "batch-slices",
    description: `only ${failedSlices.size} of ${sliceCount} batch slices fail (flat batch index ${listed}${more}): look at the batch strides and broadcasting (a stride-0 batch dimension is a common cause)`,
  };
}

function allElements({ elementCount, failedIndices }: StructureInput): FailurePattern | null {
  if (failedIndices.length !== elementCount) return null;
  return {
    name: "all-elements",
    description: "every element fails: suspect the dequantization formula, the accumulation dtype or the declared numerics variant rather than one kernel path",
  };
}
