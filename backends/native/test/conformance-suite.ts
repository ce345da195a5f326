/**
 * The native backend against the exact reference: random calls across every mode, bit width,
 * group size, dtype combination, transpose setting and batch layout, each output element judged
 * with the error budget of the variant the backend declares (harness/budget). Shared by the
 * AVX-512 and the forced-AVX2 test files, because the kernel set is chosen once per process.
 */
import { describe, expect, test } from "vitest";
import type { CallOutcome } from "../../../harness/backend.ts";
import { compareTensor } from "../../../harness/budget/compare.ts";
import { planBudget } from "../../../harness/budget/plan.ts";
import { budgetSetting } from "../../../harness/budget/setting.ts";
import { floatValues } from "../../../harness/budget/values.ts";
import { quantizedMatmul } from "../../../reference/matmul.ts";
import type { FloatDType, QmmInputs, QmmParamsInput } from "../../../spec/types.ts";
import { createNativeBackend, NATIVE_VARIANT } from "../index.ts";
import { allFormats, driftCall, randomCall } from "./random-case.ts";
import type { CaseSpec } from "./random-case.ts";

/** A judged call: the number of failed elements and a description of the worst one. */
export interface Verdict {
  readonly failed: number;
  readonly worst: string;
}

const backend = createNativeBackend();

/** Runs one call on the native backend and judges it against the reference. */
export async function judge(inputs: QmmInputs, params: QmmParamsInput): Promise<Verdict> {
  const [outcome] = await backend.run([{ caseId: "native-test", inputs, params }]);
  return judgeOutcome(inputs, params, outcome);
}

/** Judges the outcome of a call the caller already ran on the native backend against the reference. */
export function judgeOutcome(inputs: QmmInputs, params: QmmParamsInput, outcome: CallOutcome): Verdict {
  const reference = quantizedMatmul(inputs, params);
  if (outcome.kind !== "ok") return { failed: -1, worst: `${outcome.kind}: ${JSON.stringify(outcome)}` };

  const plan = planBudget(budgetSetting(NATIVE_VARIANT, params, inputs, reference.call.outDType, reference.condition));
  if (plan.kind === "unmodelled") return { failed: -1, worst: plan.reason };

  const expected = { y: floatValues(reference.y), exact: reference.exact, condition: reference.condition };
  const comparison = compareTensor(plan, reference.y, expected, outcome.y);
  if (comparison.kind === "mismatch") return { failed: -1, worst: `${comparison.what}: expected ${comparison.expected}, got ${comparison.actual}` };

  const worst = comparison.worst;
  const description = worst === null ? "empty" : `index ${worst.index}: got ${worst.got}, exact ${worst.exact}, bound ${worst.bound}, ${worst.failure ?? "ok"}`;
  return { failed: comparison.failedIndices.length, worst: description };
}

const DTYPE_COMBINATIONS: readonly [FloatDType, FloatDType, FloatDType][] = [
  ["float32", "float32", "float32"],
  ["float16", "float16", "float16"],
  ["bfloat16", "bfloat16", "bfloat16"],
  ["float16", "bfloat16", "float16"],
  ["bfloat16", "float32", "float16"],
  ["float32", "float16", "bfloat16"],
];

/** Batch layouts: x batch, w batch, and whether x is a vector. */
const BATCH_LAYOUTS: readonly { xBatch: number[]; wBatch: number[]; vectorX?: boolean }[] = [
  { xBatch: [], wBatch: [] },
  { xBatch: [2], wBatch: [] },
  { xBatch: [2, 1], wBatch: [3] },
  { xBatch: [], wBatch: [], vectorX: true },
];

/** Builds the random-case table: every format × transpose, rotating dtypes, M and batch layouts. */
function randomSpecs(): CaseSpec[] {
  const specs: CaseSpec[] = [];
  let index = 0;
  for (const format of allFormats()) {
    for (const transpose of [true, false]) {
      for (const M of [1, 3, 9]) {
        const [xDType, scalesDType, biasesDType] = DTYPE_COMBINATIONS[index % DTYPE_COMBINATIONS.length];
        const layout = BATCH_LAYOUTS[index % BATCH_LAYOUTS.length];
        const rows = layout.vectorX ? 1 : M;
        specs.push({
          ...format,
          transpose,
          xDType,
          scalesDType,
          biasesDType,
          M: rows,
          K: transpose ? format.groupSize * 3 : 37,
          N: transpose ? 13 : format.groupSize * 2,
          ...layout,
        });
        index++;
      }
    }
  }
  return specs;
}

function specName(spec: CaseSpec): string {
  const batch = spec.vectorX ? "vector" : `x[${spec.xBatch}] w[${spec.wBatch}]`;
  return `${spec.mode} b${spec.bits} g${spec.groupSize} ${spec.transpose ? "t" : "n"} ${spec.xDType}/${spec.scalesDType}/${spec.biasesDType} M${spec.M} ${batch}`;
}

/** Registers the suite under `label`. */
export function describeNativeConformance(label: string): void {
  describe(`native backend (${label})`, () => {
    test.each(randomSpecs().map((spec, seed) => [specName(spec), spec, seed] as const))("%s", async (_name, spec, seed) => {
      const { inputs, params } = randomCall(spec, seed + 1);
      const verdict = await judge(inputs, params);
      expect(verdict.worst).not.toMatch(/^(ok|error|unsupported|crashed|timeout|dtype|shape)\b/);
      expect(verdict.failed, verdict.worst).toBe(0);
    });

    // Shapes that reach the thread pool, the matrix-vector kernel over long rows, the panel path
    // with several K blocks, column chunks (224 or 96 columns on AVX-512, 96 on AVX2) and tiles,
    // row tiles of one, two and four vectors, and row tails.
    const large: CaseSpec[] = [
      { mode: "affine", bits: 4, groupSize: 64, transpose: true, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M: 100, K: 512, N: 100, xBatch: [], wBatch: [] },
      { mode: "affine", bits: 4, groupSize: 64, transpose: true, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M: 48, K: 4096, N: 31, xBatch: [], wBatch: [] },
      { mode: "affine", bits: 4, groupSize: 32, transpose: true, xDType: "float16", scalesDType: "float16", biasesDType: "float16", M: 17, K: 2048, N: 230, xBatch: [], wBatch: [] },
      { mode: "affine", bits: 6, groupSize: 128, transpose: true, xDType: "float32", scalesDType: "bfloat16", biasesDType: "float32", M: 8, K: 1536, N: 101, xBatch: [], wBatch: [] },
      { mode: "nvfp4", bits: 4, groupSize: 16, transpose: true, xDType: "bfloat16", scalesDType: "float32", biasesDType: "float32", M: 24, K: 1024, N: 45, xBatch: [], wBatch: [] },
      { mode: "mxfp8", bits: 8, groupSize: 32, transpose: true, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M: 12, K: 768, N: 29, xBatch: [2, 1], wBatch: [3] },
      { mode: "affine", bits: 4, groupSize: 32, transpose: true, xDType: "bfloat16", scalesDType: "float32", biasesDType: "float16", M: 1, K: 1024, N: 75, xBatch: [], wBatch: [] },
      { mode: "affine", bits: 4, groupSize: 128, transpose: true, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M: 1, K: 2048, N: 30, xBatch: [2], wBatch: [] },
      { mode: "affine", bits: 4, groupSize: 64, transpose: true, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M: 70, K: 2048, N: 14, xBatch: [], wBatch: [] },
      { mode: "affine", bits: 3, groupSize: 32, transpose: true, xDType: "bfloat16", scalesDType: "bfloat16", biasesDType: "bfloat16", M: 33, K: 1024, N: 7, xBatch: [], wBatch: [] },
      { mode: "mxfp4", bits: 4, groupSize: 32, transpose: true, xDType: "float16", scalesDType: "float32", biasesDType: "float32", M: 40, K: 1024, N: 9, xBatch: [], wBatch: [] },
      { mode: "nvfp4", bits: 4, groupSize: 16, transpose: false, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M: 5, K: 300, N: 208, xBatch: [], wBatch: [] },
      { mode: "affine", bits: 8, groupSize: 128, transpose: false, xDType: "float32", scalesDType: "float16", biasesDType: "float16", M: 6, K: 200, N: 384, xBatch: [], wBatch: [] },
    ];
    test.each(large.map((spec, seed) => [specName(spec), spec, seed] as const))("large %s", async (_name, spec, seed) => {
      const { inputs, params } = randomCall(spec, 1000 + seed);
      const verdict = await judge(inputs, params);
      expect(verdict.failed, verdict.worst).toBe(0);
    });

    // Every kernel path of transpose=true on both kernel sets: matrix-vector (M = 1), small M
    // (M = 2), and the panel path with tiles of one and of two vectors of rows.
    test.each([1, 2, 5, 16, 64])("rounding drift M%i", async (M) => {
      const { inputs, params } = driftCall(M, 4096, 20);
      const verdict = await judge(inputs, params);
      expect(verdict.failed, verdict.worst).toBe(0);
    });
  });
}
