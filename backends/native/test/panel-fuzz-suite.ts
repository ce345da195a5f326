/**
 * Randomized shapes and adversarial data for the native backend's panel path, judged against the
 * exact reference. Shared by the AVX-512 and the forced-AVX2 test files.
 *
 * The committed run is small and has a fixed seed. To hunt for bugs, raise it with environment
 * variables, for example
 *   QMM_NATIVE_FUZZ_RUNS=2000 QMM_NATIVE_FUZZ_MAX_MULTIPLY_ADDS=30000000 QMM_NATIVE_FUZZ_SEED=$RANDOM \
 *     npx vitest run backends/native/test/native.test.ts
 * A failure prints the shrunk case, and fast-check's seed and path replay it.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { adversarialCall, dataKindsFor } from "./adversarial-case.ts";
import { judge } from "./conformance-suite.ts";
import { describeCase, drawnCaseArbitrary } from "./panel-arbitrary.ts";
import type { DrawnCase } from "./panel-arbitrary.ts";
import { allFormats } from "./random-case.ts";
import type { FloatDType } from "../../../spec/types.ts";

/** Reads a positive integer from the environment, or returns `fallback` when the variable is unset. */
export function environmentInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;

  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`invalid ${name}=${JSON.stringify(text)}: expected a positive integer`);
  }
  return value;
}

const RUNS = environmentInteger("QMM_NATIVE_FUZZ_RUNS", 60);
const MAX_MULTIPLY_ADDS = environmentInteger("QMM_NATIVE_FUZZ_MAX_MULTIPLY_ADDS", 3_000_000);
const SEED = environmentInteger("QMM_NATIVE_FUZZ_SEED", 20261204);

/** Runs a drawn case on the native backend and asserts that every output element is within budget. */
export async function expectWithinBudget(drawn: DrawnCase): Promise<void> {
  const { inputs, params } = adversarialCall(drawn.spec, drawn.kind, drawn.seed);
  const verdict = await judge(inputs, params);
  expect(verdict.failed, `${describeCase(drawn)}: ${verdict.worst}`).toBe(0);
}

const DTYPE_MIXES: readonly [FloatDType, FloatDType, FloatDType][] = [
  ["float32", "float32", "float32"],
  ["bfloat16", "float16", "float32"],
  ["float16", "float32", "bfloat16"],
  ["float32", "bfloat16", "float16"],
];

/**
 * Lists every format with every kind of data that applies to it, on panel-path shapes. M and N
 * rotate through values that leave row and column tails, and every third case has x and w batches.
 */
function kindTable(): DrawnCase[] {
  const rowCounts = [8, 17, 33, 65, 130];
  const columnCounts = [13, 29, 50, 97];
  const cases: DrawnCase[] = [];
  let index = 0;
  for (const format of allFormats()) {
    for (const kind of dataKindsFor(format.mode)) {
      const [xDType, scalesDType, biasesDType] = DTYPE_MIXES[index % DTYPE_MIXES.length];
      const batched = index % 3 === 1;
      cases.push({
        spec: {
          ...format,
          transpose: true,
          xDType,
          scalesDType,
          biasesDType,
          M: rowCounts[index % rowCounts.length],
          K: format.groupSize * 3,
          N: columnCounts[index % columnCounts.length],
          xBatch: batched ? [2, 1] : [],
          wBatch: batched ? [2] : [],
        },
        kind,
        seed: 5000 + index,
      });
      index++;
    }
  }
  return cases;
}

/**
 * Lists calls whose transposed x has 1024 floats per row before padding (M = 1021 pads to 1024
 * rows on both kernel sets). The driver then adds 16 floats to the row stride, which these
 * calls cover beyond the drawn row counts of at most 200.
 */
function strideTable(): DrawnCase[] {
  const cases: DrawnCase[] = [];
  for (const M of [1021, 1024]) {
    cases.push({
      spec: { mode: "nvfp4", bits: 4, groupSize: 16, transpose: true, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M, K: 32, N: 15, xBatch: [], wBatch: [] },
      kind: "gaussian",
      seed: M,
    });
    cases.push({
      spec: { mode: "affine", bits: 3, groupSize: 32, transpose: true, xDType: "bfloat16", scalesDType: "float16", biasesDType: "float32", M, K: 64, N: 8, xBatch: [2], wBatch: [] },
      kind: "huge-range-x",
      seed: M + 1,
    });
  }
  return cases;
}

/** Registers the suite under `label`. */
export function describePanelFuzz(label: string): void {
  describe(`native panel path fuzz (${label})`, () => {
    test.each([...kindTable(), ...strideTable()].map((drawn) => [describeCase(drawn), drawn] as const))("%s", async (_name, drawn) => {
      await expectWithinBudget(drawn);
    });

    test(
      `${RUNS} random cases within budget`,
      async () => {
        await fc.assert(fc.asyncProperty(drawnCaseArbitrary({ maxMultiplyAdds: MAX_MULTIPLY_ADDS }), expectWithinBudget), { numRuns: RUNS, seed: SEED });
      },
      120_000 + RUNS * 2_000,
    );
  });
}
