/**
 * fast-check arbitraries of native backend calls aimed at the panel path of transpose=true and at
 * its edges. The driver pads M to a multiple of 4 (AVX-512) or 2 (AVX2), and the panel path
 * takes a padded M of at least 8 (AVX-512) or 4 (AVX2), so it starts at M = 5 or M = 3. The
 * draws cover
 * - row counts around the 16-row vectors and the 32- and 64-row tiles,
 * - column counts with every tail modulo the panel heights 14 and 6, and around the 224- and
 *   96-column chunks,
 * - K from 1 to 80 groups, every format, dtype mix and batch layout,
 * - every kind of adversarial data (adversarial-case.ts).
 * Each case's size is capped, because the exact reference is slow: it computed about 180 M
 * multiply-adds per second with float32 data on a 2-core Intel Xeon (AVX-512) machine.
 */
import fc from "fast-check";
import type { FloatDType } from "../../../spec/types.ts";
import { dataKindsFor } from "./adversarial-case.ts";
import type { DataKind } from "./adversarial-case.ts";
import { allFormats } from "./random-case.ts";
import type { CaseSpec } from "./random-case.ts";

/** One drawn case: the call's shape and types, its kind of data and the data's seed. */
export interface DrawnCase {
  readonly spec: CaseSpec;
  readonly kind: DataKind;
  readonly seed: number;
}

/**
 * Row counts at the edges of the row tiles. M = 3 and 5 are the first of the panel path on AVX2
 * and AVX-512. 16, 32 and 64 rows are one, two and four vectors of rows on AVX-512, and from a
 * padded M of 64 (M = 61) the AVX-512 panel has 6 rows of w in place of 14. Larger counts have
 * several tiles and a tail.
 */
const M_EDGES = [2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 47, 48, 49, 60, 61, 63, 64, 65, 68, 96, 100, 127, 128, 129, 130, 200];

/**
 * Column counts at the edges of the panels and chunks. 1 to 28 give every tail modulo 14 and 6,
 * and 84 is a multiple of both. 96 (16 panels of 6) and 224 (16 panels of 14) are the chunk
 * widths. 97 to 103 and 225 to 230 split into 17 tiles or more, past the 16 tasks of a 2-thread
 * pool.
 */
const N_EDGES = [
  ...Array.from({ length: 28 }, (_, i) => i + 1),
  83, 84, 85, 95, 96, 97, 98, 101, 102, 103, 191, 192, 193, 223, 224, 225, 226, 230, 239, 448, 449, 500,
];

/** Group counts along K: the smallest, a few around powers of two, and the maximum of 80. */
const GROUP_EDGES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64, 79, 80];

const FLOAT_DTYPES: readonly FloatDType[] = ["float32", "float16", "bfloat16"];

/**
 * Batch layouts: a 2-D x and w, x batches over one w, w batches broadcast over x (and the
 * reverse), and a vector x.
 */
const BATCH_LAYOUTS: readonly { readonly xBatch: number[]; readonly wBatch: number[]; readonly vectorX?: boolean }[] = [
  { xBatch: [], wBatch: [] },
  { xBatch: [2], wBatch: [] },
  { xBatch: [1], wBatch: [2] },
  { xBatch: [2], wBatch: [1] },
  { xBatch: [2], wBatch: [2] },
  { xBatch: [2, 1], wBatch: [3] },
  { xBatch: [], wBatch: [], vectorX: true },
];

/** Options of {@link drawnCaseArbitrary}. */
export interface ArbitraryOptions {
  /** The largest batch·M·N·K of a case; larger draws have their group count, then N, cut down. */
  readonly maxMultiplyAdds: number;
}

function edgeOrRange(edges: readonly number[], min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(...edges), fc.integer({ min, max }));
}

/** Returns the number of output matrices: the product of the NumPy broadcast of two batch shapes. */
function broadcastCount(xBatch: readonly number[], wBatch: readonly number[]): number {
  let count = 1;
  for (let axis = 1; axis <= Math.max(xBatch.length, wBatch.length); axis++) {
    count *= Math.max(xBatch[xBatch.length - axis] ?? 1, wBatch[wBatch.length - axis] ?? 1);
  }
  return count;
}

/** Draws cases as the module header describes. Nine in ten have transpose=true, and half have randomCall's data. */
export function drawnCaseArbitrary(options: ArbitraryOptions): fc.Arbitrary<DrawnCase> {
  return fc
    .record({
      format: fc.constantFrom(...allFormats()),
      transpose: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      M: edgeOrRange(M_EDGES, 2, 200),
      N: edgeOrRange(N_EDGES, 1, 500),
      groups: edgeOrRange(GROUP_EDGES, 1, 80),
      plainK: fc.integer({ min: 1, max: 300 }),
      xDType: fc.constantFrom(...FLOAT_DTYPES),
      scalesDType: fc.constantFrom(...FLOAT_DTYPES),
      biasesDType: fc.constantFrom(...FLOAT_DTYPES),
      layout: fc.oneof({ weight: 4, arbitrary: fc.constant(BATCH_LAYOUTS[0]) }, { weight: 6, arbitrary: fc.constantFrom(...BATCH_LAYOUTS.slice(1)) }),
      kindIndex: fc.nat(),
      gaussian: fc.boolean(),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    })
    .map((draw) => {
      const { format, transpose, layout } = draw;
      const M = layout.vectorX ? 1 : draw.M;
      const budget = Math.max(1, Math.floor(options.maxMultiplyAdds / (broadcastCount(layout.xBatch, layout.wBatch) * M)));

      // transpose=true reduces along the groups of w's rows (K = groups·group size); transpose=false
      // reduces over K rows of w, whose groups run along N.
      let N: number;
      let K: number;
      if (transpose) {
        N = Math.max(1, Math.min(draw.N, Math.floor(budget / format.groupSize)));
        K = format.groupSize * Math.max(1, Math.min(draw.groups, Math.floor(budget / (N * format.groupSize))));
      } else {
        N = format.groupSize * Math.max(1, Math.min(draw.groups, Math.floor(budget / format.groupSize)));
        K = Math.max(1, Math.min(draw.plainK, Math.floor(budget / N)));
      }

      const kinds = dataKindsFor(format.mode);
      const kind = draw.gaussian ? "gaussian" : kinds[draw.kindIndex % kinds.length];
      const spec: CaseSpec = {
        ...format,
        transpose,
        xDType: draw.xDType,
        scalesDType: draw.scalesDType,
        biasesDType: draw.biasesDType,
        M,
        K,
        N,
        xBatch: layout.xBatch,
        wBatch: layout.wBatch,
        ...(layout.vectorX ? { vectorX: true } : {}),
      };
      return { spec, kind, seed: draw.seed };
    });
}

/** Names a drawn case in one line, to print with a failure. */
export function describeCase(drawn: DrawnCase): string {
  const { spec } = drawn;
  const batch = spec.vectorX ? "vector x" : `x batch [${spec.xBatch}] w batch [${spec.wBatch}]`;
  const dtypes = `${spec.xDType}/${spec.scalesDType}/${spec.biasesDType}`;
  return `${spec.mode} b${spec.bits} g${spec.groupSize} transpose=${spec.transpose} ${dtypes} M=${spec.M} K=${spec.K} N=${spec.N} ${batch} data=${drawn.kind} seed=${drawn.seed}`;
}
